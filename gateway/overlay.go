package gateway

import (
	"context"
	"net/http"
	"sync"
	"time"

	"github.com/puddlestore/puddlestore/overlay"
)

// overlayJSON is the overlay route's reply: each storage node's view of
// the overlay, as its admin service reports it.
type overlayJSON struct {
	Kind  string            `json:"kind"` // tapestry or chord; "" if no node answered
	Nodes []overlayNodeJSON `json:"nodes"`
}

type overlayNodeJSON struct {
	Addr  string `json:"addr"`
	ID    string `json:"id,omitempty"`
	Kind  string `json:"kind,omitempty"`
	State string `json:"state,omitempty"` // idle, joining, joined, left
	// Neighbours are the distinct nodes this one routes to: a Tapestry
	// node's routing-table entries, a Chord node's predecessor,
	// successors and fingers.
	Neighbours []neighbourJSON `json:"neighbours"`
	Ring       *ringJSON       `json:"ring,omitempty"`      // Chord: the node's first ring position
	Positions  []ringJSON      `json:"positions,omitempty"` // Chord: every ring position, when it has several
	Table      []tableSlotJSON `json:"table,omitempty"`     // Tapestry
	Error      string          `json:"error,omitempty"`
	peers      map[string]bool // the neighbours addresses, while building
}

type peerJSON struct {
	Addr string `json:"addr"`
	ID   string `json:"id"`
}

func newPeerJSON(p overlay.Peer) peerJSON { return peerJSON{Addr: string(p.Addr), ID: p.ID.String()} }

type neighbourJSON struct {
	Addr string `json:"addr"`
	ID   string `json:"id"`
	// RTTMillis is the measured round trip; 0 when not measured (Chord
	// reports none).
	RTTMillis float64 `json:"rtt_ms"`
}

type fingerJSON struct {
	Index int    `json:"index"`
	Addr  string `json:"addr"`
	ID    string `json:"id"`
}

type ringJSON struct {
	Self        peerJSON     `json:"self"`
	Joined      bool         `json:"joined"`
	Predecessor *peerJSON    `json:"predecessor"`
	Successors  []peerJSON   `json:"successors"`
	Fingers     []fingerJSON `json:"fingers"`
}

type tableSlotJSON struct {
	Level   int             `json:"level"`
	Digit   int             `json:"digit"`
	Entries []neighbourJSON `json:"entries"`
}

// addNeighbour adds p to the node's distinct neighbours.
func (n *overlayNodeJSON) addNeighbour(p overlay.Peer, rtt time.Duration) {
	if p.ID.String() == n.ID {
		return
	}
	if n.peers == nil {
		n.peers = map[string]bool{}
	}
	a := string(p.Addr)
	if n.peers[a] {
		return
	}
	n.peers[a] = true
	n.Neighbours = append(n.Neighbours, neighbourJSON{Addr: a, ID: p.ID.String(), RTTMillis: millis(rtt)})
}

func millis(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// overlay asks every storage node for its overlay state, concurrently,
// each bounded by the node timeout; a node that does not answer gets an
// error of its own.
func (g *Gateway) overlay(w http.ResponseWriter, r *http.Request) {
	addrs, err := g.storageAddrs(r.Context())
	if err != nil {
		g.fail(w, r, err)
		return
	}
	out := overlayJSON{Nodes: make([]overlayNodeJSON, len(addrs))}
	var wg sync.WaitGroup
	for i, a := range addrs {
		wg.Go(func() { out.Nodes[i] = g.overlayNode(r.Context(), a) })
	}
	wg.Wait()
	for _, n := range out.Nodes {
		if n.Kind != "" {
			out.Kind = n.Kind
			break
		}
	}
	writeJSON(w, http.StatusOK, out)
}

func (g *Gateway) overlayNode(ctx context.Context, addr string) overlayNodeJSON {
	out := overlayNodeJSON{Addr: addr, Neighbours: []neighbourJSON{}}
	ctx, cancel := context.WithTimeout(ctx, g.cfg.NodeTimeout)
	defer cancel()
	oc, err := overlay.Dial(addr)
	if err != nil {
		out.Error = err.Error()
		return out
	}
	defer oc.Close()
	st, err := oc.Status(ctx)
	if err != nil {
		out.Error = err.Error()
		return out
	}
	out.ID, out.Kind, out.State = st.Self.ID.String(), st.Overlay, st.State
	switch st.Overlay {
	case "chord":
		ps, err := oc.Ring(ctx)
		if err != nil {
			out.Error = err.Error()
			return out
		}
		for _, p := range ps {
			rj := ringJSON{Self: newPeerJSON(p.Self), Joined: p.Joined, Successors: []peerJSON{}, Fingers: []fingerJSON{}}
			if p.Predecessor != nil {
				pj := newPeerJSON(*p.Predecessor)
				rj.Predecessor = &pj
				out.addNeighbour(*p.Predecessor, 0)
			}
			for _, s := range p.Successors {
				rj.Successors = append(rj.Successors, newPeerJSON(s))
				out.addNeighbour(s, 0)
			}
			for _, f := range p.Fingers {
				rj.Fingers = append(rj.Fingers, fingerJSON{Index: f.Index, Addr: string(f.Addr), ID: f.ID.String()})
				out.addNeighbour(f.Peer, 0)
			}
			out.Positions = append(out.Positions, rj)
		}
		if len(out.Positions) > 0 {
			out.Ring = &out.Positions[0]
		}
		if len(out.Positions) < 2 {
			out.Positions = nil
		}
	default: // tapestry
		t, err := oc.Table(ctx)
		if err != nil {
			out.Error = err.Error()
			return out
		}
		out.Table = make([]tableSlotJSON, 0, len(t.Slots))
		for _, s := range t.Slots {
			sj := tableSlotJSON{Level: s.Level, Digit: s.Digit, Entries: make([]neighbourJSON, len(s.Neighbours))}
			for i, n := range s.Neighbours {
				sj.Entries[i] = neighbourJSON{Addr: string(n.Addr), ID: n.ID.String(), RTTMillis: millis(n.RTT)}
				out.addNeighbour(n.Peer, n.RTT)
			}
			out.Table = append(out.Table, sj)
		}
	}
	out.peers = nil
	return out
}
