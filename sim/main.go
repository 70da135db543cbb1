// Command sim simulates large overlays in one process: N pure nodes on a
// seeded network of points in a plane, measured as the papers measure
// them. It prints a table per run and, as its last line, one JSON object
// with every figure.
//
//	go run ./sim                                 # tapestry, N = 1,000 and 10,000, then churn on 1,000
//	go run ./sim --nodes 200 --churn-nodes 200 --churn 2m   # a quick run
//
// Each run is deterministic: the same flags and seed print the same
// figures.
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"runtime"
	"strconv"
	"strings"
	"time"

	"github.com/puddlestore/puddlestore/bench/machine"
)

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "sim:", err)
		os.Exit(1)
	}
}

type options struct {
	overlay    string
	nodes      []int
	seed       uint64
	routes     int
	objects    int
	replicas   int
	locates    int
	churnNodes int
	churnFor   time.Duration
	session    time.Duration
}

func run(args []string) error {
	fs := flag.NewFlagSet("sim", flag.ContinueOnError)
	var o options
	var nodes string
	fs.StringVar(&o.overlay, "overlay", "tapestry", "overlay to simulate: tapestry")
	fs.StringVar(&nodes, "nodes", "1000,10000", "mesh sizes for the static runs, comma-separated")
	fs.Uint64Var(&o.seed, "seed", 1, "seed of the whole run")
	fs.IntVar(&o.routes, "routes", 5000, "routes traced per static run")
	fs.IntVar(&o.objects, "objects", 500, "objects published per run")
	fs.IntVar(&o.replicas, "replicas", 3, "holders per object")
	fs.IntVar(&o.locates, "locates", 5000, "locates per static run")
	fs.IntVar(&o.churnNodes, "churn-nodes", 1000, "mesh size of the churn run (0: no churn run)")
	fs.DurationVar(&o.churnFor, "churn", 10*time.Minute, "simulated time under churn")
	fs.DurationVar(&o.session, "session", 5*time.Minute, "median session time under churn")
	cpuprofile := fs.String("cpuprofile", "", "write a CPU profile to this file")
	if err := fs.Parse(args); err != nil {
		return err
	}
	stop, err := machine.StartCPUProfile(*cpuprofile)
	if err != nil {
		return err
	}
	defer stop()
	for _, s := range strings.Split(nodes, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(s))
		if err != nil || n < 2 {
			return fmt.Errorf("--nodes: %q is not a mesh size (at least 2)", s)
		}
		o.nodes = append(o.nodes, n)
	}
	if o.replicas < 1 || o.objects < 1 {
		return fmt.Errorf("--replicas and --objects must be positive")
	}
	if o.overlay != "tapestry" {
		return fmt.Errorf("--overlay %q: only tapestry is simulated so far", o.overlay)
	}
	figures := map[string]any{"overlay": o.overlay, "seed": o.seed}
	start := time.Now()
	for _, n := range o.nodes {
		t0 := time.Now()
		r, err := staticRun(o, n)
		if err != nil {
			return err
		}
		r.print(os.Stdout)
		r.figures(figures, fmt.Sprintf("n%d_", n))
		figures[fmt.Sprintf("n%d_wall_s", n)] = round(time.Since(t0).Seconds(), 1)
	}
	if o.churnNodes > 0 {
		t0 := time.Now()
		r, err := churnRun(o)
		if err != nil {
			return err
		}
		r.print(os.Stdout)
		r.figures(figures, "churn_")
		figures["churn_wall_s"] = round(time.Since(t0).Seconds(), 1)
	}
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	figures["wall_s"] = round(time.Since(start).Seconds(), 1)
	figures["heap_sys_mib"] = round(float64(ms.HeapSys)/(1<<20), 0)
	b, err := json.Marshal(figures)
	if err != nil {
		return err
	}
	fmt.Println(string(b))
	return nil
}

func round(x float64, digits int) float64 {
	p := 1.0
	for range digits {
		p *= 10
	}
	if x < 0 {
		return -float64(int64(-x*p+0.5)) / p
	}
	return float64(int64(x*p+0.5)) / p
}
