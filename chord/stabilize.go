package chord

import (
	"fmt"
	"slices"

	"github.com/puddlestore/puddlestore/id"
)

// joinTries is how many times a join's lookup is sent before it fails.
const joinTries = 3

// isDead reports whether x is believed dead (or left).
func (n *Node) isDead(x id.ID) bool {
	_, ok := n.dead[x]
	return ok
}

// usable reports whether routing may send to x: not believed dead, and not
// suspect (a ping or request to it unanswered for a while).
func (n *Node) usable(x id.ID) bool {
	if n.isDead(x) {
		return false
	}
	t, ok := n.waiting[x]
	return !ok || n.now-t < uint64(n.suspectTicks())
}

func (n *Node) suspectTicks() int { return max(2, n.cfg.FailureTicks/5) }

// liveSuccs returns the successor list without the peers believed dead.
func (n *Node) liveSuccs() []Entry {
	out := make([]Entry, 0, len(n.succs))
	for _, e := range n.succs {
		if !n.isDead(e.ID) {
			out = append(out, e)
		}
	}
	return out
}

// firstLive returns the first successor not believed dead and its index.
func (n *Node) firstLive() (Entry, int, bool) {
	for i, e := range n.succs {
		if !n.isDead(e.ID) {
			return e, i, true
		}
	}
	return Entry{}, 0, false
}

// setSuccs makes list the successor list: without zero entries and peers
// believed dead, at most r long, ending where it reaches this node again
// (the ring is smaller than r: wrapped) or repeats an entry.
func (n *Node) setSuccs(list []Entry) {
	out := make([]Entry, 0, n.cfg.Successors)
	n.wrapped = false
	for _, e := range list {
		if e.ID == n.self.ID {
			n.wrapped = true
			break
		}
		if len(out) == n.cfg.Successors || slices.ContainsFunc(out, func(x Entry) bool { return x.ID == e.ID }) {
			break
		}
		if validEntry(e) && !n.isDead(e.ID) {
			out = append(out, e)
		}
	}
	n.succs = out
}

// advertised is the successor list as this node tells it to others: the
// live successors, then this node itself if the list wrapped around.
func (n *Node) advertised() []Entry { return n.succsFrom(0) }

// Stabilize runs one round of stabilize (§4.4, Figure 7): ask the
// successor for its predecessor and successor list. The driver need not
// call it: Tick does every StabilizeTicks.
func (n *Node) Stabilize() {
	if n.state != stateJoined {
		return
	}
	s, _, ok := n.firstLive()
	if !ok {
		// Alone: a node that notified this one is its successor too.
		if n.hasPred {
			n.setSuccs([]Entry{n.pred})
			n.send(n.pred, Message{Type: MsgNotify})
		}
		return
	}
	n.expect(s.ID)
	n.send(s, Message{Type: MsgGetPredecessor, Seq: n.newSeq()})
}

// stabilizeReply takes the successor's predecessor and successor list: a
// node between this one and the successor becomes the successor, and the
// successor list is the successor followed by its list (§5.3).
func (n *Node) stabilizeReply(m Message) {
	s, i, ok := n.firstLive()
	if !ok || s.ID != m.From.ID || n.state != stateJoined {
		return // not the successor (any more)
	}
	x := m.Pred
	if validEntry(x) && x.ID != n.self.ID && id.Between(n.self.ID, x.ID, s.ID) && !n.isDead(x.ID) {
		n.setSuccs(append([]Entry{x, s}, append(slices.Clone(m.Succs), n.succs[i+1:]...)...))
		n.send(x, Message{Type: MsgNotify})
		return
	}
	n.setSuccs(append([]Entry{s}, m.Succs...))
	if x.ID != n.self.ID {
		n.send(s, Message{Type: MsgNotify})
	}
}

// notify: p thinks it might be this node's predecessor (Figure 7).
func (n *Node) notify(p Entry) {
	if n.state != stateJoined {
		return
	}
	if !n.hasPred || n.isDead(n.pred.ID) || id.Between(n.pred.ID, p.ID, n.self.ID) {
		n.pred, n.hasPred = p, true
	}
	if len(n.succs) == 0 {
		// A ring of one gains its second node.
		n.setSuccs([]Entry{p})
	}
}

