package overlay

import (
	"context"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	pb "github.com/puddlestore/puddlestore/overlay/overlaypb"

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

// NodeStatus summarizes an overlay node. A Chord node fills Self, State,
// Overlay, Positions, Neighbours (successors and distinct fingers over its
// positions) and Dropped.
type NodeStatus struct {
	Self                               Peer
	Overlay                            string // tapestry or chord
	Positions                          int    // Chord: ring positions (virtual nodes)
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
func (t *Tapestry) Status() NodeStatus {
	out := NodeStatus{Self: t.self, Overlay: "tapestry", State: "left"}
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

func (t *Tapestry) adminStatus() *pb.StatusReply {
	st := t.Status()
	return &pb.StatusReply{
		Self: pbPeer(st.Self, 0), State: st.State, Tick: st.Tick, Overlay: "tapestry",
		Neighbours: uint64(st.Neighbours), Backpointers: uint64(st.Backpointers),
		Pointers: uint64(st.Pointers), Published: uint64(st.Published),
		Sent: st.Sent, SentBytes: st.SentBytes, Failures: st.Failures, Repairs: st.Repairs, Dropped: st.Dropped,
	}
}

func (t *Tapestry) adminTable() (*pb.TableReply, error) {
	tb := t.Table()
	out := &pb.TableReply{Self: pbPeer(tb.Self, 0), Backpointers: uint64(tb.Backpointers)}
	for _, sl := range tb.Slots {
		ps := &pb.Slot{Level: uint32(sl.Level), Digit: uint32(sl.Digit)}
		for _, n := range sl.Neighbours {
			ps.Entries = append(ps.Entries, pbPeer(n.Peer, n.RTT))
		}
		out.Slots = append(out.Slots, ps)
	}
	return out, nil
}

func (t *Tapestry) adminRing() (*pb.RingReply, error) {
	return nil, status.Error(codes.Unimplemented, "overlay: a tapestry node has no ring (see its table)")
}
