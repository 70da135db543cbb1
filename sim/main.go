// Command sim simulates large overlays in one process: N pure nodes on a
// seeded network of points in a plane, measured as the papers measure
// them. It prints a table per run and, as its last line, one JSON object
// with every figure.
//
//	go run ./sim                     # tapestry and chord, N = 1,000 and 10,000, then churn on 1,000; one table
//	go run ./sim --overlay tapestry  # tapestry alone (chord alone: --overlay chord)
//	go run ./sim --nodes 200 --churn-nodes 200 --churn 2m   # a quick run
//
// Tapestry's figures are named as before (n1000_hops_mean, churn_...);
// Chord's start with chord_ (chord_n1000_hops_mean, chord_churn_...).
// chord.go, chordring.go, chordfail.go and chordchurn.go say how the Chord
// rings are built and measured; compare.go prints the side-by-side table.
//
// Each run is deterministic: the same flags and seed print the same
// figures.
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"runtime"
	"strconv"
	"strings"
	"time"

	"github.com/puddlestore/puddlestore/bench/machine"
)

func main() {
	if err := run(os.Args[1:], os.Stdout); err != nil {
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
	vnodes     int
}

func run(args []string, w io.Writer) error {
	fs := flag.NewFlagSet("sim", flag.ContinueOnError)
	var o options
	var nodes string
	fs.StringVar(&o.overlay, "overlay", "both", "overlay to simulate: tapestry, chord or both (side by side)")
	fs.StringVar(&nodes, "nodes", "1000,10000", "mesh sizes for the static runs, comma-separated")
	fs.Uint64Var(&o.seed, "seed", 1, "seed of the whole run")
	fs.IntVar(&o.routes, "routes", 5000, "routes traced per static run")
	fs.IntVar(&o.objects, "objects", 500, "objects published per run")
	fs.IntVar(&o.replicas, "replicas", 3, "holders per object")
	fs.IntVar(&o.locates, "locates", 5000, "locates per static run")
	fs.IntVar(&o.churnNodes, "churn-nodes", 1000, "mesh size of the churn run (0: no churn run)")
	fs.DurationVar(&o.churnFor, "churn", 10*time.Minute, "simulated time under churn")
	fs.DurationVar(&o.session, "session", 5*time.Minute, "median session time under churn")
	fs.IntVar(&o.vnodes, "virtual-nodes", 20, "chord ring positions per host for the load-balance figure")
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
	switch o.overlay {
	case "tapestry", "chord", "both":
	default:
		return fmt.Errorf("--overlay %q: want tapestry, chord or both", o.overlay)
	}
	if o.vnodes < 1 {
		return fmt.Errorf("--virtual-nodes %d: at least 1", o.vnodes)
	}
	figures := map[string]any{"overlay": o.overlay, "seed": o.seed}
	var cmp comparison
	start := time.Now()
	for _, n := range o.nodes {
		if o.overlay != "chord" {
			t0 := time.Now()
			r, err := staticRun(o, n)
			if err != nil {
				return err
			}
			r.print(w)
			r.figures(figures, fmt.Sprintf("n%d_", n))
			figures[fmt.Sprintf("n%d_wall_s", n)] = round(time.Since(t0).Seconds(), 1)
			cmp.tapestry = append(cmp.tapestry, r)
		}
		if o.overlay != "tapestry" {
			t0 := time.Now()
			r, err := chordStatic(o, n)
			if err != nil {
				return err
			}
			r.print(w)
			r.figures(figures, fmt.Sprintf("chord_n%d_", n))
			figures[fmt.Sprintf("chord_n%d_wall_s", n)] = round(time.Since(t0).Seconds(), 1)
			cmp.chord = append(cmp.chord, r)
		}
	}
	if o.churnNodes > 0 && o.overlay != "chord" {
		t0 := time.Now()
		r, err := churnRun(o)
		if err != nil {
			return err
		}
		r.print(w)
		r.figures(figures, "churn_")
		figures["churn_wall_s"] = round(time.Since(t0).Seconds(), 1)
		cmp.tapestryChurn = r
	}
	if o.churnNodes > 0 && o.overlay != "tapestry" {
		t0 := time.Now()
		r, err := chordChurn(o)
		if err != nil {
			return err
		}
		r.print(w)
		r.figures(figures, "chord_churn_")
		figures["chord_churn_wall_s"] = round(time.Since(t0).Seconds(), 1)
		cmp.chordChurn = r
	}
	if o.overlay == "both" {
		cmp.print(w, o)
	}
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	figures["wall_s"] = round(time.Since(start).Seconds(), 1)
	figures["heap_sys_mib"] = round(float64(ms.HeapSys)/(1<<20), 0)
	b, err := json.Marshal(figures)
	if err != nil {
		return err
	}
	fmt.Fprintln(w, string(b))
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
