// Command fs measures the file system end to end, against a `puddle dev`
// cluster (3 metadata voters, 5 storage nodes, every block on R = 3 of
// them) that it builds from this module and starts as a child process on
// loopback, with its data on the same disk as the machine limits it
// measures first: SHA-256 on one core, 1 MiB write + fdatasync, loopback
// TCP (bench/machine, as bench/blocks).
//
//	go run ./bench/fs                                 # 1 GiB file, 10,000 small files, 16 clients
//	go run ./bench/fs --size 256MiB --small-files 2000
//	go run ./bench/fs --in-process --cpuprofile /tmp/fs.pprof  # then: go tool pprof -top /tmp/fs-put.pprof
//
// The figures, in the order they are measured:
//
//   - put: MiB/s of one client's WriteFile of a --size file of
//     pseudo-random bytes (ChaCha8, generated as it is read, never held
//     whole; its rate is printed too and should be far above put's),
//     commit included. Beside it, the limit: min(disk rate / R, SHA-256
//     rate), since every byte is written and synced R times and hashed;
//     target at least 0.50 of it.
//   - get: MiB/s of reading the file back whole, sequentially (the
//     file's readahead), through a second client, into SHA-256, which must
//     equal the written stream's; target at least 0.70 of the limit.
//   - small files: --small-files files of --small-bytes each (4 KiB: one
//     inline manifest block and one metadata commit per file) in 8
//     directories, written by --clients clients at once, each its own
//     client.Client, each taking the next file when done with the last:
//     files/s (target at least 2,000) and the p50 and p99 of one
//     WriteFile.
//   - stat: the same clients Stat every small file (linearizable reads):
//     ops/s, p50 and p99.
//   - edit: the big file is put again with 1 MiB in its middle changed.
//     "New bytes stored" is the growth of the bytes the storage nodes hold
//     (the sum of their block status), divided by R: what the new version
//     costs beside the old one, which history keeps (target at most 4 MiB;
//     content-defined chunking should confine the change to the chunks
//     around it and the manifests). "Uploaded" is the chunk bytes the
//     client put (fsys.ContentStats): every chunk is put again, stored or
//     not, so this is the whole file. The edited range is read back and
//     checked.
//   - breakdown (--breakdown, on by default; no targets): the steps of a
//     put timed one by one, by hand, as WriteFile does them. For a small
//     file: its block's put on a storage node (blocks.Remote, the gRPC
//     block API the client uses; the node finds the R holders on the
//     overlay and stores the copies) and then the commit (one metadata
//     Raft command), p50 and p99 with --clients at once. For the big
//     file: 1 MiB block puts one at a time (latency) and 8 at once (as
//     WriteContent keeps 8 chunk puts in flight): p50 and MiB/s.
//
// The table gives each figure, its target and the verdict; the last line
// is one JSON object of them all, units in the names. Load averages at the
// start and end are printed, since other work on the machine moves every
// figure.
//
// --cpuprofile PATH writes one CPU profile per phase (PATH with -put,
// -get, -small, -stat, -edit, -breakdown before its extension), and
// --trace PATH an execution trace likewise (for where the waiting is, when
// the CPU is mostly idle: go tool trace -pprof=sync|syscall|sched). They
// see this process only: the clients. --in-process runs the cluster in
// this process instead of a child (node.StartLocal, configured as `puddle
// dev` configures it), so that they see the servers too.
//
// The child is stopped by its PID at the end, also on Ctrl-C: SIGTERM,
// then SIGKILL if it has not exited within 10s.
package main

import (
	"context"
	"crypto/sha256"
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/puddlestore/puddlestore/bench/machine"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "bench/fs:", err)
		os.Exit(1)
	}
}

type options struct {
	size                           int64
	smallFiles, smallBytes         int
	clients, port, replicas        int
	dir, puddle, cpuprofile, trace string
	overlay                        string
	keep, inProcess, breakdown     bool
	seed                           uint64
	timeout                        time.Duration
}

const bigPath = "/bench/big"

