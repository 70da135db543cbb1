package main

import (
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"time"

	"github.com/puddlestore/puddlestore/chord"
	"github.com/puddlestore/puddlestore/chord/chordtest"
	"github.com/puddlestore/puddlestore/id"
)

// keysPerHost is how many random keys per host the load-balance figure
// places: 100, as in the paper's §6.2 (10^6 keys on 10^4 nodes).
const keysPerHost = 100

// fingerTicks is how often the simulated nodes refresh a finger: every
// second, not chord's default of every tick. The simulation's time goes
// almost all into routing, and at the default nine lookups in ten would be
// fix_fingers': the 10,000-node failure run and the 10-minute churn run
// would take half an hour. A finger a second still refreshes the whole
// table (log2 N lookups) every 10 to 14 s; the paper's nodes took 30 s.
// Everything else is chord's default: stabilize every 0.5 s, pings every
// second, a peer silent for 3 s is dead, lookups retried after 2 s.
const fingerTicks = 10

// timers sets the simulated nodes' periods (see fingerTicks).
func timers(c *chord.Config) { c.FixFingerTicks = fingerTicks }

// chordResult holds the figures of one static Chord run: a ring of n hosts
// of one node each (the paper's path lengths are without virtual nodes),
// then the same ring after a quarter of its hosts crashed.
type chordResult struct {
	n, vnodes           int
	build               time.Duration
	joinMsgs, joinBytes []float64
	hops                []float64 // forwards per lookup (Result.Hops)
	correct, lookups    int
	stretch             []float64
	entries             []float64 // distinct peers in fingers, successor list and predecessor
	balance1, balanceV  float64   // keys per host, p99 / mean, without and with virtual nodes
	fail                failResult
}

// chordStatic builds a ring of n hosts through the protocol and measures
// it; see chordring.go for how it is built.
func chordStatic(o options, n int) (*chordResult, error) {
	t0 := time.Now()
	rng := rand.New(rand.NewPCG(o.seed, uint64(n)^0xc40d))
	m := chordtest.New(chordtest.Config{Seed: o.seed ^ uint64(n)<<20 ^ 0xc40d, Node: timers})
	g := newRing(m)
	r := &chordResult{n: n, vnodes: o.vnodes}
	if err := g.addHosts(rng, n); err != nil {
		return nil, fmt.Errorf("chord n=%d: %w", n, err)
	}
	if err := g.converge(); err != nil {
		return nil, fmt.Errorf("chord n=%d: %w", n, err)
	}
	r.build = time.Since(t0)
	r.joinMsgs, r.joinBytes = g.joinMsg, g.joinB

	for _, x := range g.xs {
		r.entries = append(r.entries, float64(routingEntries(x.Node)))
	}

	// Lookups from random nodes of random keys, one at a time, timed as
	// Tapestry's locates are: the delays along the recursive path and of
	// the answer back to the origin, over the direct delay from the origin
	// to the key's successor. A lookup the origin answers itself (its
	// successor is the key's: no message) has no path and no stretch.
	var pathDelay time.Duration
	m.Trace = func(_, _ *chordtest.Member, msg *chord.Message, d time.Duration) {
		if msg.Type == chord.MsgFindSuccessor || msg.Type == chord.MsgFoundSuccessor {
			pathDelay += d
		}
	}
	for range o.routes {
		x := g.xs[rng.IntN(len(g.xs))]
		key := id.Random(rng)
		pathDelay = 0
		req := g.nextReq()
		m.Do(x, func(nd *chord.Node) { nd.Lookup(req, key) })
		if err := g.quiesce(); err != nil {
			return nil, err
		}
		res, ok := x.Take(chord.ResultLookup, req)
		r.lookups++
		if !ok || res.Err != nil {
			continue
		}
		r.hops = append(r.hops, float64(res.Hops))
		want := g.successor(key)
		if res.Successors[0].ID == want.Self().ID {
			r.correct++
		}
		if want.Host != x.Host && pathDelay > 0 {
			r.stretch = append(r.stretch, float64(pathDelay)/float64(m.Delay(x, want)))
		}
	}
	m.Trace = nil

	r.balance1 = balance(rng, g.m, g.ids, n)
	r.balanceV = virtualBalance(o, rng, n)
	fr, err := failQuarter(o, rng, g)
	if err != nil {
		return nil, fmt.Errorf("chord n=%d: %w", n, err)
	}
	r.fail = *fr
	return r, nil
}

// routingEntries counts the distinct peers a node routes with: fingers,
// successor list and predecessor.
func routingEntries(n *chord.Node) int {
	seen := map[id.ID]bool{}
	for _, e := range n.Fingers() {
		if e.ID != (id.ID{}) {
			seen[e.ID] = true
		}
	}
	for _, e := range n.Successors() {
		seen[e.ID] = true
	}
	if p, ok := n.Predecessor(); ok {
		seen[p.ID] = true
	}
	return len(seen)
}

