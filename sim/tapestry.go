package main

import (
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"slices"
	"time"

	"github.com/puddlestore/puddlestore/id"
	"github.com/puddlestore/puddlestore/tapestry"
	"github.com/puddlestore/puddlestore/tapestry/tapestrytest"
)

// quiesceLimit bounds the messages one step of a static run may take.
const quiesceLimit = 10_000_000

// staticResult holds the figures of one static run.
type staticResult struct {
	n                       int
	build                   time.Duration
	joinMsgs, joinBytes     []float64
	hops                    []float64
	rootCorrect, routes     int
	stretch                 []float64
	nearestFirst            int
	located, locates        int
	tableEntries, tableByte []float64
	backpointers            []float64
	violations              int
}

// static nodes never tick: no heartbeats, republish or maintenance, so a
// mesh of 10,000 is built and queried by messages alone.
func static(c *tapestry.Config) {
	c.PublishBackups = true
	c.HeartbeatTicks, c.RepublishTicks, c.MaintainTicks = -1, -1, -1
}

func staticRun(o options, n int) (*staticResult, error) {
	t0 := time.Now()
	rng := rand.New(rand.NewPCG(o.seed, uint64(n)))
	m := tapestrytest.New(tapestrytest.Config{Seed: o.seed ^ uint64(n)<<20, Node: static})
	r := &staticResult{n: n}
	for range n {
		m.Add()
	}
	xs := m.Members()
	if err := xs[0].Bootstrap(); err != nil {
		return nil, err
	}
	for i := 1; i < n; i++ {
		msgs, bytes := m.Messages, m.Bytes
		if err := m.Join(xs[i], xs[rng.IntN(i)], quiesceLimit); err != nil {
			return nil, fmt.Errorf("n=%d: %w", n, err)
		}
		r.joinMsgs = append(r.joinMsgs, float64(m.Messages-msgs))
		r.joinBytes = append(r.joinBytes, float64(m.Bytes-bytes))
	}
	r.build = time.Since(t0)
	r.violations = len(m.CheckTables(1 << 30))

	for _, x := range xs {
		t := x.Table()
		var bytes int
		for _, e := range t.All() {
			bytes += id.Size + len(e.Addr) + 8
		}
		r.tableEntries = append(r.tableEntries, float64(t.Len()))
		r.tableByte = append(r.tableByte, float64(bytes))
		r.backpointers = append(r.backpointers, float64(x.Backpointers().Len()))
	}

	// Routes from random nodes to random keys.
	for i := range o.routes {
		src := xs[rng.IntN(n)]
		key := id.Random(rng)
		m.Do(src, func(nd *tapestry.Node) { nd.Route(uint64(i), key) })
		m.Quiesce(quiesceLimit)
		res, ok := src.Take(tapestry.ResultRoute, uint64(i))
		r.routes++
		if !ok || res.Err != nil {
			continue
		}
		r.hops = append(r.hops, float64(len(res.Path)-1))
		if res.Path[len(res.Path)-1].ID == m.Root(key).Self().ID {
			r.rootCorrect++
		}
	}

	// Objects on random holders, located from random other nodes.
	objs, holders := publishObjects(m, rng, o, xs)
	// The locate goes toward every root at once; the first answer with
	// holders is the one the client takes: its route's delay counts.
	pathDelay := map[id.ID]time.Duration{} // by salted key
	var pointerAt *tapestrytest.Member
	var answered id.ID
	m.Trace = func(from, to *tapestrytest.Member, msg *tapestry.Message, d time.Duration) {
		switch {
		case msg.Type == tapestry.MsgLocate:
			pathDelay[msg.Key] += d
		case msg.Type == tapestry.MsgLocateReply && msg.Flag && pointerAt == nil:
			pointerAt, answered = from, msg.Key
		}
	}
	for i := range o.locates {
		k := rng.IntN(len(objs))
		client := xs[rng.IntN(n)]
		if slices.Contains(holders[k], client) {
			continue
		}
		clear(pathDelay)
		pointerAt = nil
		req := uint64(i)
		m.Do(client, func(nd *tapestry.Node) { nd.Locate(req, objs[k], nil) })
		m.Quiesce(quiesceLimit)
		res, ok := client.Take(tapestry.ResultLocate, req)
		r.locates++
		if !ok || res.Err != nil || len(res.Holders) == 0 {
			continue
		}
		r.located++
		if pointerAt == nil { // found on the client itself
			pointerAt = client
		}
		got := m.Member(res.Holders[0].ID)
		nearest := m.Delay(client, holders[k][0])
		for _, h := range holders[k][1:] {
			nearest = min(nearest, m.Delay(client, h))
		}
		if m.Delay(client, got) == nearest {
			r.nearestFirst++
		}
		r.stretch = append(r.stretch, float64(pathDelay[answered]+m.Delay(pointerAt, got))/float64(nearest))
	}
	m.Trace = nil
	return r, nil
}

