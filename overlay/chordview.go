package overlay

import (
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/puddlestore/puddlestore/chord"
	pb "github.com/puddlestore/puddlestore/overlay/overlaypb"
)

// Finger is finger Index of a ring position: the successor of the
// position's id plus 2^Index.
type Finger struct {
	Index int
	Peer
}

// Position is a copy of one ring position's state.
type Position struct {
	Self        Peer
	Predecessor *Peer  // nil when unknown
	Successors  []Peer // nearest first
	// Fingers, runs of equal fingers given once at their first index;
	// unknown fingers left out.
	Fingers []Finger
	Joined  bool
}

// Ring returns a copy of every ring position's state, safe to keep; nil
// once the node is closed.
func (c *Chord) Ring() []Position {
	var out []Position
	for _, v := range c.vnodes {
		ok := v.inspect(func() {
			n := v.node
			p := Position{Self: entryPeer(n.Self()), Joined: n.Joined()}
			if e, ok := n.Predecessor(); ok {
				pp := entryPeer(e)
				p.Predecessor = &pp
			}
			for _, e := range n.Successors() {
				p.Successors = append(p.Successors, entryPeer(e))
			}
			var last chord.Entry
			for i, f := range n.Fingers() {
				if f.Addr == "" || f == last {
					continue
				}
				last = f
				p.Fingers = append(p.Fingers, Finger{Index: i, Peer: entryPeer(f)})
			}
			out = append(out, p)
		})
		if !ok {
			return nil
		}
	}
	return out
}

func entryPeer(e chord.Entry) Peer { return Peer{ID: e.ID, Addr: e.Addr} }

func (c *Chord) adminStatus() *pb.StatusReply {
	state := "left"
	ring := c.Ring()
	if len(ring) > 0 {
		state = "joined"
		for _, p := range ring {
			if !p.Joined {
				state = "joining"
			}
		}
	}
	var neighbours int
	for _, p := range ring {
		neighbours += len(p.Successors) + len(p.Fingers)
	}
	return &pb.StatusReply{Self: pbPeer(c.self, 0), State: state, Overlay: "chord",
		Positions: uint32(len(c.vnodes)), Neighbours: uint64(neighbours), Dropped: c.dropped.Load()}
}

func (c *Chord) adminTable() (*pb.TableReply, error) {
	return nil, status.Error(codes.Unimplemented, "overlay: a chord node has no routing table (see its ring)")
}

func (c *Chord) adminRing() (*pb.RingReply, error) {
	out := &pb.RingReply{}
	for _, p := range c.Ring() {
		pp := &pb.Position{Self: pbPeer(p.Self, 0), Joined: p.Joined}
		if p.Predecessor != nil {
			pp.Predecessor = pbPeer(*p.Predecessor, 0)
		}
		for _, s := range p.Successors {
			pp.Successors = append(pp.Successors, pbPeer(s, 0))
		}
		for _, f := range p.Fingers {
			pp.Fingers = append(pp.Fingers, &pb.Finger{Index: uint32(f.Index), Peer: pbPeer(f.Peer, 0)})
		}
		out.Positions = append(out.Positions, pp)
	}
	return out, nil
}
