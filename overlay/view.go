package overlay

import (
	"context"
	"time"

	"github.com/puddlestore/puddlestore/id"
	"github.com/puddlestore/puddlestore/tapestry"
)

// Neighbour is a routing-table entry: a peer and the smoothed round-trip
// time measured to it (0: not measured yet).
type Neighbour struct {
	Peer
	RTT time.Duration
}

// Slot is one non-empty slot of a routing table: the neighbours that share
// Level digits with the node and have Digit next, nearest first.
type Slot struct {
	Level, Digit int
	Neighbours   []Neighbour
}

// RoutingTable is a copy of a Tapestry node's routing table.
type RoutingTable struct {
	Self         Peer
	Slots        []Slot // by level, then digit
	Backpointers int    // nodes that hold this one in their tables
}

// TapestryStatus summarizes a Tapestry node.
type TapestryStatus struct {
	Self                               Peer
	State                              string // idle, joining, joined, left
	Tick                               uint64
	Neighbours, Backpointers           int
	Pointers, Published                int // object pointers held; objects this node publishes
	Sent, SentBytes, Failures, Repairs uint64
	Dropped                            uint64 // incoming messages dropped (malformed, or the node behind)
}

// notMeasured is the core's stand-in RTT for a neighbour not measured yet
// (it sorts last); anything this large is reported as 0.
const notMeasured = time.Hour

// Table returns a copy of the routing table, safe to keep; the zero value
// once the node is closed.
func (t *Tapestry) Table() RoutingTable {
	var out RoutingTable
	t.inspect(func(n *tapestry.Node) {
		tb := n.Table()
		out.Self = t.self
		out.Backpointers = n.Backpointers().Len()
		for l := 0; l <= tb.Deepest(); l++ {
			for d := range id.Base {
				es := tb.Slot(l, d)
				if len(es) == 0 {
					continue
				}
				s := Slot{Level: l, Digit: d, Neighbours: make([]Neighbour, len(es))}
				for i, e := range es {
					s.Neighbours[i] = Neighbour{Peer: Peer{ID: e.ID, Addr: e.Addr}, RTT: e.RTT}
					if e.RTT >= notMeasured {
						s.Neighbours[i].RTT = 0
					}
				}
				out.Slots = append(out.Slots, s)
			}
		}
	})
	return out
}

// Status returns a summary of the node; State "left" once it is closed.
func (t *Tapestry) Status() TapestryStatus {
	out := TapestryStatus{Self: t.self, State: "left"}
	t.inspect(func(n *tapestry.Node) {
		st, stats := n.Status(), n.Stats()
		out.State, out.Tick = st.State, st.Tick
		out.Neighbours, out.Backpointers, out.Pointers, out.Published = st.Neighbours, st.Backpointers, st.Pointers, st.Published
		out.Sent, out.SentBytes, out.Failures, out.Repairs = stats.Sent, stats.SentBytes, stats.Failures, stats.Repairs
	})
	out.Dropped = t.dropped.Load()
	return out
}

// Neighbours returns the nodes in this node's routing table, by level and
// digit, nearest first within a slot.
func (t *Tapestry) Neighbours(ctx context.Context) ([]Peer, error) {
	var out []Peer
	_, err := t.do(ctx, "neighbours", func(n *tapestry.Node, _ uint64) (bool, error) {
		for _, e := range n.Table().All() {
			out = append(out, Peer{ID: e.ID, Addr: e.Addr})
		}
		return false, nil
	})
	return out, err
}