// CheckPeers pings the predecessor (check_predecessor, Figure 7), the
// successor list and the distinct fingers: a peer that does not answer
// within FailureTicks is declared dead, and routing avoids it. The driver
// need not call it: Tick does every CheckPredTicks.
func (n *Node) CheckPeers() {
	if n.state != stateJoined {
		return
	}
	var to []Entry
	add := func(e Entry) {
		if validEntry(e) && e.ID != n.self.ID && !n.isDead(e.ID) &&
			!slices.ContainsFunc(to, func(x Entry) bool { return x.ID == e.ID }) {
			to = append(to, e)
		}
	}
	if n.hasPred {
		add(n.pred)
	}
	for _, e := range n.succs {
		add(e)
	}
	for _, e := range n.fingers {
		add(e)
	}
	for _, e := range to {
		n.expect(e.ID)
		n.send(e, Message{Type: MsgPing, Seq: n.newSeq()})
	}
}

// detectFailures declares dead the peers silent for FailureTicks since a
// ping or request was sent to them, and forgets old deaths (a node
// wrongly declared dead is heard again, or named by others again, after
// that).
func (n *Node) detectFailures() {
	for _, x := range sortedIDs(n.waiting) {
		if n.now-n.waiting[x] >= uint64(n.cfg.FailureTicks) {
			n.declareDead(x)
		}
	}
	for _, x := range sortedIDs(n.dead) {
		if n.now-n.dead[x] > 4*uint64(n.cfg.FailureTicks) {
			delete(n.dead, x)
		}
	}
}

// declareDead removes x from the successor list, the predecessor and the
// fingers (§5.3): the next live successor takes over, and is stabilized
// with at once.
func (n *Node) declareDead(x id.ID) {
	n.stats.Failures++
	delete(n.waiting, x)
	n.dead[x] = n.now
	n.forget(x)
}

// forget removes x from the node's routing state.
func (n *Node) forget(x id.ID) {
	wasSucc := len(n.succs) > 0 && n.succs[0].ID == x
	n.succs = slices.DeleteFunc(n.succs, func(e Entry) bool { return e.ID == x })
	if n.hasPred && n.pred.ID == x {
		n.pred, n.hasPred = Entry{}, false
	}
	for i := range n.fingers {
		if n.fingers[i].ID == x {
			n.fingers[i] = Entry{}
		}
	}
	delete(n.rtt, x)
	if len(n.succs) == 0 {
		// The whole successor list failed: fall back on the nearest live
		// finger, then the predecessor; with none, the node is alone.
		var best Entry
		for _, f := range n.fingers {
			if validEntry(f) && f.ID != n.self.ID && !n.isDead(f.ID) && (best.ID == (id.ID{}) || closer(n.self.ID, f.ID, best.ID)) {
				best = f
			}
		}
		if best.ID == (id.ID{}) && n.hasPred {
			best = n.pred
		}
		if best.ID != (id.ID{}) {
			n.setSuccs([]Entry{best})
		}
	}
	if wasSucc && n.state == stateJoined {
		n.Stabilize()
	}
}

// FixFinger refreshes the next finger (fix_fingers, Figure 7): the
// fingers whose start lies before the successor are the successor; the
// next one is looked up, and its answer also fills the fingers after it
// that start before the node found. One finger lookup is out at a time.
// The driver need not call it: Tick does every FixFingerTicks.
func (n *Node) FixFinger() {
	if n.state != stateJoined || n.fingerSeq != 0 {
		return
	}
	s, _, ok := n.firstLive()
	if !ok {
		return
	}
	i := n.nextFinger
	for i < id.Bits && id.BetweenRightIncl(n.self.ID, FingerTarget(n.self.ID, i), s.ID) {
		n.fingers[i] = s
		i++
	}
	if i == id.Bits {
		n.nextFinger = 0
		return
	}
	seq := n.newSeq()
	target := FingerTarget(n.self.ID, i)
	n.reqs[seq] = &request{kind: reqFinger, key: target, finger: i, deadline: n.now + uint64(n.cfg.RequestTicks)}
	n.fingerSeq, n.nextFinger = seq, i
	n.startLookup(seq, target, false)
}

