package tapestry

import (
	"fmt"
	"slices"

	"github.com/puddlestore/puddlestore/id"
)

// request is a local request waiting for answers.
type request struct {
	kind     ResultKind
	req      uint64 // the caller's number
	key      id.ID  // the object (or, for a route, the key)
	salts    []id.ID
	acked    []bool // publish: roots that acknowledged; locate: roots that had nothing
	exclude  []id.ID
	deadline uint64
}

// Publish announces that this node holds the object with key: a pointer to
// it is left at every hop toward each of the key's k roots, and refreshed
// every RepublishTicks until Unpublish. A ResultPublish with req follows
// when every root has acknowledged (or Err on timeout: the republish will
// try again).
func (n *Node) Publish(req uint64, key id.ID) {
	n.published[key] = req
	seq := n.newSeq()
	r := &request{kind: ResultPublish, req: req, key: key, salts: SaltedKeys(key, n.cfg.Salts),
		deadline: n.now + uint64(n.cfg.RequestTicks)}
	r.acked = make([]bool, len(r.salts))
	n.reqs[seq] = r
	n.publish(key, seq)
}

func (n *Node) publish(key id.ID, seq uint64) {
	for _, s := range SaltedKeys(key, n.cfg.Salts) {
		n.routeStep(Message{Type: MsgPublish, Key: s, Object: key, Origin: n.self, From: n.self, Seq: seq})
	}
}

// Unpublish withdraws this node's pointers for key.
func (n *Node) Unpublish(key id.ID) {
	delete(n.published, key)
	for _, s := range SaltedKeys(key, n.cfg.Salts) {
		n.routeStep(Message{Type: MsgUnpublish, Key: s, Object: key, Origin: n.self, From: n.self})
	}
}

// Publishing reports whether this node publishes key.
func (n *Node) Publishing(key id.ID) bool {
	_, ok := n.published[key]
	return ok
}

func (n *Node) republish() {
	keys := make([]id.ID, 0, len(n.published))
	for k := range n.published {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, id.Compare)
	for _, k := range keys {
		n.publish(k, 0)
	}
}

// Locate finds holders of the object with key, nearest first. It routes
// toward every root of the key at once and takes the first answer: the
// first node on any of the routes with a pointer answers (§3.3), and the
// routes from nearby nodes meet the publishers' routes early, so the
// nearest answer usually comes first. Holders in exclude (found dead by
// the caller) are left out. A ResultLocate with req follows: the holders,
// or ErrNotFound when every root answered that it has none, or ErrTimeout.
func (n *Node) Locate(req uint64, key id.ID, exclude []id.ID) {
	seq := n.newSeq()
	r := &request{kind: ResultLocate, req: req, key: key, salts: SaltedKeys(key, n.cfg.Salts),
		exclude: slices.Clone(exclude), deadline: n.now + uint64(n.cfg.RequestTicks)}
	r.acked = make([]bool, len(r.salts))
	n.reqs[seq] = r
	ex := make([]Entry, len(r.exclude))
	for i, x := range r.exclude {
		ex[i] = Entry{ID: x}
	}
	for _, s := range r.salts {
		if n.reqs[seq] == nil {
			return // answered here already
		}
		n.routeStep(Message{Type: MsgLocate, Key: s, Object: key, Origin: n.self, From: n.self, Seq: seq, Entries: ex})
	}
}

// Route traces the route from this node to key's root. A ResultRoute with
// req follows, its Path ending at the root.
func (n *Node) Route(req uint64, key id.ID) {
	seq := n.newSeq()
	n.reqs[seq] = &request{kind: ResultRoute, req: req, key: key, deadline: n.now + uint64(n.cfg.RequestTicks)}
	n.routeStep(Message{Type: MsgRoute, Key: key, Origin: n.self, From: n.self, Seq: seq})
}

