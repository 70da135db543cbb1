package main

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"time"

	"github.com/puddlestore/puddlestore/chord"
	"github.com/puddlestore/puddlestore/chord/chordtest"
	"github.com/puddlestore/puddlestore/id"
)

// Building a Chord ring. Nodes join one after another through the protocol,
// with the mesh's timers stopped (Quiesce, no Tick), as Tapestry's static
// nodes do, so that 10,000 joins cost messages and nothing else:
//
//  1. the joiner looks its own id up through a random member (§4.4 join);
//  2. it runs stabilize once (it notifies its successor), and so does its
//     predecessor, which adopts it: the two stabilize rounds that would
//     integrate it with timers running;
//  3. it runs fix_fingers until its finger table has been filled once.
//
// The messages of all three are the join's cost. Once everyone has joined,
// every node runs stabilize ringStabilizeRounds times (successor lists
// reach their full length) and fix_fingers once round (fingers set before
// later nodes joined are refreshed): the converged ring the paper
// measures. Nodes tick only afterwards, in the failure and churn runs.

// ringStabilizeRounds bounds the rounds of stabilize after the joins.
const ringStabilizeRounds = 20

// ring is a built Chord ring and the oracle over it.
type ring struct {
	m       *chordtest.Mesh
	xs      []*chordtest.Member // joined members, in order of joining
	ids     []id.ID             // live joined ids, sorted (the oracle)
	hosts   []*chordtest.Host   // hosts, in order of creation
	req     uint64
	joinMsg []float64 // messages per join
	joinB   []float64 // bytes per join
}

func newRing(m *chordtest.Mesh) *ring { return &ring{m: m} }

func (g *ring) nextReq() uint64 {
	g.req++
	return g.req
}

// quiesce runs the mesh quiet, or fails.
func (g *ring) quiesce() error {
	if !g.m.Quiesce(quiesceLimit) {
		return fmt.Errorf("chord: mesh not quiet after %d messages", quiesceLimit)
	}
	return nil
}

// addHosts adds n hosts, each member joining through a random member that
// joined before (another host's, as in chordtest.Mesh.AddHost).
func (g *ring) addHosts(rng *rand.Rand, n int) error {
	for range n {
		h := g.m.NewHost()
		g.hosts = append(g.hosts, h)
		for _, x := range h.Members {
			if err := g.join(rng, x); err != nil {
				return err
			}
		}
	}
	return nil
}

func (g *ring) join(rng *rand.Rand, x *chordtest.Member) error {
	if len(g.xs) == 0 {
		if err := x.Bootstrap(); err != nil {
			return err
		}
		g.admit(x)
		return nil
	}
	gw := g.xs[rng.IntN(len(g.xs))]
	for gw.Host == x.Host && len(g.xs) > len(x.Host.Members) {
		gw = g.xs[rng.IntN(len(g.xs))]
	}
	msgs, bytes := g.m.Messages, g.m.Bytes
	req := g.nextReq()
	g.m.Do(x, func(n *chord.Node) { n.Join(req, gw.Self()) })
	if err := g.quiesce(); err != nil {
		return err
	}
	res, ok := x.Take(chord.ResultJoined, req)
	if !ok || res.Err != nil {
		return fmt.Errorf("chord: member %d did not join through %d: %v", x.Index, gw.Index, res.Err)
	}
	pred := g.pred(x.Self().ID)
	g.m.Do(x, func(n *chord.Node) { n.Stabilize() })
	if err := g.quiesce(); err != nil {
		return err
	}
	g.m.Do(pred, func(n *chord.Node) { n.Stabilize() })
	if err := g.quiesce(); err != nil {
		return err
	}
	if err := g.fillFingers(x); err != nil {
		return err
	}
	g.joinMsg = append(g.joinMsg, float64(g.m.Messages-msgs))
	g.joinB = append(g.joinB, float64(g.m.Bytes-bytes))
	g.admit(x)
	return nil
}

// admit adds x to the oracle.
func (g *ring) admit(x *chordtest.Member) {
	g.xs = append(g.xs, x)
	i, _ := slices.BinarySearchFunc(g.ids, x.Self().ID, id.Compare)
	g.ids = slices.Insert(g.ids, i, x.Self().ID)
}

// pred returns the joined member that precedes key on the ring.
func (g *ring) pred(key id.ID) *chordtest.Member {
	i, _ := slices.BinarySearchFunc(g.ids, key, id.Compare)
	return g.m.Member(g.ids[(i+len(g.ids)-1)%len(g.ids)])
}

// successor returns the live member at or after key: what a lookup of key
// must find.
func (g *ring) successor(key id.ID) *chordtest.Member {
	i, _ := slices.BinarySearchFunc(g.ids, key, id.Compare)
	return g.m.Member(g.ids[i%len(g.ids)])
}

// fillFingers runs x's fix_fingers until its last finger (the successor of
// x + 2^159) is set: one pass over the table, as a new node makes.
func (g *ring) fillFingers(x *chordtest.Member) error {
	for range id.Bits {
		if fs := x.Fingers(); fs[id.Bits-1].ID != (id.ID{}) {
			return nil
		}
		msgs := g.m.Messages
		g.m.Do(x, func(n *chord.Node) { n.FixFinger() })
		if err := g.quiesce(); err != nil {
			return err
		}
		if g.m.Messages == msgs {
			return nil // the successor covers the rest
		}
	}
	return nil
}

// converge runs stabilize on every node until the successor lists are
// full and right, then one fix_fingers pass on every node.
func (g *ring) converge() error {
	for round := 0; ; round++ {
		if g.m.ConsistentLists() == nil {
			break
		}
		if round == ringStabilizeRounds {
			return fmt.Errorf("chord: ring not consistent after %d rounds of stabilize: %w",
				round, g.m.ConsistentLists())
		}
		for _, x := range g.xs {
			g.m.Do(x, func(n *chord.Node) { n.Stabilize() })
		}
		if err := g.quiesce(); err != nil {
			return err
		}
	}
	for _, x := range g.xs {
		if err := g.refreshFingers(x); err != nil {
			return err
		}
	}
	return nil
}

// refreshFingers runs one pass of x's fix_fingers over the whole table:
// finger lookups go out for rising indexes until the index wraps around
// (the lookup that shows it, the next pass's first, is let finish).
func (g *ring) refreshFingers(x *chordtest.Member) error {
	self := x.Self().ID
	var key id.ID
	sent := false
	g.m.Trace = func(from, _ *chordtest.Member, msg *chord.Message, _ time.Duration) {
		if from == x && msg.Type == chord.MsgFindSuccessor && len(msg.Path) == 1 && msg.Origin.ID == self {
			key, sent = msg.Key, true
		}
	}
	defer func() { g.m.Trace = nil }()
	last := -1
	for range id.Bits {
		sent = false
		g.m.Do(x, func(n *chord.Node) { n.FixFinger() })
		if err := g.quiesce(); err != nil {
			return err
		}
		if !sent {
			return nil // the pass ended on fingers the successor covers
		}
		i := fingerIndex(self, key)
		if i <= last {
			return nil
		}
		last = i
	}
	return nil
}

// fingerIndex returns i such that key is x + 2^i, or -1.
func fingerIndex(x, key id.ID) int {
	d := id.Distance(x, key)
	for i := range id.Bits {
		if d == id.Pow2(i) {
			return i
		}
	}
	return -1
}
