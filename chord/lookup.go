package chord

import (
	"slices"
	"time"

	"github.com/puddlestore/puddlestore/id"
)

type reqKind uint8

const (
	reqLookup reqKind = iota + 1 // a caller's Lookup
	reqJoin                      // the join's lookup of the node's own id
	reqFinger                    // fix_fingers: no Result
)

// request is a lookup this node started and waits for.
type request struct {
	kind     reqKind
	req      uint64 // the caller's number
	key      id.ID
	finger   int   // reqFinger: which finger
	via      Entry // reqJoin: the known node
	tries    int
	deadline uint64
}

// Lookup finds the first r successors of key (§4.3, recursively): the
// lookup goes hop by hop, each node passing it to the closest live node
// it knows that precedes the key, until it reaches a node whose successor
// is the key's; that node answers this one directly. A ResultLookup with
// req follows. With no answer within RequestTicks the lookup is sent
// again, once, through the successor list rather than the fingers; then
// the result is ErrTimeout.
func (n *Node) Lookup(req uint64, key id.ID) {
	switch n.state {
	case stateLeft:
		n.result(Result{Kind: ResultLookup, Req: req, Key: key, Err: ErrLeft})
		return
	case stateIdle, stateJoining:
		n.result(Result{Kind: ResultLookup, Req: req, Key: key, Err: ErrNotJoined})
		return
	}
	seq := n.newSeq()
	n.reqs[seq] = &request{kind: reqLookup, req: req, key: key, tries: 1,
		deadline: n.now + uint64(n.cfg.RequestTicks)}
	n.startLookup(seq, key, false)
}

func (n *Node) startLookup(seq uint64, key id.ID, succOnly bool) {
	n.route(Message{Type: MsgFindSuccessor, From: n.self, Seq: seq, Origin: n.self, Key: key}, succOnly)
}

// route handles a lookup at this node: answer it if this node's successor
// is the key's, else pass it on (find_successor, Figure 5). succOnly
// restricts the next hop to the successor list (a retry).
func (n *Node) route(m Message, succOnly bool) {
	m.Path = append(slices.Clip(m.Path), n.self)
	m.Hops = len(m.Path) - 1
	if len(n.succs) == 0 || n.Responsible(m.Key) {
		// Alone, or the key's successor is this node itself.
		n.answer(m, append([]Entry{n.self}, n.liveSuccs()...))
		return
	}
	if s, i, ok := n.firstLive(); ok && id.BetweenRightIncl(n.self.ID, m.Key, s.ID) {
		n.answer(m, n.succsFrom(i))
		return
	}
	next, ok := n.closestPreceding(m.Key, succOnly)
	if !ok {
		// Every peer before the key is suspect (silent, not yet declared
		// dead), so there is no one to forward to; but the successor
		// list still says which of its entries follow the key. Without
		// this the lookup was dropped here until the suspect was declared
		// dead, and so was the origin's retry (found by sim: a quarter of
		// the lookups issued right after 25% of the nodes crashed).
		if i, ok := n.succIndexFor(m.Key); ok {
			n.answer(m, n.succsFrom(i))
			return
		}
	}
	if !ok || len(m.Path) > MaxHops {
		n.stats.Dropped++
		return
	}
	n.stats.Forwarded++
	n.send(next, Message{Type: MsgFindSuccessor, Seq: m.Seq, Origin: m.Origin, Key: m.Key, Hops: m.Hops, Path: m.Path})
}

// succIndexFor returns the index of the first entry of the successor list
// at or after key (the list is the ring right after this node, in order);
// false if key lies beyond the whole list.
func (n *Node) succIndexFor(key id.ID) (int, bool) {
	prev := n.self.ID
	for i, e := range n.succs {
		if id.BetweenRightIncl(prev, key, e.ID) {
			return i, true
		}
		prev = e.ID
	}
	return 0, false
}

// succsFrom returns the live successor list from entry i on, and this node
// after it when the list is short because the ring is small (the list
// then ends where it would wrap around to this node). The result has at
// most r entries.
func (n *Node) succsFrom(i int) []Entry {
	out := make([]Entry, 0, len(n.succs)-i+1)
	for _, e := range n.succs[i:] {
		if !n.isDead(e.ID) {
			out = append(out, e)
		}
	}
	if n.wrapped {
		out = append(out, n.self)
	}
	return out[:min(len(out), n.cfg.Successors)]
}