// routeStep handles a routed message at this node: what the message does
// here, then on to the next hop, or the root's part.
func (n *Node) routeStep(m Message) {
	switch m.Type {
	case MsgLocate:
		exclude := make([]id.ID, len(m.Entries))
		for i, e := range m.Entries {
			exclude[i] = e.ID
		}
		if hs := n.ptrs.Holders(m.Object, n.now, exclude); len(hs) > 0 {
			n.send(m.Origin, Message{Type: MsgLocateReply, Seq: m.Seq, Key: m.Key, Object: m.Object, Flag: true,
				Hops: m.Hops, Entries: hs})
			return
		}
	case MsgUnpublish:
		p, had := n.ptrs.take(m.Object, m.Origin.ID, m.Key)
		if m.Flag {
			return // a backup's copy: it goes no further
		}
		// Follow the path the publish took, which the pointers recorded:
		// the route may have changed since, and pointers left on the old
		// path would outlive the unpublish.
		if had && !p.Deposit {
			if p.Next == (id.ID{}) {
				return // the root
			}
			n.forward(m, Entry{ID: p.Next, Addr: p.NextAt}, id.SharedPrefixLen(n.self.ID, p.Next)+1)
			return
		}
	case MsgPublish:
		if m.Flag { // a copy for a backup neighbour: kept here, not routed on
			n.ptrs.Put(Pointer{Key: m.Object, Route: m.Key, Server: n.serverEntry(m), Expires: n.expiry(), Deposit: true})
			return
		}
	case MsgRoute:
		m.Entries = append(slices.Clone(m.Entries), n.self)
	}
	hop, next, isRoot := n.table.NextHopAvoiding(m.Key, m.Level, n.suspect)
	if m.Type == MsgJoin && !isRoot && hop.ID == m.Origin.ID {
		isRoot = true // the joiner is already in this table: route as if it were not
	}
	if isRoot || m.Hops >= maxHops-1 {
		hop = Entry{}
	}
	if m.Type == MsgPublish || m.Type == MsgHandoff && hop.ID == (id.ID{}) {
		n.ptrs.Put(Pointer{Key: m.Object, Route: m.Key, Server: n.serverEntry(m), Expires: n.expiry(), Next: hop.ID, NextAt: hop.Addr, Level: m.Level})
	}
	if hop.ID == (id.ID{}) {
		n.atRoot(m)
		return
	}
	n.forward(m, hop, next)
}

// forward sends a routed message on to hop, where next digits are
// resolved. Publishes and unpublishes also go to the backups of hop's slot
// (see Config.PublishBackups).
func (n *Node) forward(m Message, hop Entry, next int) {
	if n.cfg.PublishBackups && (m.Type == MsgPublish || m.Type == MsgUnpublish) {
		// The backups of the slot get a copy of the pointer: a nearby
		// client whose own route goes through one of them meets it there.
		for _, e := range n.table.Slot(next-1, hop.ID.Digit(next-1)) {
			if e.ID != hop.ID {
				c := m
				c.Flag, c.Dist, c.Level, c.Hops = true, m.Dist+e.RTT, next, m.Hops+1
				n.send(e, c)
			}
		}
	}
	m.Level, m.Hops = next, m.Hops+1
	if m.Type == MsgPublish {
		m.Dist += hop.RTT
	}
	n.send(hop, m)
}

// suspect reports a neighbour that has missed a heartbeat's answer: routes
// go to another entry of its slot until it answers or is declared dead, so
// that few messages are lost to a neighbour that died.
func (n *Node) suspect(x id.ID) bool {
	hb := n.cfg.HeartbeatTicks
	if hb <= 0 {
		return false
	}
	last, ok := n.lastHeard[x]
	return ok && n.now-last > uint64(hb+hb/2+2)
}

// serverEntry is a publish's server with the best estimate of its distance
// from here: the round-trip time measured to it if it is a neighbour, else
// the sum along the publish path (an upper bound).
func (n *Node) serverEntry(m Message) Entry {
	e := Entry{ID: m.Origin.ID, Addr: m.Origin.Addr, RTT: m.Dist}
	if tb, ok := n.table.Get(e.ID); ok && tb.RTT < e.RTT {
		e.RTT = tb.RTT
	}
	return e
}