// publishObjects publishes o.objects random keys, each from o.replicas
// distinct random holders, and runs the mesh quiet after each.
func publishObjects(m *tapestrytest.Mesh, rng *rand.Rand, o options, xs []*tapestrytest.Member) ([]id.ID, [][]*tapestrytest.Member) {
	objs := make([]id.ID, o.objects)
	holders := make([][]*tapestrytest.Member, o.objects)
	for k := range objs {
		objs[k] = id.Random(rng)
		for _, i := range rng.Perm(len(xs))[:min(o.replicas, len(xs))] {
			holders[k] = append(holders[k], xs[i])
			m.Do(xs[i], func(nd *tapestry.Node) { nd.Publish(uint64(1<<40+k), objs[k]) })
		}
		m.Quiesce(quiesceLimit)
	}
	return objs, holders
}

func (r *staticResult) print(w io.Writer) {
	fmt.Fprintf(w, "tapestry, %d nodes (built in %v)\n", r.n, r.build.Round(time.Millisecond))
	fmt.Fprintf(w, "  %-22s %10s %10s %12s\n", "", "mean", "p99", "reference")
	fmt.Fprintf(w, "  %-22s %10.2f %10.0f %12s\n", "routing hops", mean(r.hops), pct(r.hops, 99), fmt.Sprintf("log16 N %.2f", math.Log(float64(r.n))/math.Log(16)))
	fmt.Fprintf(w, "  %-22s %10.0f %10.0f %12s\n", "join messages", mean(r.joinMsgs), pct(r.joinMsgs, 99), fmt.Sprintf("log2² N %.0f", sq(math.Log2(float64(r.n)))))
	fmt.Fprintf(w, "  %-22s %10.0f %10.0f\n", "join bytes", mean(r.joinBytes), pct(r.joinBytes, 99))
	fmt.Fprintf(w, "  %-22s %10.1f %10.0f\n", "table entries", mean(r.tableEntries), pct(r.tableEntries, 99))
	fmt.Fprintf(w, "  %-22s %10.0f %10.0f\n", "table bytes", mean(r.tableByte), pct(r.tableByte, 99))
	fmt.Fprintf(w, "  %-22s %10.1f %10.0f\n", "backpointers", mean(r.backpointers), pct(r.backpointers, 99))
	fmt.Fprintf(w, "  %-22s %10s %10s\n", "", "median", "p90")
	fmt.Fprintf(w, "  %-22s %10.2f %10.2f %12s\n", "location stretch", pct(r.stretch, 50), pct(r.stretch, 90), "≤1.5, ≤3")
	fmt.Fprintf(w, "  routes reaching the true root %d/%d (%.2f%%); objects located %d/%d, nearest holder first %.1f%%; inconsistent table slots %d\n\n",
		r.rootCorrect, r.routes, 100*ratio(r.rootCorrect, r.routes), r.located, r.locates,
		100*ratio(r.nearestFirst, r.located), r.violations)
}

func (r *staticResult) figures(f map[string]any, p string) {
	f[p+"hops_mean"] = round(mean(r.hops), 3)
	f[p+"hops_p99"] = pct(r.hops, 99)
	f[p+"log16_n"] = round(math.Log(float64(r.n))/math.Log(16), 3)
	f[p+"root_correct_pct"] = round(100*ratio(r.rootCorrect, r.routes), 3)
	f[p+"join_msgs_mean"] = round(mean(r.joinMsgs), 1)
	f[p+"join_msgs_p99"] = pct(r.joinMsgs, 99)
	f[p+"join_bytes_mean"] = round(mean(r.joinBytes), 0)
	f[p+"log2sq_n"] = round(sq(math.Log2(float64(r.n))), 1)
	f[p+"table_entries_mean"] = round(mean(r.tableEntries), 1)
	f[p+"table_bytes_mean"] = round(mean(r.tableByte), 0)
	f[p+"stretch_median"] = round(pct(r.stretch, 50), 3)
	f[p+"stretch_p90"] = round(pct(r.stretch, 90), 3)
	f[p+"located_pct"] = round(100*ratio(r.located, r.locates), 3)
	f[p+"nearest_first_pct"] = round(100*ratio(r.nearestFirst, r.located), 1)
	f[p+"table_violations"] = r.violations
	f[p+"build_s"] = round(r.build.Seconds(), 1)
}

func sq(x float64) float64 { return x * x }

func ratio(a, b int) float64 {
	if b == 0 {
		return 0
	}
	return float64(a) / float64(b)
}

func mean(xs []float64) float64 {
	if len(xs) == 0 {
		return math.NaN()
	}
	s := 0.0
	for _, x := range xs {
		s += x
	}
	return s / float64(len(xs))
}

// pct returns the p-th percentile (nearest rank).
func pct(xs []float64, p float64) float64 {
	if len(xs) == 0 {
		return math.NaN()
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	i := int(math.Ceil(p/100*float64(len(s)))) - 1
	return s[max(0, min(i, len(s)-1))]
}