func (n *Node) fingerFound(seq uint64, i int, succs []Entry) {
	if n.fingerSeq == seq {
		n.fingerSeq = 0
	}
	f := succs[0]
	start := FingerTarget(n.self.ID, i)
	n.fingers[i] = f
	j := i + 1
	// Finger j is f too while its start lies in [start, f].
	reach := id.Distance(start, f.ID)
	for j < id.Bits && id.Compare(id.Distance(start, FingerTarget(n.self.ID, j)), reach) <= 0 {
		n.fingers[j] = f
		j++
	}
	n.nextFinger = j % id.Bits
}

// Join joins the ring that via belongs to (§4.4): a lookup of this node's
// own id through via finds its successor; stabilize does the rest. A
// ResultJoined with req follows once the successor is known, or
// ErrTimeout after three unanswered tries. via's ID may be zero when only
// its address is known.
func (n *Node) Join(req uint64, via Entry) {
	if n.state != stateIdle {
		n.result(Result{Kind: ResultJoined, Req: req, Key: n.self.ID,
			Err: fmt.Errorf("chord: join: node is %s", stateNames[n.state])})
		return
	}
	n.state = stateJoining
	seq := n.newSeq()
	n.reqs[seq] = &request{kind: reqJoin, req: req, key: n.self.ID, via: via, tries: 1,
		deadline: n.now + uint64(n.cfg.RequestTicks)}
	n.sendJoin(seq, via)
}

func (n *Node) sendJoin(seq uint64, via Entry) {
	n.send(via, Message{Type: MsgFindSuccessor, Seq: seq, Origin: n.self, Key: n.self.ID, Path: []Entry{n.self}})
}

// joined takes the join's answer: the successor list.
func (n *Node) joined(r *request, succs []Entry) {
	n.setSuccs(succs)
	if len(n.succs) == 0 {
		// Only this node's own id came back (a stale ring): try again.
		n.reqs[n.newSeq()] = r
		return
	}
	n.state = stateJoined
	n.nextFinger = 0
	n.result(Result{Kind: ResultJoined, Req: r.req, Key: n.self.ID, Successors: n.Successors()})
	n.Stabilize()
}

// Leave leaves the ring gracefully (§4.4's voluntary departure): the
// predecessor is given this node's successor list and the successor its
// predecessor, and each links to the other at once. Lookups in flight
// fail with ErrLeft; from now on the node refuses every message.
func (n *Node) Leave() {
	if n.state == stateLeft {
		return
	}
	if n.state == stateJoined {
		succs := n.liveSuccs()
		if n.hasPred && n.pred.ID != n.self.ID {
			n.send(n.pred, Message{Type: MsgLeave, Succs: succs})
		}
		if len(succs) > 0 {
			m := Message{Type: MsgLeave}
			if n.hasPred {
				m.Pred = n.pred
			}
			n.send(succs[0], m)
		}
	}
	for _, seq := range sortedKeys(n.reqs) {
		r := n.reqs[seq]
		switch r.kind {
		case reqLookup:
			n.result(Result{Kind: ResultLookup, Req: r.req, Key: r.key, Err: ErrLeft})
		case reqJoin:
			n.result(Result{Kind: ResultJoined, Req: r.req, Key: n.self.ID, Err: ErrLeft})
		}
		delete(n.reqs, seq)
	}
	n.state = stateLeft
}

// peerLeft handles a neighbour's MsgLeave: the leaver is forgotten (and
// not taken back from stale lists), its successor list replaces it as
// successor, its predecessor replaces it as predecessor.
func (n *Node) peerLeft(m Message) {
	l := m.From
	wasSucc := len(n.succs) > 0 && n.succs[0].ID == l.ID
	wasPred := n.hasPred && n.pred.ID == l.ID
	delete(n.waiting, l.ID)
	n.dead[l.ID] = n.now
	if wasSucc {
		rest := slices.DeleteFunc(slices.Clone(n.succs), func(e Entry) bool { return e.ID == l.ID })
		n.setSuccs(append(slices.Clone(m.Succs), rest...))
	}
	if wasPred {
		n.pred, n.hasPred = Entry{}, false
		if p := m.Pred; validEntry(p) && p.ID != n.self.ID && !n.isDead(p.ID) {
			n.pred, n.hasPred = p, true
		}
	}
	n.forget(l.ID)
	if wasSucc && len(n.succs) > 0 && n.state == stateJoined {
		// Tell the new successor at once (its predecessor, the leaver,
		// told it of this node too; a notify is cheap and covers a lost
		// message).
		n.send(n.succs[0], Message{Type: MsgNotify})
	}
}
