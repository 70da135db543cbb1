// Command raftkv measures PuddleStore's replicated key-value front (3 Raft
// voters, each its own process, fsync on every batch) under a closed-loop
// write load, and with --vs-etcd the same load against a 3-member etcd
// cluster on the same disk, one system after the other.
//
//	cd bench/raftkv && go run . --clients 64 --duration 20s --vs-etcd
//
// It prints a table and, as its last line, one JSON object.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"text/tabwriter"
	"time"
)

type options struct {
	load
	conns      int
	vsEtcd     bool
	etcdBin    string
	repo       string
	dir        string
	profileDir string
	fsyncFor   time.Duration
	rounds     int
}

func main() {
	if len(os.Args) > 1 && os.Args[1] == nodeModeArg {
		if err := nodeMain(os.Args[2:]); err != nil {
			fmt.Fprintln(os.Stderr, "raftkv node:", err)
			os.Exit(1)
		}
		return
	}
	var o options
	flag.IntVar(&o.Clients, "clients", 64, "concurrent closed-loop writers")
	flag.IntVar(&o.conns, "conns", 0, "client connections the writers share (0: one per 16 writers, at least 1, at most 8)")
	flag.DurationVar(&o.Duration, "duration", 20*time.Second, "measured time per system")
	flag.DurationVar(&o.Warmup, "warmup", 3*time.Second, "unmeasured load before the measured time")
	flag.IntVar(&o.ValueSize, "value-size", 256, "bytes per value")
	flag.IntVar(&o.Keys, "keys", 100000, "keys, drawn uniformly")
	flag.DurationVar(&o.Timeout, "op-timeout", 10*time.Second, "deadline of one operation")
	flag.Uint64Var(&o.Seed, "seed", 1, "seed of the key and value choice")
	flag.IntVar(&o.rounds, "rounds", 1, "measured runs per system, ours and etcd alternating")
	flag.BoolVar(&o.vsEtcd, "vs-etcd", false, "also run the load against a 3-member etcd cluster")
	flag.StringVar(&o.etcdBin, "etcd", "", "etcd binary (default: etcd on PATH)")
	flag.StringVar(&o.repo, "repo", "", "PuddleStore source tree to build cmd/puddle from (default: the module go.mod's replace points at)")
	flag.StringVar(&o.dir, "dir", "", "parent of the temp dir holding both systems' data (default: $TMPDIR)")
	flag.StringVar(&o.profileDir, "profile", "", "diagnostic: run our nodes under a CPU profiler, writing nodeN.pprof to this dir")
	flag.DurationVar(&o.fsyncFor, "fsync-probe", 2*time.Second, "how long to measure the disk's fsync rate")
	flag.Parse()
	if o.Clients < 1 || o.rounds < 1 || o.ValueSize < 0 || o.Keys < 1 || o.Duration <= 0 {
		fmt.Fprintln(os.Stderr, "raftkv: --clients, --rounds, --keys and --duration must be positive")
		os.Exit(2)
	}
	if o.conns == 0 {
		o.conns = min(max(o.Clients/16, 1), 8)
	}
	o.conns = min(o.conns, o.Clients)

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, o)
	stop()
	stopAll(5 * time.Second) // run stops its own; this is for early returns
	if err != nil {
		fmt.Fprintln(os.Stderr, "raftkv:", err)
		os.Exit(1)
	}
}

