package tapestry

import (
	"fmt"
	"slices"

	"github.com/puddlestore/puddlestore/id"
	"github.com/puddlestore/puddlestore/transport"
)

// Join makes this node part of the mesh that gateway belongs to (§4.1): the
// join is routed to the root of this node's id, which multicasts it to every
// node sharing the longest prefix with it (they add this node, and hand it
// the object pointers it is now root for); this node then fills its table
// level by level with a nearest-neighbour search over their backpointers.
// A ResultJoined with req follows; a join with no answer is retried, and
// fails (ErrTimeout, the node is left out) after joinTries attempts.
func (n *Node) Join(req uint64, gateway transport.Addr) error {
	if n.state != stateIdle {
		return fmt.Errorf("tapestry: join: node is %s", n.Status().State)
	}
	if gateway == "" || gateway == n.self.Addr {
		return fmt.Errorf("tapestry: join: gateway %q is not another node", gateway)
	}
	n.state = stateJoining
	n.join = &joinState{req: req, gateway: gateway, level: -1}
	n.join.start(n)
	return nil
}

// joinTries is how many times a join is sent before it fails; each waits
// five RequestTicks for the multicast's answer.
const joinTries = 3

// joinState is the joining node's side of the join.
type joinState struct {
	req      uint64
	gateway  transport.Addr
	level    int // search level; -1 while waiting for the multicast's reply
	deadline uint64
	tries    int

	cands   map[id.ID]Entry // measured candidates
	waitPng map[id.ID]bool  // probes of this round
	waitNbr map[uint64]bool // neighbour requests of this round
	fresh   map[id.ID]Entry // candidates named in this round's answers
	list    []Entry         // the nearest candidates, for the next level
}

func (j *joinState) start(n *Node) {
	j.tries++
	j.level = -1
	j.deadline = n.now + 5*uint64(n.cfg.RequestTicks)
	n.send(Entry{Addr: j.gateway}, Message{Type: MsgJoin, Key: n.self.ID, Origin: n.self})
}

func (n *Node) joinReply(m Message) {
	j := n.join
	if j == nil || j.level >= 0 || m.Origin.ID != n.self.ID {
		return
	}
	j.level = m.Level
	j.cands = map[id.ID]Entry{}
	j.probeRound(n, m.Entries)
}

// probeRound measures the nodes named at this level.
func (j *joinState) probeRound(n *Node, es []Entry) {
	j.waitPng, j.waitNbr, j.fresh = map[id.ID]bool{}, nil, nil
	j.deadline = n.now + uint64(n.cfg.RequestTicks)
	for _, e := range es {
		if e.ID == n.self.ID || e.ID == (id.ID{}) {
			continue
		}
		if _, ok := j.cands[e.ID]; ok {
			continue
		}
		if tb, ok := n.table.Get(e.ID); ok && tb.RTT != unknownRTT {
			j.cands[e.ID] = tb
			continue
		}
		j.waitPng[e.ID] = true
		n.probe(e, false)
	}
	j.maybeAdvance(n)
}

// measured records a probe's answer.
func (j *joinState) measured(n *Node, e Entry) {
	if j.waitPng[e.ID] {
		delete(j.waitPng, e.ID)
		j.cands[e.ID] = e
		j.maybeAdvance(n)
	}
}

// neighbours records an answer to this round's neighbour requests and
// reports whether it was one.
func (j *joinState) neighbours(n *Node, m Message) bool {
	if !j.waitNbr[m.Seq] {
		return false
	}
	delete(j.waitNbr, m.Seq)
	for _, e := range m.Entries {
		if e.ID != n.self.ID {
			j.fresh[e.ID] = e
		}
	}
	j.maybeAdvance(n)
	return true
}