// answer sends the key's successors to the lookup's origin.
func (n *Node) answer(m Message, succs []Entry) {
	n.stats.Answered++
	succs = succs[:min(len(succs), n.cfg.Successors)]
	rep := Message{Type: MsgFoundSuccessor, From: n.self, Seq: m.Seq, Origin: m.Origin, Key: m.Key,
		Hops: m.Hops, Succs: succs, Path: m.Path}
	if m.Origin.ID == n.self.ID {
		n.found(rep)
		return
	}
	n.send(m.Origin, rep)
}

// closestPreceding returns the live finger or successor that lies
// closest before key, going clockwise from this node
// (closest_preceding_node, Figure 5, extended to the successor list as in
// §5.3). With Config.Proximity, a candidate that leaves at most twice the
// best one's remaining distance and is nearer in round-trip time is taken
// instead: it costs at most about one more hop and saves latency.
func (n *Node) closestPreceding(key id.ID, succOnly bool) (Entry, bool) {
	var best Entry
	found := false
	consider := func(e Entry) {
		if e.ID == (id.ID{}) || e.ID == n.self.ID || !id.Between(n.self.ID, e.ID, key) || !n.usable(e.ID) {
			return
		}
		if !found || closer(e.ID, key, best.ID) {
			best, found = e, true
		}
	}
	for _, e := range n.succs {
		consider(e)
	}
	if !succOnly {
		for _, e := range n.fingers {
			consider(e)
		}
	}
	if !found || !n.cfg.Proximity {
		return best, found
	}
	bestRem := id.Distance(best.ID, key)
	bestRTT := n.rttOr(best.ID)
	pick := func(e Entry) {
		if e.ID == (id.ID{}) || e.ID == n.self.ID || !id.Between(n.self.ID, e.ID, key) || !n.usable(e.ID) {
			return
		}
		if r := n.rttOr(e.ID); r < bestRTT && withinTwice(id.Distance(e.ID, key), bestRem) {
			best, bestRTT = e, r
		}
	}
	for _, e := range n.succs {
		pick(e)
	}
	if !succOnly {
		for _, e := range n.fingers {
			pick(e)
		}
	}
	return best, true
}

// rttOr returns the measured round-trip time to x, or an hour when there is
// none (it sorts last).
func (n *Node) rttOr(x id.ID) time.Duration {
	if d, ok := n.rtt[x]; ok {
		return d
	}
	return time.Hour
}

// found takes a lookup's answer.
func (n *Node) found(m Message) {
	r, ok := n.reqs[m.Seq]
	if !ok || r.key != m.Key {
		return // late (a retry answered first) or not ours
	}
	delete(n.reqs, m.Seq)
	switch r.kind {
	case reqLookup:
		n.result(Result{Kind: ResultLookup, Req: r.req, Key: r.key, Successors: slices.Clone(m.Succs),
			Path: slices.Clone(m.Path), Hops: m.Hops})
	case reqJoin:
		n.joined(r, m.Succs)
	case reqFinger:
		n.fingerFound(m.Seq, r.finger, m.Succs)
	}
}

// expireRequests retries or fails the requests whose time is up.
func (n *Node) expireRequests() {
	for _, seq := range sortedKeys(n.reqs) {
		r := n.reqs[seq]
		if n.now < r.deadline {
			continue
		}
		switch r.kind {
		case reqLookup:
			if r.tries < 2 && n.state == stateJoined {
				r.tries++
				r.deadline = n.now + uint64(n.cfg.RequestTicks)
				n.startLookup(seq, r.key, true)
				continue
			}
			delete(n.reqs, seq)
			n.result(Result{Kind: ResultLookup, Req: r.req, Key: r.key, Err: ErrTimeout})
		case reqJoin:
			if r.tries < joinTries {
				r.tries++
				r.deadline = n.now + uint64(n.cfg.RequestTicks)
				n.sendJoin(seq, r.via)
				continue
			}
			delete(n.reqs, seq)
			n.state = stateIdle
			n.result(Result{Kind: ResultJoined, Req: r.req, Key: n.self.ID, Err: ErrTimeout})
		case reqFinger:
			delete(n.reqs, seq)
			if n.fingerSeq == seq {
				n.fingerSeq = 0
				n.nextFinger = (r.finger + 1) % id.Bits
			}
		}
	}
}