func run() error {
	var o options
	size := flag.String("size", "1GiB", "size of the big file (B, KiB, MiB, GiB)")
	flag.IntVar(&o.smallFiles, "small-files", 10000, "number of small files")
	flag.IntVar(&o.smallBytes, "small-bytes", 4096, "size of each small file")
	flag.IntVar(&o.clients, "clients", 16, "concurrent clients for the small files")
	flag.IntVar(&o.port, "port", 17000, "base port of the dev cluster (it listens on port+1..3, +101..103, +201..205)")
	flag.IntVar(&o.replicas, "replicas", 3, "copies of every block (R)")
	flag.StringVar(&o.overlay, "overlay", "tapestry", "overlay of the dev cluster: tapestry or chord")
	flag.StringVar(&o.dir, "dir", "", "parent of the run's directory (default: the system temp dir); the data and the disk probe go there")
	flag.StringVar(&o.puddle, "puddle", "", "puddle binary to run (default: build ./cmd/puddle of this module)")
	flag.BoolVar(&o.keep, "keep", false, "keep the run's directory (data and the cluster's log)")
	flag.BoolVar(&o.inProcess, "in-process", false, "run the cluster in this process, not as a `puddle dev` child (for --cpuprofile)")
	flag.StringVar(&o.cpuprofile, "cpuprofile", "", "write a CPU profile of each phase to this path, the phase's name added")
	flag.StringVar(&o.trace, "trace", "", "write an execution trace of each phase to this path, the phase's name added")
	flag.BoolVar(&o.breakdown, "breakdown", true, "after the figures, time the steps of a put one by one")
	flag.Uint64Var(&o.seed, "seed", 1, "seed of the contents")
	flag.DurationVar(&o.timeout, "timeout", 30*time.Minute, "bound on each phase")
	flag.Parse()
	var err error
	if o.size, err = parseSize(*size); err != nil {
		return fmt.Errorf("--size: %w", err)
	}
	if o.size < 1 || o.smallFiles < 1 || o.smallBytes < 1 || o.clients < 1 || o.replicas < 1 || o.replicas > storageNodes || o.port < 1 || o.port+205 > 65535 {
		return fmt.Errorf("want positive --size, --small-files, --small-bytes and --clients, 1 ≤ --replicas ≤ %d, and --port in 1..65330", storageNodes)
	}
	ctx, stopSignals := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stopSignals()

	work, err := os.MkdirTemp(o.dir, "bench-fs-")
	if err != nil {
		return err
	}
	if o.keep {
		fmt.Printf("run directory (kept): %s\n", work)
	} else {
		defer os.RemoveAll(work)
	}
	if err := checkPorts(o.port); err != nil {
		return err
	}
	bin := o.puddle
	if bin == "" && !o.inProcess {
		fmt.Println("building ./cmd/puddle...")
		bctx, cancel := context.WithTimeout(ctx, 10*time.Minute)
		bin, err = buildPuddle(bctx, work)
		cancel()
		if err != nil {
			return err
		}
	}

	var f figures
	f.load1Start = loadAvg()
	fmt.Printf("measuring this machine (load average %.2f)...\n", f.load1Start)
	f.sha = machine.SHA256Rate(time.Second)
	if f.disk, err = machine.SyncWriteRate(work, 1<<20, 2*time.Second); err != nil {
		return err
	}
	if f.tcp, err = machine.LoopbackTCPRate(time.Second); err != nil {
		return err
	}
	f.limit = math.Min(f.disk/float64(o.replicas), f.sha)
	f.gen, err = genRate(o.seed, o.size)
	if err != nil {
		return err
	}
	// The expected hash is computed before, untimed, so that get's check
	// costs nothing but its own hashing.
	want := sha256.New()
	if _, err := io.Copy(want, newStream(o.seed, o.size)); err != nil {
		return err
	}
	wantSum := want.Sum(nil)

	data := filepath.Join(work, "data")
	var cl *cluster
	if o.inProcess {
		fmt.Printf("starting the dev cluster in this process on ports %d+...\n", o.port)
		cl, err = startLocal(ctx, data, o.port, o.replicas, o.overlay, 2*time.Minute)
	} else {
		fmt.Printf("starting %s dev --port %d...\n", bin, o.port)
		cl, err = startDev(ctx, bin, data, filepath.Join(work, "puddle-dev.log"), o.port, o.replicas, o.overlay, 2*time.Minute)
	}
	if err != nil {
		return err
	}
	defer cl.stop()

	if err := measure(ctx, o, cl, wantSum, &f); err != nil {
		if aerr := cl.alive(); aerr != nil {
			return fmt.Errorf("%w\n%w", err, aerr)
		}
		return err
	}
	f.load1End = loadAvg()
	f.print(o)
	return nil
}

// genRate is the generator's MiB/s over min(size, 256 MiB).
func genRate(seed uint64, size int64) (float64, error) {
	n := min(size, 256<<20)
	start := time.Now()
	if _, err := io.Copy(io.Discard, newStream(seed, n)); err != nil {
		return 0, err
	}
	return float64(n) / (1 << 20) / time.Since(start).Seconds(), nil
}

// profilePath is path with -phase before its extension ("" stays "").
func profilePath(path, phase string) string {
	if path == "" {
		return ""
	}
	ext := filepath.Ext(path)
	return strings.TrimSuffix(path, ext) + "-" + phase + ext
}

// parseSize reads "1GiB", "256MiB", "4KiB", "100B" or a number of bytes.
func parseSize(s string) (int64, error) {
	units := []struct {
		suffix string
		mult   int64
	}{{"GiB", 1 << 30}, {"MiB", 1 << 20}, {"KiB", 1 << 10}, {"G", 1 << 30}, {"M", 1 << 20}, {"K", 1 << 10}, {"B", 1}}
	mult := int64(1)
	for _, u := range units {
		if v, ok := strings.CutSuffix(s, u.suffix); ok {
			s, mult = v, u.mult
			break
		}
	}
	v, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
	if err != nil || v < 0 {
		return 0, fmt.Errorf("bad size %q", s)
	}
	return int64(v * float64(mult)), nil
}
