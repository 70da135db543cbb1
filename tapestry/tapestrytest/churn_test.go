package tapestrytest

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/puddlestore/puddlestore/id"
	"github.com/puddlestore/puddlestore/tapestry"
)

// fast nodes run every timer on a short scale: heartbeats every 0.5 s,
// dead after 1.5 s, republish every 5 s.
func fast(c *tapestry.Config) {
	c.HeartbeatTicks, c.FailureTicks = 5, 15
	c.RepublishTicks, c.MaintainTicks = 50, 30
	c.PublishBackups = true
}

type object struct {
	key     id.ID
	holders []*Member
}

// publishAll publishes n objects, each from two random nodes, and waits
// for the roots' acks.
func publishAll(t *testing.T, m *Mesh, rng *rand.Rand, n int) []object {
	t.Helper()
	xs := m.Live()
	var objs []object
	for k := range n {
		o := object{key: id.Random(rng)}
		for _, i := range rng.Perm(len(xs))[:2] {
			o.holders = append(o.holders, xs[i])
			m.Do(xs[i], func(nd *tapestry.Node) { nd.Publish(uint64(k), o.key) })
		}
		objs = append(objs, o)
	}
	m.Quiesce(10_000_000)
	for k, o := range objs {
		for _, h := range o.holders {
			if r, ok := h.Take(tapestry.ResultPublish, uint64(k)); !ok || r.Err != nil {
				t.Fatalf("publish %s from node %d: %v %v", o.key.Short(8), h.Index, ok, r.Err)
			}
		}
	}
	return objs
}

// checkMesh requires consistent tables, routes from every live node that
// end at the true root, and every object with a live holder found from
// every live node, a live holder first.
func checkMesh(t *testing.T, seed uint64, m *Mesh, objs []object, rng *rand.Rand) {
	t.Helper()
	if bad := m.CheckTables(10); len(bad) > 0 {
		t.Fatalf("seed %d: inconsistent tables:\n%s", seed, join(bad))
	}
	req := uint64(1 << 40)
	live := m.Live()
	for range 5 {
		key := id.Random(rng)
		want := m.Root(key).Self().ID
		for _, x := range live {
			req++
			if r := route(t, m, x, key, req); r.Err != nil || r.Path[len(r.Path)-1].ID != want {
				t.Fatalf("seed %d: route from node %d to %s: %v, want root %s", seed, x.Index, key.Short(8), r.Err, want.Short(8))
			}
		}
	}
	for _, o := range objs {
		alive := slices.ContainsFunc(o.holders, func(h *Member) bool { return h.Up })
		for _, x := range live {
			req++
			m.Do(x, func(nd *tapestry.Node) { nd.Locate(req, o.key, nil) })
			m.Quiesce(10_000_000)
			r, ok := x.Take(tapestry.ResultLocate, req)
			if !ok {
				t.Fatalf("seed %d: no answer to locate %s from node %d", seed, o.key.Short(8), x.Index)
			}
			if !alive {
				if r.Err == nil {
					t.Fatalf("seed %d: %s has no live holder, yet node %d located %v", seed, o.key.Short(8), x.Index, r.Holders)
				}
				continue
			}
			if r.Err != nil || !m.Member(r.Holders[0].ID).Up {
				t.Fatalf("seed %d: locate %s from node %d: %v %v", seed, o.key.Short(8), x.Index, r.Err, r.Holders)
			}
		}
	}
}

// TestFailures: crashed nodes are detected by heartbeats, tables are
// repaired around them and pointers to them expire; after that, every key
// has one root all nodes agree on and every object with a live holder is
// found.
func TestFailures(t *testing.T) {
	for _, seed := range seeds(4) {
		t.Run(fmt.Sprintf("seed=%d", seed), func(t *testing.T) {
			rng := rand.New(rand.NewPCG(seed, 1))
			m := build(t, seed, 48, fast)
			objs := publishAll(t, m, rng, 16)
			m.Run(2 * time.Second)
			xs := m.Live()
			for _, i := range rng.Perm(len(xs))[:8] {
				m.Kill(xs[i])
			}
			// Detection takes 1.5 s; stale pointers live three republish
			// periods at most (15 s).
			m.Run(20 * time.Second)
			checkMesh(t, seed, m, objs, rng)
		})
	}
}

// TestGracefulLeave: leaving nodes tell their neighbours, who replace them,
// and hand over the pointers they were root for, so without any republish
// or heartbeat every object left is still found.
func TestGracefulLeave(t *testing.T) {
	for _, seed := range seeds(4) {
		t.Run(fmt.Sprintf("seed=%d", seed), func(t *testing.T) {
			rng := rand.New(rand.NewPCG(seed, 2))
			m := build(t, seed, 48, static)
			objs := publishAll(t, m, rng, 16)
			xs := m.Live()
			for _, i := range rng.Perm(len(xs))[:8] {
				m.Do(xs[i], func(nd *tapestry.Node) { nd.Leave() })
				m.Quiesce(10_000_000)
				m.Kill(xs[i])
			}
			checkMesh(t, seed, m, objs, rng)
		})
	}
}

// TestChurn: nodes crash and new ones join while time runs; after the
// churn stops and the mesh settles, it is consistent again.
func TestChurn(t *testing.T) {
	for _, seed := range seeds(3) {
		t.Run(fmt.Sprintf("seed=%d", seed), func(t *testing.T) {
			rng := rand.New(rand.NewPCG(seed, 3))
			m := build(t, seed, 40, fast)
			objs := publishAll(t, m, rng, 10)
			for range 12 {
				m.Run(time.Duration(rng.IntN(2000)) * time.Millisecond)
				live := m.Live()
				if rng.IntN(2) == 0 {
					m.Kill(live[rng.IntN(len(live))])
				}
				x := m.Add()
				gw := live[rng.IntN(len(live))]
				for !gw.Up || !gw.Joined() {
					gw = live[rng.IntN(len(live))]
				}
				m.Do(x, func(nd *tapestry.Node) { _ = nd.Join(uint64(x.Index), gw.Self().Addr) })
			}
			m.Run(40 * time.Second)
			for _, x := range m.Live() {
				if x.Joined() {
					continue
				}
				// A join fails only when its gateway died before answering.
				r, ok := x.Take(tapestry.ResultJoined, uint64(x.Index))
				if !ok || r.Err == nil {
					t.Fatalf("seed %d: node %d still %s", seed, x.Index, x.Status().State)
				}
				t.Logf("seed %d: node %d: %v", seed, x.Index, r.Err)
				m.Kill(x)
			}
			m.Run(10 * time.Second)
			checkMesh(t, seed, m, objs, rng)
		})
	}
}