// balance places keysPerHost·hosts random keys on their successors among
// ids (sorted) and returns the 99th percentile of keys per host over the
// mean: a host's virtual nodes count together.
func balance(rng *rand.Rand, m *chordtest.Mesh, ids []id.ID, hosts int) float64 {
	perHost := make([]float64, hosts)
	for range keysPerHost * hosts {
		perHost[m.Member(successorID(ids, id.Random(rng))).Host.Index]++
	}
	return pct(perHost, 99) / mean(perHost)
}

// virtualBalance is balance for n hosts of o.vnodes ring positions each.
// The ring is not built: the load follows from the ids alone, since a
// converged ring finds every key's true successor (the static runs check
// that). The hosts and ids are chordtest's, as in a built ring.
func virtualBalance(o options, rng *rand.Rand, n int) float64 {
	m := chordtest.New(chordtest.Config{Seed: o.seed ^ uint64(n)<<20 ^ 0x7b, VirtualNodes: o.vnodes})
	var ids []id.ID
	for range n {
		for _, x := range m.NewHost().Members {
			ids = append(ids, x.Self().ID)
		}
	}
	sortIDs(ids)
	return balance(rng, m, ids, n)
}

func (r *chordResult) print(w io.Writer) {
	log2 := math.Log2(float64(r.n))
	fmt.Fprintf(w, "chord, %d nodes (built in %v)\n", r.n, r.build.Round(time.Millisecond))
	fmt.Fprintf(w, "  %-22s %10s %10s %12s\n", "", "mean", "p99", "reference")
	fmt.Fprintf(w, "  %-22s %10.2f %10.0f %12s\n", "lookup hops", mean(r.hops), pct(r.hops, 99), "")
	fmt.Fprintf(w, "  %-22s %10.2f %10.0f %12s  (ratio %.3f)\n", "path length (hops+1)", mean(r.hops)+1, pct(r.hops, 99)+1,
		fmt.Sprintf("½log2 N %.2f", log2/2), (mean(r.hops)+1)/(log2/2))
	fmt.Fprintf(w, "  %-22s %10.0f %10.0f %12s\n", "join messages", mean(r.joinMsgs), pct(r.joinMsgs, 99), fmt.Sprintf("log2² N %.0f", sq(log2)))
	fmt.Fprintf(w, "  %-22s %10.0f %10.0f\n", "join bytes", mean(r.joinBytes), pct(r.joinBytes, 99))
	fmt.Fprintf(w, "  %-22s %10.1f %10.0f\n", "routing entries", mean(r.entries), pct(r.entries, 99))
	fmt.Fprintf(w, "  %-22s %10s %10s\n", "", "median", "p90")
	fmt.Fprintf(w, "  %-22s %10.2f %10.2f\n", "lookup stretch", pct(r.stretch, 50), pct(r.stretch, 90))
	fmt.Fprintf(w, "  lookups finding the true successor %d/%d (%.2f%%)\n", r.correct, r.lookups, 100*ratio(r.correct, r.lookups))
	fmt.Fprintf(w, "  keys per host, p99/mean (%d keys per host): %.2f with 1 node per host, %.2f with %d virtual nodes (paper §6.2: 1.6)\n",
		keysPerHost, r.balance1, r.balanceV, r.vnodes)
	r.fail.print(w)
	fmt.Fprintln(w)
}

func (r *chordResult) figures(f map[string]any, p string) {
	log2 := math.Log2(float64(r.n))
	f[p+"hops_mean"] = round(mean(r.hops), 3)
	f[p+"hops_p99"] = pct(r.hops, 99)
	f[p+"path_len_mean"] = round(mean(r.hops)+1, 3)
	f[p+"half_log2_n"] = round(log2/2, 3)
	f[p+"path_len_ratio"] = round((mean(r.hops)+1)/(log2/2), 3)
	f[p+"hops_ratio"] = round(mean(r.hops)/(log2/2), 3)
	f[p+"lookup_correct_pct"] = round(100*ratio(r.correct, r.lookups), 3)
	f[p+"join_msgs_mean"] = round(mean(r.joinMsgs), 1)
	f[p+"join_msgs_p99"] = pct(r.joinMsgs, 99)
	f[p+"join_bytes_mean"] = round(mean(r.joinBytes), 0)
	f[p+"join_bytes_p99"] = pct(r.joinBytes, 99)
	f[p+"log2sq_n"] = round(sq(log2), 1)
	f[p+"routing_entries_mean"] = round(mean(r.entries), 1)
	f[p+"stretch_median"] = round(pct(r.stretch, 50), 3)
	f[p+"stretch_p90"] = round(pct(r.stretch, 90), 3)
	f[p+"keys_p99_over_mean"] = round(r.balance1, 3)
	f[p+"keys_p99_over_mean_vnodes"] = round(r.balanceV, 3)
	f[p+"vnodes"] = r.vnodes
	f[p+"build_s"] = round(r.build.Seconds(), 1)
	r.fail.figures(f, p+"fail25_")
}