// report is the last line of output.
type report struct {
	Clients     int      `json:"clients"`
	Conns       int      `json:"conns"`
	ValueBytes  int      `json:"value_bytes"`
	Keys        int      `json:"keys"`
	DurationS   float64  `json:"duration_s"`
	Rounds      int      `json:"rounds"`
	FsyncPerS   float64  `json:"fsync_per_s"`
	FsyncMeanMs float64  `json:"fsync_mean_ms"`
	OursOps     float64  `json:"ours_ops_s"`
	OursP50     float64  `json:"ours_p50_ms"`
	OursP99     float64  `json:"ours_p99_ms"`
	OursP999    float64  `json:"ours_p999_ms"`
	OursErrors  int      `json:"ours_errors"`
	OursStallMs float64  `json:"ours_stalled_ms"`
	OursTerms   uint64   `json:"ours_elections"`
	EtcdVersion string   `json:"etcd_version,omitempty"`
	EtcdOps     *float64 `json:"etcd_ops_s,omitempty"`
	EtcdP50     *float64 `json:"etcd_p50_ms,omitempty"`
	EtcdP99     *float64 `json:"etcd_p99_ms,omitempty"`
	EtcdP999    *float64 `json:"etcd_p999_ms,omitempty"`
	EtcdErrors  *int     `json:"etcd_errors,omitempty"`
	EtcdStallMs *float64 `json:"etcd_stalled_ms,omitempty"`
	EtcdTerms   *uint64  `json:"etcd_elections,omitempty"`
	OpsRatio    *float64 `json:"ops_ratio,omitempty"`
	P99Ratio    *float64 `json:"p99_ratio,omitempty"`
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

func run(ctx context.Context, o options) error {
	var etcdBin, etcdVersion string
	if o.vsEtcd {
		var err error
		if etcdBin, etcdVersion, err = findEtcd(o.etcdBin); err != nil {
			return err
		}
	}
	base, err := os.MkdirTemp(o.dir, "raftkv-bench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(base)

	var bin string
	if o.profileDir == "" {
		repo := o.repo
		if repo == "" {
			if repo, err = repoDir(ctx); err != nil {
				return err
			}
		}
		fmt.Fprintf(os.Stderr, "building cmd/puddle from %s\n", repo)
		if bin, err = buildPuddle(ctx, repo, base); err != nil {
			return err
		}
	} else if err := os.MkdirAll(o.profileDir, 0o755); err != nil {
		return err
	}

	fsyncPerSec, fsyncMean, err := fsyncRate(base, o.fsyncFor)
	if err != nil {
		return fmt.Errorf("fsync probe: %w", err)
	}
	fmt.Printf("disk: %.0f fsyncs/s (4 KiB write + fdatasync, mean %.2f ms) in %s\n", fsyncPerSec, ms(fsyncMean), base)
	fmt.Printf("load: %d closed-loop writers on %d shared connections, %d-byte values, %d uniform keys, %s warm-up + %s measured per system\n\n",
		o.Clients, o.conns, o.ValueSize, o.Keys, o.Warmup, o.Duration)

	// Rounds alternate ours and etcd, so a disk that drifts (a shared VM's
	// does) weighs on both alike; the summary pools every round's samples.
	var oursAll, etcdAll []result
	var rows []result
	for round := 1; round <= o.rounds; round++ {
		tag := ""
		if o.rounds > 1 {
			tag = fmt.Sprintf(" #%d", round)
		}
		ours, err := runPuddle(ctx, o, filepath.Join(base, "puddle"), bin)
		if err != nil {
			return err
		}
		ours.System += tag
		oursAll, rows = append(oursAll, ours), append(rows, ours)
		if o.vsEtcd && ctx.Err() == nil {
			et, err := runEtcd(ctx, o, filepath.Join(base, "etcd"), etcdBin, etcdVersion)
			if err != nil {
				return err
			}
			et.System += tag
			etcdAll, rows = append(etcdAll, et), append(rows, et)
		}
		if ctx.Err() != nil {
			break
		}
	}
	ours := pool(oursAll, "puddlestore (all rounds)")
	results := rows
	if o.rounds > 1 {
		results = append(results, ours)
	}
	rep := report{
		Clients: o.Clients, Conns: o.conns, ValueBytes: o.ValueSize, Keys: o.Keys, DurationS: o.Duration.Seconds(), Rounds: o.rounds,
		FsyncPerS: round(fsyncPerSec, 0), FsyncMeanMs: round(ms(fsyncMean), 3),
		OursOps: round(ours.opsPerSec(), 1), OursP50: ms(ours.quantile(0.50)), OursP99: ms(ours.quantile(0.99)),
		OursP999: ms(ours.quantile(0.999)), OursErrors: ours.Errors, OursStallMs: stalledMs(ours), OursTerms: ours.Terms,
	}
	if len(etcdAll) > 0 {
		et := pool(etcdAll, "etcd "+etcdShortVersion(etcdVersion)+" (all rounds)")
		if o.rounds > 1 {
			results = append(results, et)
		}
		opsR := round(ours.opsPerSec()/et.opsPerSec(), 3)
		p99R := round(ms(ours.quantile(0.99))/ms(et.quantile(0.99)), 3)
		rep.EtcdVersion = etcdShortVersion(etcdVersion)
		rep.EtcdOps, rep.EtcdP50, rep.EtcdP99, rep.EtcdP999 = ptr(round(et.opsPerSec(), 1)), ptr(ms(et.quantile(0.5))), ptr(ms(et.quantile(0.99))), ptr(ms(et.quantile(0.999)))
		rep.EtcdErrors, rep.OpsRatio, rep.P99Ratio = ptr(et.Errors), &opsR, &p99R
		rep.EtcdStallMs, rep.EtcdTerms = ptr(stalledMs(et)), ptr(et.Terms)
	}
	printTable(results)
	if rep.OpsRatio != nil {
		fmt.Printf("\nours/etcd: throughput %.2fx (higher is better), p99 %.2fx (lower is better)\n", *rep.OpsRatio, *rep.P99Ratio)
	}
	for _, r := range rows {
		if r.FirstErr != nil {
			fmt.Printf("%s: %d errors, first: %v\n", r.System, r.Errors, r.FirstErr)
		}
	}
	if ctx.Err() != nil {
		return errors.New("interrupted")
	}
	line, err := json.Marshal(rep)
	if err != nil {
		return err
	}
	fmt.Println(string(line))
	return nil
}

func runPuddle(ctx context.Context, o options, dir, bin string) (result, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return result{}, err
	}
	defer os.RemoveAll(dir)
	defer stopAll(5 * time.Second)
	fmt.Fprintln(os.Stderr, "starting puddlestore: 3 processes")
	c, err := startPuddle(ctx, dir, bin, o.profileDir)
	if err != nil {
		return result{}, err
	}
	puts, closeClients, err := puddlePuts(c, o.conns)
	if err != nil {
		return result{}, err
	}
	defer closeClients()
	fmt.Fprintf(os.Stderr, "puddlestore: leader is node %d (pid %d); running load\n", c.leader+1, c.procs[c.leader].cmd.Process.Pid)
	term := c.term(ctx)
	res := o.load.run(ctx, "puddlestore", puts)
	res.Terms = c.term(ctx) - term
	for _, p := range c.procs {
		if err := p.exitedEarly(); err != nil {
			return res, err
		}
	}
	if o.profileDir != "" {
		fmt.Fprintf(os.Stderr, "profiles in %s; the leader's is node%d.pprof\n", o.profileDir, c.leader+1)
	}
	return res, nil
}

func runEtcd(ctx context.Context, o options, dir, bin, version string) (result, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return result{}, err
	}
	defer os.RemoveAll(dir)
	defer stopAll(5 * time.Second)
	fmt.Fprintf(os.Stderr, "starting %s: 3 processes\n", version)
	c, err := startEtcd(ctx, dir, bin)
	if err != nil {
		return result{}, err
	}
	puts, closeClients, err := etcdPuts(c, o.conns)
	if err != nil {
		return result{}, err
	}
	defer closeClients()
	fmt.Fprintf(os.Stderr, "etcd: leader is e%d (pid %d); running load\n", c.leader+1, c.procs[c.leader].cmd.Process.Pid)
	term := c.term(ctx)
	res := o.load.run(ctx, "etcd "+etcdShortVersion(version), puts)
	res.Terms = c.term(ctx) - term
	for _, p := range c.procs {
		if err := p.exitedEarly(); err != nil {
			return res, err
		}
	}
	return res, nil
}