// maybeAdvance moves the search on once the round has every answer.
func (j *joinState) maybeAdvance(n *Node) {
	if j.level < 0 {
		return
	}
	if j.waitNbr != nil {
		if len(j.waitNbr) > 0 {
			return
		}
		es := make([]Entry, 0, len(j.fresh))
		for _, e := range j.fresh {
			es = append(es, e)
		}
		slices.SortFunc(es, func(a, b Entry) int { return id.Compare(a.ID, b.ID) })
		j.probeRound(n, es)
		return
	}
	if len(j.waitPng) > 0 {
		return
	}
	// Every candidate so far is measured: keep the nearest, go down a level.
	all := make([]Entry, 0, len(j.cands))
	for _, e := range j.cands {
		all = append(all, e)
	}
	slices.SortFunc(all, nearer)
	j.list = all[:min(len(all), n.cfg.SearchWidth)]
	if j.level == 0 || len(j.list) == 0 {
		n.joined()
		return
	}
	j.level--
	j.waitNbr, j.fresh = map[uint64]bool{}, map[id.ID]Entry{}
	j.deadline = n.now + uint64(n.cfg.RequestTicks)
	for _, e := range j.list {
		seq := n.newSeq()
		j.waitNbr[seq] = true
		n.send(e, Message{Type: MsgGetNeighbors, Level: j.level, Seq: seq})
	}
}

// tick moves a stalled round on: a silent node is left out.
func (j *joinState) tick(n *Node) {
	if n.now < j.deadline {
		return
	}
	if j.level < 0 {
		if j.tries >= joinTries {
			// The gateway, or the root on the way, is gone. The node is
			// out of every mesh; a caller starts a new one to try again.
			n.join, n.state = nil, stateLeft
			n.result(Result{Kind: ResultJoined, Req: j.req, Key: n.self.ID,
				Err: fmt.Errorf("%w: no answer to %d joins via %s", ErrTimeout, j.tries, j.gateway)})
			return
		}
		j.start(n) // no reply to the join: try again
		return
	}
	if j.waitNbr != nil && len(j.waitNbr) > 0 {
		clear(j.waitNbr)
	} else {
		clear(j.waitPng)
	}
	j.maybeAdvance(n)
}

func (n *Node) joined() {
	j := n.join
	n.join = nil
	n.state = stateJoined
	n.result(Result{Kind: ResultJoined, Req: j.req, Key: n.self.ID})
}

// multicast is one node's part in the acknowledged multicast of a joiner:
// it has sent the joiner on to one node for each extension of the prefix
// it covers and waits for their acks.
type multicast struct {
	joiner    Entry
	parent    Entry // zero at the root
	parentSeq uint64
	level     int
	waiting   int
	children  []uint64
	reached   []Entry
	deadline  uint64
}

// multicastStep adds joiner and passes the multicast on to every node that
// shares level digits with this one (one per extension of the prefix;
// this node covers its own extension itself, §4.1, "acknowledged
// multicast"). At the root, parent is zero and level is the length of
// the prefix the joiner shares with it.
func (n *Node) multicastStep(joiner Entry, level int, parent Entry, parentSeq uint64) {
	if joiner.ID == n.self.ID {
		return
	}
	if _, seen := n.mcSeen[joiner.ID]; seen && parent.ID != (id.ID{}) {
		// A duplicate, or another path: the first one covers this subtree.
		n.send(parent, Message{Type: MsgMulticastAck, Seq: parentSeq})
		return
	}
	n.mcSeen[joiner.ID] = n.now
	mc := &multicast{joiner: joiner, parent: parent, parentSeq: parentSeq, level: level, reached: []Entry{n.self},
		deadline: n.now + uint64(n.cfg.RequestTicks)}
	// Until it is measured, the joiner fills a hole only: nothing else can
	// stand for its prefix, and routing must find it at once.
	if !n.table.Contains(joiner.ID) {
		n.consider(Entry{ID: joiner.ID, Addr: joiner.Addr, RTT: unknownRTT})
	}
	n.probe(joiner, n.table.Contains(joiner.ID))
	for l := level; l <= n.table.Deepest(); l++ {
		own := n.self.ID.Digit(l)
		for d := range id.Base {
			if d == own {
				continue
			}
			for _, e := range n.table.rows[l][d] {
				if e.ID == joiner.ID {
					continue
				}
				seq := n.newSeq()
				mc.children = append(mc.children, seq)
				n.mcChild[seq] = mc
				mc.waiting++
				n.send(e, Message{Type: MsgMulticast, Level: l + 1, Seq: seq, Origin: joiner})
				break
			}
		}
	}
	if mc.waiting == 0 {
		n.finishMulticast(mc)
		return
	}
	n.mcs = append(n.mcs, mc)
}

