package chordtest

import (
	"flag"
	"fmt"
	"math"
	"testing"
	"time"

	"github.com/puddlestore/puddlestore/chord"
	"github.com/puddlestore/puddlestore/id"
)

var seedFlag = flag.Int64("seed", -1, "run only this seed")

func seeds(n int) []uint64 {
	if *seedFlag >= 0 {
		return []uint64{uint64(*seedFlag)}
	}
	out := make([]uint64, n)
	for i := range out {
		out[i] = uint64(i + 1)
	}
	return out
}

// grow adds hosts one after another, a little simulated time apart (joins
// overlap), and runs the mesh until the ring is consistent.
func grow(t *testing.T, seed uint64, m *Mesh, hosts int) {
	t.Helper()
	for range hosts {
		m.AddHost()
		m.Run(100 * time.Millisecond)
	}
	if !m.RunUntil(func() bool { return m.ConsistentLists() == nil }, 5*time.Minute) {
		t.Fatalf("seed %d: %d members not consistent after 5 minutes: %v", seed, len(m.Members()), m.ConsistentLists())
	}
	// Let fix_fingers go round once.
	m.Run(10 * time.Second)
}

// checkLookups looks up keys from several members each, all at once, and
// compares the answers with the oracle: all of the successors, or only
// the first.
func checkLookups(t *testing.T, seed uint64, m *Mesh, keys, askers int, full bool) (hops []int) {
	t.Helper()
	live := m.Live()
	type ask struct {
		x   *Member
		key id.ID
		req uint64
	}
	var asks []ask
	for k := range keys {
		key := id.Hash(fmt.Appendf(nil, "key-%d-%d", seed, k))
		for a := range askers {
			x := live[(k*askers+a*7919)%len(live)]
			asks = append(asks, ask{x: x, key: key, req: m.StartLookup(x, key)})
		}
	}
	r := live[0].Config().Successors
	m.RunUntil(func() bool {
		for _, a := range asks {
			if !a.x.Has(chord.ResultLookup, a.req) {
				return false
			}
		}
		return true
	}, 30*time.Second)
	for _, a := range asks {
		res, ok := a.x.Take(chord.ResultLookup, a.req)
		want := m.TrueSuccessors(a.key, r)
		switch {
		case !ok:
			t.Fatalf("seed %d: lookup of %s from member %d: no answer", seed, a.key.Short(8), a.x.Index)
		case res.Err != nil:
			t.Fatalf("seed %d: lookup of %s from member %d: %v", seed, a.key.Short(8), a.x.Index, res.Err)
		case res.Successors[0].ID != want[0].ID:
			t.Fatalf("seed %d: lookup of %s from member %d: successor %s, want %s", seed, a.key.Short(8),
				a.x.Index, res.Successors[0].ID.Short(8), want[0].ID.Short(8))
		case full && !sameIDs(res.Successors, want):
			t.Fatalf("seed %d: lookup of %s from member %d: successors %s, want %s", seed, a.key.Short(8),
				a.x.Index, ids(res.Successors), ids(want))
		case res.Hops != len(res.Path)-1 || res.Path[0].ID != a.x.Self().ID:
			t.Fatalf("seed %d: %d hops, path %s from %d", seed, res.Hops, ids(res.Path), a.x.Index)
		}
		hops = append(hops, res.Hops)
	}
	return hops
}

func sameIDs(a, b []chord.Entry) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i].ID != b[i].ID {
			return false
		}
	}
	return true
}

func ids(es []chord.Entry) string {
	s := ""
	for _, e := range es {
		s += e.ID.Short(6) + " "
	}
	return s
}

func mean(xs []int) float64 {
	s := 0
	for _, x := range xs {
		s += x
	}
	return float64(s) / float64(len(xs))
}

// TestConverge: rings of 60 to 200 members converge, every key gets its
// true successors from every member asked, and the mean path is about
// ½·log2 N hops (§6.4 of the paper).
func TestConverge(t *testing.T) {
	for _, seed := range seeds(1) {
		for _, c := range []struct {
			hosts, vnodes int
			prox          bool
		}{{60, 1, false}, {200, 1, false}, {30, 4, false}, {100, 1, true}} {
			t.Run(fmt.Sprintf("seed=%d/hosts=%d/vnodes=%d/proximity=%v", seed, c.hosts, c.vnodes, c.prox), func(t *testing.T) {
				m := New(Config{Seed: seed, VirtualNodes: c.vnodes, Node: func(nc *chord.Config) { nc.Proximity = c.prox }})
				var latency time.Duration
				m.Trace = func(_, _ *Member, msg *chord.Message, d time.Duration) {
					if msg.Type == chord.MsgFindSuccessor || msg.Type == chord.MsgFoundSuccessor {
						latency += d
					}
				}
				grow(t, seed, m, c.hosts)
				latency = 0
				hops := checkLookups(t, seed, m, 200, 3, true)
				n := float64(len(m.Live()))
				avg := mean(hops)
				t.Logf("seed %d: %d members: mean path %.2f hops (½·log2 N = %.2f), mean lookup latency %v (with finger lookups)",
					seed, int(n), avg, math.Log2(n)/2, latency/time.Duration(len(hops)))
				if avg > math.Log2(n)/2+1.5 {
					t.Errorf("seed %d: mean path %.2f hops for %d members", seed, avg, int(n))
				}
			})
		}
	}
}