func printTable(rs []result) {
	tw := tabwriter.NewWriter(os.Stdout, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "system\tops/s\tmean ms\tp50 ms\tp99 ms\tp99.9 ms\tmax ms\tops\terrors\tstalls\tstalled ms\tlongest ms\telections\t")
	for _, r := range rs {
		n, total, longest := r.stalls()
		fmt.Fprintf(tw, "%s\t%.0f\t%.2f\t%.2f\t%.2f\t%.2f\t%.2f\t%d\t%d\t%d\t%.0f\t%.0f\t%d\t\n", r.System, r.opsPerSec(),
			ms(r.mean()), ms(r.quantile(0.5)), ms(r.quantile(0.99)), ms(r.quantile(0.999)), ms(r.quantile(1)), r.Ops, r.Errors,
			n, ms(total), ms(longest), r.Terms)
	}
	tw.Flush()
}

func etcdShortVersion(v string) string {
	var s string
	if _, err := fmt.Sscanf(v, "etcd Version: %s", &s); err == nil {
		return s
	}
	return v
}

func round(x float64, digits int) float64 {
	p := 1.0
	for range digits {
		p *= 10
	}
	return float64(int64(x*p+0.5)) / p
}

func stalledMs(r result) float64 {
	_, total, _ := r.stalls()
	return ms(total)
}

func ptr[T any](v T) *T { return &v }