func (n *Node) multicastAck(m Message) {
	mc, ok := n.mcChild[m.Seq]
	if !ok {
		return
	}
	delete(n.mcChild, m.Seq)
	for _, e := range m.Entries {
		if !slices.ContainsFunc(mc.reached, func(x Entry) bool { return x.ID == e.ID }) && len(mc.reached) < MaxEntries {
			mc.reached = append(mc.reached, e)
		}
	}
	if mc.waiting--; mc.waiting == 0 {
		n.finishMulticast(mc)
	}
}

// finishMulticast acks the parent with the nodes reached, or, at the root,
// answers the joiner. A child silent past the deadline is left out.
func (n *Node) finishMulticast(mc *multicast) {
	for _, seq := range mc.children {
		delete(n.mcChild, seq)
	}
	n.mcs = slices.DeleteFunc(n.mcs, func(x *multicast) bool { return x == mc })
	if mc.parent.ID == (id.ID{}) {
		n.send(mc.joiner, Message{Type: MsgJoinReply, Level: mc.level, Origin: mc.joiner, Entries: mc.reached})
		return
	}
	n.send(mc.parent, Message{Type: MsgMulticastAck, Seq: mc.parentSeq, Entries: mc.reached})
}

// Leave takes this node out of the mesh gracefully (§4.3): its objects are
// unpublished; every neighbour and backpointer is told, with nodes that can
// take its place in their slot; the pointers it was root for are handed to
// the neighbour nearest their keys, which publishes them on. Afterwards
// the node does nothing.
func (n *Node) Leave() {
	if n.state == stateLeft {
		return
	}
	keys := make([]id.ID, 0, len(n.published))
	for k := range n.published {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, id.Compare)
	for _, k := range keys {
		n.Unpublish(k)
	}
	var to []Entry
	for _, e := range append(n.table.All(), n.back.All()...) {
		if !slices.ContainsFunc(to, func(x Entry) bool { return x.ID == e.ID }) {
			to = append(to, e)
		}
	}
	handoff := map[id.ID][]Pointer{}
	n.ptrs.Each(func(p *Pointer) {
		if p.Next != (id.ID{}) || p.Deposit || len(to) == 0 || p.Server.ID == n.self.ID {
			return
		}
		best := to[0]
		for _, e := range to[1:] {
			if id.SharedPrefixLen(e.ID, p.Route) > id.SharedPrefixLen(best.ID, p.Route) {
				best = e
			}
		}
		if len(handoff[best.ID]) < MaxPointers {
			handoff[best.ID] = append(handoff[best.ID], *p)
		}
	})
	for _, e := range to {
		l := id.SharedPrefixLen(n.self.ID, e.ID)
		var repl []Entry
		for lv := l + 1; lv < id.Digits && len(repl) < 2*n.cfg.SlotSize; lv++ {
			for _, r := range n.table.Row(lv) {
				if r.ID != e.ID && len(repl) < 2*n.cfg.SlotSize {
					repl = append(repl, r)
				}
			}
		}
		n.send(e, Message{Type: MsgLeave, Entries: repl, Pointers: handoff[e.ID]})
	}
	n.state = stateLeft
	clear(n.reqs)
	n.join = nil
}

func (n *Node) leaveStep(m Message) {
	n.dropNeighbour(m.From.ID, m.Entries)
	for _, p := range m.Pointers {
		if p.Server.ID == m.From.ID {
			continue
		}
		n.routeStep(Message{Type: MsgHandoff, Key: p.Route, Object: p.Key, Origin: Entry{ID: p.Server.ID, Addr: p.Server.Addr},
			From: n.self, Dist: p.Server.RTT})
	}
}
