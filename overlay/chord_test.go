package overlay

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/puddlestore/puddlestore/id"
	"github.com/puddlestore/puddlestore/transport"
	"github.com/puddlestore/puddlestore/transport/memnet"
)

type memRing struct {
	t     *testing.T
	net   *memnet.Network
	nodes []*Chord
}

// newMemRing starts n Chord nodes of vnodes ring positions each on a
// real-time memnet, joining through the first.
func newMemRing(t *testing.T, n, vnodes int) *memRing {
	t.Helper()
	net, err := memnet.New(memnet.Config{Seed: 1, MinDelay: 200 * time.Microsecond, MaxDelay: 2 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	if err := net.Start(); err != nil {
		t.Fatal(err)
	}
	r := &memRing{t: t, net: net}
	t.Cleanup(func() {
		for _, x := range r.nodes {
			x.Close()
		}
		net.Stop()
	})
	for i := range n {
		mux := transport.NewMux()
		ep, err := net.Endpoint(transport.Addr(fmt.Sprintf("n%d", i)), mux.Deliver)
		if err != nil {
			t.Fatal(err)
		}
		cfg := ChordConfig{Transport: ep, Mux: mux, Seed: uint64(i + 1), ID: id.Hash(fmt.Appendf(nil, "node %d", i)),
			Tick: 10 * time.Millisecond, FailureTicks: 30, VirtualNodes: vnodes}
		if i > 0 {
			cfg.Join = r.nodes[0].Self().Addr
		}
		x, err := StartChord(ctxT(t, 10*time.Second), cfg)
		if err != nil {
			t.Fatalf("node %d: %v", i, err)
		}
		r.nodes = append(r.nodes, x)
	}
	return r
}

// positions returns the ring positions of the live nodes, sorted by id.
func (r *memRing) positions(live []*Chord) []Peer {
	var ps []Peer
	for _, x := range live {
		for i := range x.cfg.VirtualNodes {
			ps = append(ps, Peer{ID: VirtualID(x.self.ID, i), Addr: x.self.Addr})
		}
	}
	slices.SortFunc(ps, func(a, b Peer) int { return id.Compare(a.ID, b.ID) })
	return ps
}

// trueHolders is the oracle: the distinct nodes among key's first r
// successors on the ring of positions ps.
func trueHolders(ps []Peer, key id.ID, r int) []transport.Addr {
	i, _ := slices.BinarySearchFunc(ps, key, func(p Peer, k id.ID) int { return id.Compare(p.ID, k) })
	var out []transport.Addr
	for k := range min(r, len(ps)) {
		a := ps[(i+k)%len(ps)].Addr
		if !slices.Contains(out, a) {
			out = append(out, a)
		}
	}
	return out
}

// waitAgreed waits until every live node's Responsible for each key is
// the oracle's.
func (r *memRing) waitAgreed(live []*Chord, keys []id.ID) {
	r.t.Helper()
	ps := r.positions(live)
	deadline := time.Now().Add(20 * time.Second)
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for {
		var wrong []string
		for _, k := range keys {
			want := trueHolders(ps, k, 8)
			for i, x := range live {
				ctx, cancel := context.WithTimeout(context.Background(), time.Second)
				got, err := x.Responsible(ctx, k)
				cancel()
				var addrs []transport.Addr
				for _, p := range got {
					addrs = append(addrs, p.Addr)
				}
				if err != nil || !slices.Equal(addrs, want) {
					wrong = append(wrong, fmt.Sprintf("key %s from node %d: %v %v, want %v", k.Short(6), i, addrs, err, want))
				}
			}
		}
		if len(wrong) == 0 {
			return
		}
		if time.Now().After(deadline) {
			r.t.Fatalf("%d answers still wrong, e.g. %v", len(wrong), wrong[:min(3, len(wrong))])
		}
		<-tick.C
	}
}

func testKeys(n int) []id.ID {
	keys := make([]id.ID, n)
	for i := range keys {
		keys[i] = id.Hash(fmt.Appendf(nil, "key %d", i))
	}
	return keys
}

// TestChordDriver: over a real-time network, nodes (with virtual nodes)
// agree on every key's holders, which are the true successors' nodes,
// each node once; Locate gives the same nodes; a node leaving gracefully
// and one crashing are both left out once the ring has settled.
func TestChordDriver(t *testing.T) {
	for _, vnodes := range []int{1, 3} {
		t.Run(fmt.Sprintf("vnodes=%d", vnodes), func(t *testing.T) {
			r := newMemRing(t, 6, vnodes)
			keys := testKeys(30)
			r.waitAgreed(r.nodes, keys)

			ctx := ctxT(t, 10*time.Second)
			hs, err := r.nodes[1].Locate(ctx, keys[0])
			if err != nil || len(hs) == 0 {
				t.Fatalf("locate: %v %v", hs, err)
			}
			resp, _ := r.nodes[1].Responsible(ctx, keys[0])
			if !sameSet(hs, resp) {
				t.Fatalf("locate %v, responsible %v: want the same nodes", hs, resp)
			}
			if err := r.nodes[1].Publish(ctx, keys[0]); err != nil {
				t.Fatalf("publish: %v", err)
			}
			ns, err := r.nodes[1].Neighbours(ctx)
			if err != nil || len(ns) == 0 || slices.ContainsFunc(ns, func(p Peer) bool { return p.Addr == r.nodes[1].self.Addr }) {
				t.Fatalf("neighbours: %v %v (want others only)", ns, err)
			}

			// One leaves gracefully, one crashes.
			r.nodes[2].Close()
			r.net.Crash(r.nodes[4].self.Addr)
			live := []*Chord{r.nodes[0], r.nodes[1], r.nodes[3], r.nodes[5]}
			r.waitAgreed(live, keys)

			if _, err := r.nodes[2].Responsible(ctx, keys[0]); !errors.Is(err, ErrClosed) {
				t.Fatalf("a closed node's lookup: %v, want ErrClosed", err)
			}
		})
	}
}

func sameSet(a, b []Peer) bool {
	if len(a) != len(b) {
		return false
	}
	for _, p := range a {
		if !slices.Contains(b, p) {
			return false
		}
	}
	return true
}
