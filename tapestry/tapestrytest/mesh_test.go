package tapestrytest

import (
	"flag"
	"fmt"
	"testing"
	"time"

	"github.com/puddlestore/puddlestore/id"
	"github.com/puddlestore/puddlestore/tapestry"
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

// static makes nodes that never tick on their own: no heartbeats, no
// republish, no maintenance (Quiesce runs them).
func static(c *tapestry.Config) {
	c.HeartbeatTicks, c.RepublishTicks, c.MaintainTicks = -1, -1, -1
}

// build joins n nodes one by one and checks the tables.
func build(t *testing.T, seed uint64, n int, node func(c *tapestry.Config)) *Mesh {
	t.Helper()
	m := New(Config{Seed: seed, Node: node})
	for range n {
		m.Add()
	}
	if err := m.JoinAll(m.Members(), 1_000_000); err != nil {
		t.Fatalf("seed %d: %v", seed, err)
	}
	if bad := m.CheckTables(10); len(bad) > 0 {
		t.Fatalf("seed %d: inconsistent tables:\n%s", seed, join(bad))
	}
	return m
}

func join(s []string) string {
	out := ""
	for _, x := range s {
		out += "  " + x + "\n"
	}
	return out
}

// route traces key's route from x, to quiescence.
func route(t *testing.T, m *Mesh, x *Member, key id.ID, req uint64) tapestry.Result {
	t.Helper()
	m.Do(x, func(n *tapestry.Node) { n.Route(req, key) })
	m.Quiesce(1_000_000)
	r, ok := x.Take(tapestry.ResultRoute, req)
	if !ok {
		t.Fatalf("no route result for %s from node %d", key.Short(8), x.Index)
	}
	return r
}

// TestOneRoot: after the joins, the route from every node to a key ends at
// the same root, the one surrogate routing names on the membership.
func TestOneRoot(t *testing.T) {
	for _, seed := range seeds(4) {
		for _, n := range []int{2, 17, 120} {
			t.Run(fmt.Sprintf("seed=%d/n=%d", seed, n), func(t *testing.T) {
				m := build(t, seed, n, static)
				for k := range 20 {
					key := id.Hash([]byte(fmt.Sprintf("key-%d-%d", seed, k)))
					want := m.Root(key)
					for _, x := range m.Members() {
						r := route(t, m, x, key, uint64(k))
						if r.Err != nil {
							t.Fatalf("seed %d: route from %d: %v", seed, x.Index, r.Err)
						}
						got := r.Path[len(r.Path)-1]
						if got.ID != want.Self().ID {
							t.Fatalf("seed %d: key %s from node %d reaches %s, want root %s (path %d hops)",
								seed, key.Short(8), x.Index, got.ID.Short(8), want.Self().ID.Short(8), len(r.Path)-1)
						}
					}
				}
			})
		}
	}
}

// TestPublishLocate: every published object is found from every node.
func TestPublishLocate(t *testing.T) {
	for _, seed := range seeds(3) {
		t.Run(fmt.Sprintf("seed=%d", seed), func(t *testing.T) {
			m := build(t, seed, 60, static)
			xs := m.Members()
			objs := map[id.ID]*Member{}
			for k := range 30 {
				key := id.Hash([]byte(fmt.Sprintf("obj-%d-%d", seed, k)))
				srv := xs[(k*7)%len(xs)]
				objs[key] = srv
				m.Do(srv, func(n *tapestry.Node) { n.Publish(uint64(k), key) })
				m.Quiesce(1_000_000)
				if r, ok := srv.Take(tapestry.ResultPublish, uint64(k)); !ok || r.Err != nil {
					t.Fatalf("seed %d: publish %s: %v %v", seed, key.Short(8), ok, r.Err)
				}
			}
			req := uint64(1000)
			for key, srv := range objs {
				for _, x := range xs {
					req++
					m.Do(x, func(n *tapestry.Node) { n.Locate(req, key, nil) })
					m.Quiesce(1_000_000)
					r, ok := x.Take(tapestry.ResultLocate, req)
					if !ok || r.Err != nil || len(r.Holders) == 0 || r.Holders[0].ID != srv.Self().ID {
						t.Fatalf("seed %d: locate %s from node %d: %v %v %v", seed, key.Short(8), x.Index, ok, r.Err, r.Holders)
					}
				}
			}
			// Unpublished, an object is found no more.
			for key, srv := range objs {
				m.Do(srv, func(n *tapestry.Node) { n.Unpublish(key) })
			}
			m.Quiesce(1_000_000)
			for key := range objs {
				req++
				x := xs[int(req)%len(xs)]
				m.Do(x, func(n *tapestry.Node) { n.Locate(req, key, nil) })
				m.Quiesce(1_000_000)
				if r, ok := x.Take(tapestry.ResultLocate, req); !ok || r.Err == nil {
					t.Fatalf("seed %d: unpublished %s still located: %v", seed, key.Short(8), r.Holders)
				}
			}
		})
	}
}

var _ = time.Second
