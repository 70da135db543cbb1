// Command blockstore measures blockstore.Disk on this machine: puts then
// gets of N MiB of 1 MiB blocks and of 4 KiB blocks, with 1 and 16
// concurrent callers, beside what bounds them: one core's SHA-256 rate and
// the disk's sequential write+fdatasync rate in the same directory.
//
//	go run ./bench/blockstore [--dir DIR] [--mib 256] [--small-mib 16]
//
// Gets follow the puts in the same process, so they are served from the
// page cache: they measure pread plus verification, not the disk. The last
// line is JSON, for comparing runs.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"log"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/puddlestore/puddlestore/bench/machine"
	"github.com/puddlestore/puddlestore/blockstore"
)

func main() {
	dir := flag.String("dir", "", "directory for the stores (default: a new temp dir, removed afterwards)")
	mib := flag.Int("mib", 256, "MiB of 1 MiB blocks per run")
	smallMiB := flag.Int("small-mib", 16, "MiB of 4 KiB blocks per run")
	flag.Parse()
	if err := run(*dir, *mib, *smallMiB); err != nil {
		log.Fatal(err)
	}
}

func run(dir string, mib, smallMiB int) error {
	if dir == "" {
		tmp, err := os.MkdirTemp("", "blockstore-bench-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(tmp)
		dir = tmp
	}
	out := map[string]any{"dir": dir}
	sha := machine.SHA256Rate(time.Second)
	out["sha256_mib_s"] = round(sha)
	seqMiB, err := machine.SyncWriteRate(dir, 1<<20, 2*time.Second)
	if err != nil {
		return err
	}
	out["disk_fsync_write_mib_s"] = round(seqMiB)
	small, err := machine.SyncWriteRate(dir, 4096, 2*time.Second)
	if err != nil {
		return err
	}
	out["disk_fsyncs_s"] = round(small * 256) // 4 KiB writes per second
	fmt.Printf("this machine: SHA-256 %.0f MiB/s on one core; 1 MiB write+fdatasync %.0f MiB/s; 4 KiB write+fdatasync %.0f/s\n\n",
		sha, seqMiB, small*256)

	fmt.Printf("%-6s %7s %8s %10s %10s %10s %10s %8s\n", "block", "callers", "MiB", "put MiB/s", "put ops/s", "get MiB/s", "get ops/s", "open s")
	for _, c := range []struct {
		name  string
		size  int
		total int
	}{{"1m", 1 << 20, mib}, {"4k", 4 << 10, smallMiB}} {
		blocks := makeBlocks(c.size, c.total<<20/c.size)
		for _, callers := range []int{1, 16} {
			r, err := measure(filepath.Join(dir, fmt.Sprintf("%s-%d", c.name, callers)), blocks, callers)
			if err != nil {
				return err
			}
			n := float64(len(blocks))
			mb := n * float64(c.size) / (1 << 20)
			fmt.Printf("%-6s %7d %8.0f %10.1f %10.0f %10.1f %10.0f %8.3f\n", c.name, callers, mb,
				mb/r.put.Seconds(), n/r.put.Seconds(), mb/r.get.Seconds(), n/r.get.Seconds(), r.open.Seconds())
			key := fmt.Sprintf("%s_c%d_", c.name, callers)
			out[key+"put_mib_s"] = round(mb / r.put.Seconds())
			out[key+"put_ops_s"] = round(n / r.put.Seconds())
			out[key+"get_mib_s"] = round(mb / r.get.Seconds())
			out[key+"get_ops_s"] = round(n / r.get.Seconds())
			out[key+"open_s"] = math.Round(r.open.Seconds()*1000) / 1000
			if c.name == "1m" && callers == 16 {
				out["put_mib_s"], out["get_mib_s"] = out[key+"put_mib_s"], out[key+"get_mib_s"]
			}
		}
	}
	fmt.Println()
	b, err := json.Marshal(out)
	if err != nil {
		return err
	}
	fmt.Println(string(b))
	return nil
}

type block struct {
	ref  blockstore.Ref
	data []byte
}

// makeBlocks returns n random blocks of size bytes, their refs computed
// beforehand as a client that names its blocks would have them.
func makeBlocks(size, n int) []block {
	rng := rand.New(rand.NewPCG(1, uint64(size)))
	out := make([]block, n)
	for i := range out {
		data := machine.RandomBytes(rng, size)
		out[i] = block{blockstore.RefOf(data), data}
	}
	return out
}

type result struct{ put, get, open time.Duration }

// measure puts every block into a new store in dir with callers
// goroutines, reopens it (timing the index rebuild), then gets them all.
func measure(dir string, blocks []block, callers int) (result, error) {
	var r result
	d, err := blockstore.Open(dir, blockstore.Options{})
	if err != nil {
		return r, err
	}
	ctx := context.Background()
	start := time.Now()
	if err := parallel(blocks, callers, func(b block) error { return d.Put(ctx, b.ref, b.data) }); err != nil {
		return r, err
	}
	r.put = time.Since(start)
	if err := d.Close(); err != nil {
		return r, err
	}
	start = time.Now()
	if d, err = blockstore.Open(dir, blockstore.Options{}); err != nil {
		return r, err
	}
	r.open = time.Since(start)
	defer d.Close()
	start = time.Now()
	err = parallel(blocks, callers, func(b block) error {
		data, err := d.Get(ctx, b.ref)
		if err == nil && len(data) != len(b.data) {
			err = fmt.Errorf("get %s: %d bytes", b.ref, len(data))
		}
		return err
	})
	r.get = time.Since(start)
	if st := d.Stats(); st.Blocks != int64(len(blocks)) {
		return r, fmt.Errorf("store holds %d blocks, want %d", st.Blocks, len(blocks))
	}
	return r, err
}

// parallel runs fn on every block from callers goroutines.
func parallel(blocks []block, callers int, fn func(block) error) error {
	var wg sync.WaitGroup
	errs := make([]error, callers)
	for c := range callers {
		wg.Go(func() {
			for i := c; i < len(blocks); i += callers {
				if err := fn(blocks[i]); err != nil {
					errs[c] = err
					return
				}
			}
		})
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

func round(v float64) float64 { return math.Round(v*10) / 10 }
