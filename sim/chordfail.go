package main

import (
	"fmt"
	"io"
	"math/rand/v2"
	"slices"
	"time"

	"github.com/puddlestore/puddlestore/chord"
	"github.com/puddlestore/puddlestore/chord/chordtest"
	"github.com/puddlestore/puddlestore/id"
)

// A quarter of the hosts crash at once (§6.3's simultaneous failures).
// From then on the mesh runs with its timers, chord's default periods (a
// tick is 100 ms): lookups issued at once show what routing alone
// survives; lookups issued failRepair later, after failure detection and
// stabilize, show what the repair restores.
const (
	failRepair   = 20 * time.Second // from the crash to the second batch of lookups
	failAnswerBy = 10 * time.Second // a batch's last answers (the origin gives up after 2 × 2 s)
	failEarly    = 1000             // lookups at the crash; the second batch has o.routes
)

type failResult struct {
	killed, live               int
	early, earlyOK, earlyRight int
	earlyLive                  int // answers whose first live successor is right
	late, lateOK, lateRight    int
	consistentAfter            time.Duration // -1: not within failRepair
}

func failQuarter(o options, rng *rand.Rand, g *ring) (*failResult, error) {
	m := g.m
	r := &failResult{consistentAfter: -1}
	for _, i := range rng.Perm(len(g.hosts))[:len(g.hosts)/4] {
		m.Kill(g.hosts[i])
		r.killed++
	}
	g.ids = g.ids[:0]
	live := m.Live()
	for _, x := range live {
		g.ids = append(g.ids, x.Self().ID)
	}
	sortIDs(g.ids)
	r.live = len(live)
	t0 := m.Now()
	r.early, r.earlyOK, r.earlyRight, r.earlyLive = lookupBatch(rng, g, live, failEarly)
	if m.RunUntil(func() bool { return m.ConsistentLists() == nil }, t0+failRepair-m.Now()) {
		r.consistentAfter = m.Now() - t0
	}
	m.Run(t0 + failRepair - m.Now())
	r.late, r.lateOK, r.lateRight, _ = lookupBatch(rng, g, live, o.routes)
	return r, nil
}

// lookupBatch starts k lookups of random keys from random live members at
// once, runs the mesh until all are answered (or failAnswerBy), and counts
// the answers without error, those whose first successor is the key's true
// successor, and those whose first successor on a live host is (the one a
// client skipping silent hosts would reach).
func lookupBatch(rng *rand.Rand, g *ring, live []*chordtest.Member, k int) (n, ok, right, rightLive int) {
	type ask struct {
		x   *chordtest.Member
		key id.ID
		req uint64
	}
	asks := make([]ask, k)
	for i := range asks {
		a := ask{x: live[rng.IntN(len(live))], key: id.Random(rng)}
		a.req = g.m.StartLookup(a.x, a.key)
		asks[i] = a
	}
	pending := slices.Clone(asks)
	g.m.RunUntil(func() bool {
		pending = slices.DeleteFunc(pending, func(a ask) bool { return a.x.Has(chord.ResultLookup, a.req) })
		return len(pending) == 0
	}, failAnswerBy)
	for _, a := range asks {
		n++
		res, got := a.x.Take(chord.ResultLookup, a.req)
		if !got || res.Err != nil {
			continue
		}
		ok++
		want := successorID(g.ids, a.key)
		if res.Successors[0].ID == want {
			right++
		}
		for _, e := range res.Successors {
			if x := g.m.Member(e.ID); x != nil && x.Up() {
				if e.ID == want {
					rightLive++
				}
				break
			}
		}
	}
	return n, ok, right, rightLive
}

// successorID returns the first of ids (sorted) at or after key.
func successorID(ids []id.ID, key id.ID) id.ID {
	i, _ := slices.BinarySearchFunc(ids, key, id.Compare)
	return ids[i%len(ids)]
}

func sortIDs(ids []id.ID) { slices.SortFunc(ids, id.Compare) }

func (r *failResult) print(w io.Writer) {
	cons := "not within " + failRepair.String()
	if r.consistentAfter >= 0 {
		cons = "after " + r.consistentAfter.Round(100*time.Millisecond).String()
	}
	fmt.Fprintf(w, "  %d of %d hosts crash at once: lookups at once answered %.2f%%, right %.2f%% (%.2f%% skipping dead successors);\n",
		r.killed, r.killed+r.live, 100*ratio(r.earlyOK, r.early), 100*ratio(r.earlyRight, r.early), 100*ratio(r.earlyLive, r.early))
	fmt.Fprintf(w, "    ring consistent %s;", cons)
	fmt.Fprintf(w, " %v after the crash, %d lookups answered %.2f%%, right %.2f%%\n",
		failRepair, r.late, 100*ratio(r.lateOK, r.late), 100*ratio(r.lateRight, r.late))
}

func (r *failResult) figures(f map[string]any, p string) {
	f[p+"killed"] = r.killed
	f[p+"early_success_pct"] = round(100*ratio(r.earlyOK, r.early), 3)
	f[p+"early_correct_pct"] = round(100*ratio(r.earlyRight, r.early), 3)
	f[p+"early_first_live_correct_pct"] = round(100*ratio(r.earlyLive, r.early), 3)
	f[p+"success_pct"] = round(100*ratio(r.lateOK, r.late), 3)
	f[p+"correct_pct"] = round(100*ratio(r.lateRight, r.late), 3)
	if r.consistentAfter >= 0 {
		f[p+"consistent_s"] = round(r.consistentAfter.Seconds(), 1)
	} else {
		f[p+"consistent_s"] = -1 // not within repair_s
	}
	f[p+"repair_s"] = failRepair.Seconds()
}
