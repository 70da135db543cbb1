package main

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"sync"
	"time"
)

// putFunc writes one key; each system under test supplies one per shared
// connection.
type putFunc func(ctx context.Context, key string, value []byte) error

// load describes the closed-loop workload, identical for every system.
type load struct {
	Clients   int           // concurrent closed-loop writers
	Warmup    time.Duration // run but not measured
	Duration  time.Duration // measured window
	ValueSize int           // bytes per value
	Keys      int           // keys drawn uniformly from [0, Keys)
	Timeout   time.Duration // per-operation deadline
	Seed      uint64
}

// result of one measured window.
type result struct {
	System   string
	Ops      int             // operations completed in the window
	Errors   int             // failed operations in the window
	FirstErr error           // the first of them
	Window   time.Duration   // measured window
	Terms    uint64          // Raft terms begun during the run: elections
	Lat      []time.Duration // latency of each completed op, sorted
	Done     []time.Duration // completion time of each op since the window opened, sorted
}

// stallThreshold: a gap this long with no write completing, while every
// writer has one outstanding, is the whole system stalled, not one slow op.
const stallThreshold = 100 * time.Millisecond

// stalls returns how many gaps between consecutive completions (and from
// the window's edges) reach stallThreshold, their total and the longest.
func (r result) stalls() (n int, total, longest time.Duration) {
	prev := time.Duration(0)
	for _, t := range append(r.Done, r.Window) {
		if g := t - prev; g >= stallThreshold {
			n++
			total += g
			longest = max(longest, g)
		}
		prev = t
	}
	return n, total, longest
}

func (r result) opsPerSec() float64 { return float64(r.Ops) / r.Window.Seconds() }

// quantile returns the q-quantile (0..1) of the latencies, nearest rank.
func (r result) quantile(q float64) time.Duration {
	if len(r.Lat) == 0 {
		return 0
	}
	i := int(q*float64(len(r.Lat))+0.5) - 1
	return r.Lat[min(max(i, 0), len(r.Lat)-1)]
}

func (r result) mean() time.Duration {
	if len(r.Lat) == 0 {
		return 0
	}
	var sum time.Duration
	for _, d := range r.Lat {
		sum += d
	}
	return sum / time.Duration(len(r.Lat))
}

func keyName(i int) string { return fmt.Sprintf("bench/%08d", i) }

// run drives the workload: Clients goroutines, goroutine i on puts[i %
// len(puts)], each issuing its next Put as soon as the previous answers.
// Ops that start in the warm-up are not measured; ops still in flight when
// the window closes are not counted.
func (l load) run(ctx context.Context, system string, puts []putFunc) result {
	value := make([]byte, l.ValueSize)
	rng := rand.New(rand.NewPCG(l.Seed, 1))
	for i := range value {
		value[i] = byte('a' + rng.IntN(26))
	}
	keys := make([]string, l.Keys)
	for i := range keys {
		keys[i] = keyName(i)
	}
	start := time.Now()
	measureFrom := start.Add(l.Warmup)
	end := measureFrom.Add(l.Duration)
	type worker struct {
		lat      []time.Duration
		done     []time.Duration
		errs     int
		firstErr error
	}
	workers := make([]worker, l.Clients)
	var wg sync.WaitGroup
	for i := range l.Clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			w := &workers[i]
			w.lat = make([]time.Duration, 0, 1<<14)
			w.done = make([]time.Duration, 0, 1<<14)
			put := puts[i%len(puts)]
			r := rand.New(rand.NewPCG(l.Seed, uint64(i)+2))
			for ctx.Err() == nil {
				key := keys[r.IntN(len(keys))]
				t0 := time.Now()
				if !t0.Before(end) {
					return
				}
				octx, cancel := context.WithTimeout(ctx, l.Timeout)
				err := put(octx, key, value)
				cancel()
				t1 := time.Now()
				if t0.Before(measureFrom) || t1.After(end) {
					continue
				}
				if err != nil {
					if w.errs == 0 {
						w.firstErr = err
					}
					w.errs++
					continue
				}
				w.lat = append(w.lat, t1.Sub(t0))
				w.done = append(w.done, t1.Sub(measureFrom))
			}
		}()
	}
	wg.Wait()
	res := result{System: system, Window: l.Duration}
	for _, w := range workers {
		res.Lat = append(res.Lat, w.lat...)
		res.Done = append(res.Done, w.done...)
		res.Errors += w.errs
		if res.FirstErr == nil {
			res.FirstErr = w.firstErr
		}
	}
	if ctx.Err() != nil {
		res.Window = time.Since(measureFrom)
	}
	res.Ops = len(res.Lat)
	slices.Sort(res.Lat)
	slices.Sort(res.Done)
	return res
}

// pool merges several windows of one system into one result.
func pool(rs []result, system string) result {
	out := result{System: system}
	for _, r := range rs {
		for _, t := range r.Done {
			out.Done = append(out.Done, out.Window+t)
		}
		out.Ops += r.Ops
		out.Terms += r.Terms
		out.Errors += r.Errors
		out.Window += r.Window
		out.Lat = append(out.Lat, r.Lat...)
		if out.FirstErr == nil {
			out.FirstErr = r.FirstErr
		}
	}
	slices.Sort(out.Lat)
	return out
}