func (n *Node) expiry() uint64 {
	if n.cfg.RepublishTicks < 0 {
		return ^uint64(0)
	}
	return n.now + uint64(n.cfg.PointerTTLTicks)
}

// atRoot is a routed message's end: this node is the root of its key.
func (n *Node) atRoot(m Message) {
	switch m.Type {
	case MsgJoin:
		if m.Origin.ID == n.self.ID {
			return
		}
		n.multicastStep(m.Origin, id.SharedPrefixLen(n.self.ID, m.Origin.ID), Entry{}, 0)
	case MsgPublish:
		if m.Seq != 0 {
			n.send(m.Origin, Message{Type: MsgPublishAck, Seq: m.Seq, Key: m.Key, Object: m.Object, Hops: m.Hops})
		}
	case MsgLocate:
		n.send(m.Origin, Message{Type: MsgLocateReply, Seq: m.Seq, Key: m.Key, Object: m.Object, Hops: m.Hops})
	case MsgRoute:
		n.send(m.Origin, Message{Type: MsgRouteReply, Seq: m.Seq, Key: m.Key, Hops: m.Hops, Entries: m.Entries})
	}
}

// reply handles the answer to one of this node's requests.
func (n *Node) reply(m Message) {
	r, ok := n.reqs[m.Seq]
	if !ok {
		return // late, duplicate, or answered already
	}
	switch {
	case m.Type == MsgPublishAck && r.kind == ResultPublish:
		if i := slices.Index(r.salts, m.Key); i >= 0 {
			r.acked[i] = true
		}
		if !slices.Contains(r.acked, false) {
			delete(n.reqs, m.Seq)
			n.result(Result{Kind: ResultPublish, Req: r.req, Key: r.key})
		}
	case m.Type == MsgLocateReply && r.kind == ResultLocate:
		if m.Flag {
			delete(n.reqs, m.Seq)
			n.result(Result{Kind: ResultLocate, Req: r.req, Key: r.key, Holders: m.Entries})
			return
		}
		if i := slices.Index(r.salts, m.Key); i >= 0 {
			r.acked[i] = true
		}
		if !slices.Contains(r.acked, false) {
			delete(n.reqs, m.Seq)
			n.result(Result{Kind: ResultLocate, Req: r.req, Key: r.key, Err: fmt.Errorf("%w: %s", ErrNotFound, r.key.Short(8))})
		}
	case m.Type == MsgRouteReply && r.kind == ResultRoute:
		delete(n.reqs, m.Seq)
		n.result(Result{Kind: ResultRoute, Req: r.req, Key: r.key, Path: m.Entries})
	}
}

// expireRequests gives up on what has waited past its deadline; also the
// multicasts and the join's search round.
func (n *Node) expireRequests() {
	for _, seq := range sortedKeys(n.reqs) {
		r := n.reqs[seq]
		if n.now < r.deadline {
			continue
		}
		switch r.kind {
		case ResultLocate:
			delete(n.reqs, seq)
			n.result(Result{Kind: ResultLocate, Req: r.req, Key: r.key,
				Err: fmt.Errorf("%w: no root answered the locate of %s", ErrTimeout, r.key.Short(8))})
		case ResultPublish:
			delete(n.reqs, seq)
			n.result(Result{Kind: ResultPublish, Req: r.req, Key: r.key,
				Err: fmt.Errorf("%w: not every root acknowledged the publish of %s", ErrTimeout, r.key.Short(8))})
		case ResultRoute:
			delete(n.reqs, seq)
			n.result(Result{Kind: ResultRoute, Req: r.req, Key: r.key, Err: fmt.Errorf("%w: route to %s", ErrTimeout, r.key.Short(8))})
		}
	}
	for _, mc := range slices.Clone(n.mcs) {
		if n.now >= mc.deadline {
			n.finishMulticast(mc)
		}
	}
	if n.join != nil {
		n.join.tick(n)
	}
}
