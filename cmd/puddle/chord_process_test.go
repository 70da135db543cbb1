package main

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/puddlestore/puddlestore/id"
	"github.com/puddlestore/puddlestore/internal/testenv"
	"github.com/puddlestore/puddlestore/overlay"
	"github.com/puddlestore/puddlestore/transport"
)

// chordNodeArgs tune the test's Chord nodes: fast ticks, failure after a
// second.
var chordNodeArgs = []string{"--tick", "20ms", "--failure-ticks", "50", "--request-ticks", "25", "--successors", "4"}

// TestChordProcessesSurviveKill9: eight `puddle chord node` processes form
// a ring; one is killed with SIGKILL. Afterwards, from every survivor,
// every key's lookup names the key's true successor among the survivors
// (the ring, sorted by id, is the oracle), and the survivors' rings drop
// the dead node. The CLI's ring and lookup print what the ring holds.
func TestChordProcessesSurviveKill9(t *testing.T) {
	bin := buildBinary(t)
	begin := time.Now()
	const n = 8
	var nodes []*tapNode
	for i := range n {
		args := append([]string{"chord", "node", "--listen", testenv.FreeAddr(t)}, chordNodeArgs...)
		if i > 0 {
			args = append(args, "--join", string(nodes[(i*5)%i].self.Addr)) // joins through different nodes
		}
		nodes = append(nodes, startNodeProcess(t, bin, "chord", args...))
	}
	t.Logf("%d nodes joined in %v", n, time.Since(begin).Round(time.Millisecond))

	clients := make([]*overlay.Client, n)
	for i, x := range nodes {
		c, err := overlay.Dial(string(x.self.Addr))
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		clients[i] = c
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	keys := make([]id.ID, 40)
	for k := range keys {
		keys[k] = id.Hash(fmt.Appendf(nil, "key-%d", k))
	}
	// waitAgreed waits until every live node's lookup of every key names
	// the key's true successor among the live nodes.
	waitAgreed := func(phase string, live []int) {
		t.Helper()
		var ring []overlay.Peer
		for _, i := range live {
			ring = append(ring, nodes[i].self)
		}
		slices.SortFunc(ring, func(a, b overlay.Peer) int { return id.Compare(a.ID, b.ID) })
		trueSucc := func(k id.ID) overlay.Peer {
			for _, p := range ring {
				if id.Compare(p.ID, k) >= 0 {
					return p
				}
			}
			return ring[0]
		}
		for round := 1; ; round++ {
			var wrong []string
			for _, k := range keys {
				want := trueSucc(k)
				for _, i := range live {
					lctx, lcancel := context.WithTimeout(ctx, 3*time.Second)
					ps, err := clients[i].Responsible(lctx, k)
					lcancel()
					if err != nil || len(ps) == 0 || ps[0] != want {
						wrong = append(wrong, fmt.Sprintf("%s from node %d: %v %v, want %s", k.Short(8), i, ps, err, want.Addr))
					}
				}
			}
			if len(wrong) == 0 {
				t.Logf("%s: round %d: all %d keys agree on their true successor from all %d nodes", phase, round, len(keys), len(live))
				return
			}
			select {
			case <-ctx.Done():
				t.Fatalf("%s: %d lookups still wrong, e.g.:\n  %s", phase, len(wrong), strings.Join(wrong[:min(5, len(wrong))], "\n  "))
			case <-tick.C:
			}
		}
	}
	all := []int{0, 1, 2, 3, 4, 5, 6, 7}
	waitAgreed("converged", all)

	// The CLI prints the ring and a lookup.
	out, errOut, code := puddle(t, bin, "chord", "ring", "--node", string(nodes[3].self.Addr))
	if code != 0 || !strings.Contains(out, "successor 0") || !strings.Contains(out, "predecessor") || !strings.Contains(out, nodes[3].self.ID.String()) {
		t.Fatalf("chord ring: exit %d: %s%s", code, out, errOut)
	}
	out, errOut, code = puddle(t, bin, "chord", "lookup", "--node", string(nodes[5].self.Addr), "--string", "key-1")
	if code != 0 || !strings.Contains(out, "successor 0") {
		t.Fatalf("chord lookup: exit %d: %s%s", code, out, errOut)
	}
	out, errOut, code = puddle(t, bin, "chord", "status", "--node", string(nodes[5].self.Addr))
	if code != 0 || !strings.Contains(out, "joined") {
		t.Fatalf("chord status: exit %d: %s%s", code, out, errOut)
	}
	if _, _, code := puddle(t, bin, "chord", "lookup", "--node", string(nodes[5].self.Addr), "not-hex"); code != 2 {
		t.Fatalf("lookup of a malformed key: exit %d, want 2", code)
	}

	victim := 2
	dead := nodes[victim].self
	nodes[victim].kill()
	live := slices.DeleteFunc(slices.Clone(all), func(i int) bool { return i == victim })
	waitAgreed("after the kill", live)

	// The survivors' successor lists and predecessors drop the dead node.
	for _, i := range live {
		for {
			ring, err := clients[i].Ring(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if !ringNames(ring, dead.Addr) {
				break
			}
			select {
			case <-ctx.Done():
				t.Fatalf("node %d still lists the dead node: %+v", i, ring)
			case <-tick.C:
			}
		}
	}
}

// ringNames reports whether a node's predecessor or successor lists name
// addr.
func ringNames(ring []overlay.Position, addr transport.Addr) bool {
	for _, p := range ring {
		if p.Predecessor != nil && p.Predecessor.Addr == addr {
			return true
		}
		for _, s := range p.Successors {
			if s.Addr == addr {
				return true
			}
		}
	}
	return false
}
