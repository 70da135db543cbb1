package main

import (
	"bytes"
	"context"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/puddlestore/puddlestore/client"
	"github.com/puddlestore/puddlestore/fsys"
)

// smallDirs is how many directories the small files are spread over.
const smallDirs = 8

func smallPath(i int) string { return fmt.Sprintf("/bench/small/d%d/f%05d", i%smallDirs, i) }

// smallResult is one phase over the small files: every op's latency, by
// file, and the phase's wall time.
type smallResult struct {
	lat  []time.Duration
	wall time.Duration
}

func (r smallResult) perSecond() float64 { return float64(len(r.lat)) / r.wall.Seconds() }

// percentile returns the p-th percentile (0..1) of the latencies, in ms.
func (r smallResult) percentile(p float64) float64 {
	s := slices.Clone(r.lat)
	slices.Sort(s)
	if len(s) == 0 {
		return 0
	}
	i := min(len(s)-1, int(p*float64(len(s))))
	return float64(s[i]) / float64(time.Millisecond)
}

// putSmall writes files small files of n bytes each, client c putting the
// files i with i % len(cs) == c, all clients at once.
func putSmall(ctx context.Context, cs []*client.Client, seed uint64, files, n int) (smallResult, error) {
	for d := range min(smallDirs, files) {
		if err := cs[0].MkdirAll(ctx, fmt.Sprintf("/bench/small/d%d", d)); err != nil {
			return smallResult{}, err
		}
	}
	return parallel(files, len(cs), func(k, i int) error {
		_, _, err := cs[k].WriteFile(ctx, smallPath(i), bytes.NewReader(smallFile(seed, i, n)), fsys.WriteOptions{})
		return err
	})
}

// statSmall stats every small file and checks its size.
func statSmall(ctx context.Context, cs []*client.Client, files, n int) (smallResult, error) {
	return parallel(files, len(cs), func(k, i int) error {
		info, err := cs[k].Stat(ctx, smallPath(i))
		if err != nil {
			return err
		}
		if info.Dir || info.Size != uint64(n) {
			return fmt.Errorf("stat %s: dir %v, size %d; want a file of %d bytes", smallPath(i), info.Dir, info.Size, n)
		}
		return nil
	})
}

// parallel runs fn(k, i) for i in [0, n) from workers goroutines k, each
// taking the next i as it finishes the last, and times each call. It stops
// at the first error and returns it (the others it causes, such as
// cancellations, would only repeat it).
func parallel(n, workers int, fn func(k, i int) error) (smallResult, error) {
	r := smallResult{lat: make([]time.Duration, n)}
	var wg sync.WaitGroup
	var next atomic.Int64
	var first struct {
		sync.Mutex
		err error // the first error, guarded by the mutex
	}
	failed := func() bool {
		first.Lock()
		defer first.Unlock()
		return first.err != nil
	}
	start := time.Now()
	for k := range workers {
		wg.Go(func() {
			for !failed() {
				i := int(next.Add(1) - 1)
				if i >= n {
					return
				}
				t := time.Now()
				if err := fn(k, i); err != nil {
					first.Lock()
					if first.err == nil {
						first.err = fmt.Errorf("op %d: %w", i, err)
					}
					first.Unlock()
					return
				}
				r.lat[i] = time.Since(t)
			}
		})
	}
	wg.Wait()
	r.wall = time.Since(start)
	return r, first.err
}
