package chordtest

import (
	"fmt"
	"testing"
	"time"

	"github.com/puddlestore/puddlestore/chord"
	"github.com/puddlestore/puddlestore/id"
)

// settle runs m until its ring and successor lists are consistent.
func settle(t *testing.T, seed uint64, m *Mesh, max time.Duration, what string) {
	t.Helper()
	if !m.RunUntil(func() bool { return m.ConsistentLists() == nil }, max) {
		t.Fatalf("seed %d: %s: not consistent after %v: %v", seed, what, max, m.ConsistentLists())
	}
}

// TestKillQuarter: a quarter of the hosts crash at once. Lookups issued
// right away may time out, but after stabilization the ring is
// consistent and every key's lookup succeeds and is right (§5.3; with
// r = 8 the chance that a node loses its whole successor list is 0.25^8).
func TestKillQuarter(t *testing.T) {
	for _, seed := range seeds(1) {
		for _, vn := range []int{1, 3} {
			t.Run(fmt.Sprintf("seed=%d/vnodes=%d", seed, vn), func(t *testing.T) {
				m := New(Config{Seed: seed, VirtualNodes: vn})
				grow(t, seed, m, 120/vn)
				hosts := m.Hosts()
				killed := 0
				for _, i := range m.rng.Perm(len(hosts))[:len(hosts)/4] {
					m.Kill(hosts[i])
					killed++
				}
				// Lookups while the failures are being found: most succeed
				// (routing passes over silent peers); none may be wrong,
				// and none is dropped for want of a next hop: a node whose
				// peers before the key are all suspect answers from its
				// successor list.
				live := m.Live()
				dropped := func() (n uint64) {
					for _, x := range live {
						n += x.Stats().Dropped
					}
					return n
				}
				droppedBefore := dropped()
				var reqs []uint64
				var keys []id.ID
				for k := range 50 {
					keys = append(keys, id.Hash(fmt.Appendf(nil, "early-%d", k)))
					reqs = append(reqs, m.StartLookup(live[k%len(live)], keys[k]))
				}
				m.Run(5 * time.Second)
				answered := 0
				for k, req := range reqs {
					r, ok := live[k%len(live)].Take(chord.ResultLookup, req)
					if !ok || r.Err != nil {
						continue
					}
					answered++
					// The answer may still name crashed nodes first (not yet
					// found dead); the first live one must be the true
					// successor.
					want := m.TrueSuccessors(keys[k], 1)[0]
					var got chord.Entry
					for _, e := range r.Successors {
						if x := m.Member(e.ID); x != nil && x.Up() {
							got = e
							break
						}
					}
					if got != want {
						t.Errorf("seed %d: early lookup of %s: first live successor %v, want %v (answer %v)", seed, keys[k].Short(8), got, want, r.Successors)
					}
				}
				if d := dropped() - droppedBefore; d != 0 {
					t.Errorf("seed %d: %d lookups dropped for want of a next hop", seed, d)
				}
				t.Logf("seed %d: %d of %d hosts killed; %d of %d lookups answered within 5s", seed, killed,
					len(hosts), answered, len(reqs))
				settle(t, seed, m, 3*time.Minute, "after the kills")
				m.Run(10 * time.Second) // fingers
				checkLookups(t, seed, m, 200, 2, true)
			})
		}
	}
}

// TestLeave: hosts leave gracefully one after another; their neighbours
// link up at once, so the ring is consistent right after each leave
// without waiting for failure detection, and lookups stay right. (Nodes
// that hold a leaver as a finger are not told: they find it silent.)
func TestLeave(t *testing.T) {
	for _, seed := range seeds(1) {
		m := New(Config{Seed: seed})
		grow(t, seed, m, 40)
		for i := range 8 {
			h := m.Hosts()[i*5]
			m.Leave(h)
			// Deliver the goodbyes; a few ticks are not enough to detect
			// a failure (FailureTicks is 30).
			if !m.RunUntil(func() bool { return m.Consistent() == nil }, 1*time.Second) {
				t.Fatalf("seed %d: after host %d left: %v", seed, h.Index, m.Consistent())
			}
		}
		settle(t, seed, m, time.Minute, "after the leaves")
		checkLookups(t, seed, m, 100, 2, true)
	}
}

// TestChurn: hosts join, crash and leave while lookups go on; once churn
// stops the ring settles and every lookup is right.
func TestChurn(t *testing.T) {
	for _, seed := range seeds(1) {
		m := New(Config{Seed: seed})
		grow(t, seed, m, 50)
		rng := m.rng
		var failed, total int
		for round := range 30 {
			switch rng.IntN(3) {
			case 0:
				m.AddHost()
			case 1:
				if live := m.Live(); len(live) > 20 {
					m.Kill(live[rng.IntN(len(live))].Host)
				}
			case 2:
				if live := m.Live(); len(live) > 20 {
					m.Leave(live[rng.IntN(len(live))].Host)
				}
			}
			live := m.Live()
			x := live[rng.IntN(len(live))]
			r, ok := m.Lookup(x, id.Hash(fmt.Appendf(nil, "churn-%d", round)), 10*time.Second)
			total++
			if !ok || r.Err != nil {
				failed++
			}
			m.Run(time.Second)
		}
		t.Logf("seed %d: %d of %d lookups during churn failed", seed, failed, total)
		settle(t, seed, m, 3*time.Minute, "after churn")
		m.Run(10 * time.Second)
		checkLookups(t, seed, m, 100, 2, true)
	}
}
