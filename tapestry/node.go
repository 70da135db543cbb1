package tapestry

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"time"

	"github.com/puddlestore/puddlestore/id"
	"github.com/puddlestore/puddlestore/transport"
)

// Config configures one Tapestry node. Every timeout is in ticks; the
// driver decides how long a tick is (100 ms in PuddleStore's drivers).
type Config struct {
	ID   id.ID
	Addr transport.Addr

	// SlotSize is how many neighbours a routing-table slot keeps (default
	// DefaultSlotSize).
	SlotSize int
	// Salts is k, the number of roots per object: the object's key and
	// k-1 salted keys (default 3).
	Salts int
	// SearchWidth is how many nearest candidates the join's
	// nearest-neighbour search keeps from one level to the next (default
	// 8).
	SearchWidth int
	// HeartbeatTicks is how often a node pings its neighbours (default
	// 10); FailureTicks how long a neighbour may stay silent before it is
	// declared dead (default 5 heartbeats). Negative HeartbeatTicks turns
	// heartbeats and failure detection off (static simulations).
	HeartbeatTicks int
	FailureTicks   int
	// RepublishTicks is how often a server republishes its objects
	// (default 300); PointerTTLTicks how long a pointer lives unless
	// republished (default three republish periods). Negative
	// RepublishTicks turns republishing off and pointers never expire.
	RepublishTicks  int
	PointerTTLTicks int
	// PublishBackups leaves a copy of each pointer on the backup entries of
	// every slot a publish passes through, not only on the hop it takes:
	// more pointers near the publish path, so locates meet one sooner
	// (lower stretch), for up to SlotSize times the publish traffic.
	PublishBackups bool
	// RequestTicks bounds the wait for a reply: a locate's answer, a
	// multicast's acks, a round of the join's search (default 20).
	RequestTicks int
	// MaintainTicks is how often a node asks a neighbour for its row at
	// some level, to fill holes and find nearer nodes (default 10
	// heartbeats; negative: never).
	MaintainTicks int
	// Seed is the node's randomness (timer phases, choices).
	Seed uint64
}

func (c *Config) withDefaults() error {
	if c.ID == (id.ID{}) {
		return errors.New("tapestry: config: zero id")
	}
	if c.Addr == "" {
		return errors.New("tapestry: config: no address")
	}
	def := func(v *int, d int) {
		if *v == 0 {
			*v = d
		}
	}
	def(&c.SlotSize, DefaultSlotSize)
	def(&c.Salts, 3)
	def(&c.SearchWidth, 8)
	def(&c.HeartbeatTicks, 10)
	def(&c.FailureTicks, 5*max(c.HeartbeatTicks, 1))
	def(&c.RepublishTicks, 300)
	def(&c.PointerTTLTicks, 3*max(c.RepublishTicks, 1))
	def(&c.RequestTicks, 20)
	def(&c.MaintainTicks, 10*max(c.HeartbeatTicks, 1))
	if c.SlotSize < 1 || c.Salts < 1 || c.SearchWidth < 1 || c.RequestTicks < 1 || c.PointerTTLTicks < 1 {
		return fmt.Errorf("tapestry: config: slot size %d, salts %d, search width %d, request ticks %d, pointer ttl %d must be positive",
			c.SlotSize, c.Salts, c.SearchWidth, c.RequestTicks, c.PointerTTLTicks)
	}
	return nil
}

// Errors reported by Step and in results.
var (
	// ErrWrongNode: a message addressed to another node id.
	ErrWrongNode = errors.New("tapestry: message for another node")
	// ErrNotJoined: a routed message reached a node in no mesh.
	ErrNotJoined = errors.New("tapestry: node has not joined a mesh")
	// ErrLeft: the node has left the mesh.
	ErrLeft = errors.New("tapestry: node has left")
	// ErrNotFound: no root knows a holder of the object.
	ErrNotFound = errors.New("tapestry: object not found")
	// ErrTimeout: no answer in time (nodes on the way failed or are slow).
	ErrTimeout = errors.New("tapestry: request timed out")
)

// ResultKind says what a Result answers.
type ResultKind uint8

const (
	// ResultJoined: Join finished; the node is part of the mesh.
	ResultJoined ResultKind = iota + 1
	// ResultPublish: every root acknowledged a Publish (or Err).
	ResultPublish
	// ResultLocate: the holders of an object, nearest first (or Err).
	ResultLocate
	// ResultRoute: the path to a key's root, ending at the root (or Err).
	ResultRoute
)

// Result answers a local request (Join, Publish, Locate, Route); Req is the
// number the caller gave it.
type Result struct {
	Kind    ResultKind
	Req     uint64
	Key     id.ID
	Holders []Entry
	Path    []Entry
	Err     error
}

// Ready is what the driver must do: send Messages (to ToAddr) and hand
// Results to the callers waiting for them. Nothing is persisted: a
// Tapestry node's state is soft and rebuilt after a restart.
type Ready struct {
	Messages []Message
	Results  []Result
}

// unknownRTT stands for a neighbour not measured yet; it sorts last.
const unknownRTT = time.Hour

type nodeState uint8

const (
	stateIdle nodeState = iota
	stateJoining
	stateJoined
	stateLeft
)

// Node is one Tapestry node: a pure state machine, not safe for concurrent
// use. Its driver delivers messages with Step, calls Tick, and carries out
// Ready.
type Node struct {
	cfg   Config
	self  Entry
	rng   *rand.Rand
	now   uint64
	state nodeState

	table     *Table
	back      *Backpointers
	ptrs      *Pointers
	published map[id.ID]uint64 // object key -> caller's request that published it
	lastHeard map[id.ID]uint64 // neighbours and backpointers -> tick

	seq     uint64
	probes  map[uint64]probe
	probing map[id.ID]uint64 // id -> outstanding probe seq
	reqs    map[uint64]*request
	mcs     []*multicast          // in progress, oldest first
	mcChild map[uint64]*multicast // by the seq given to a child
	mcSeen  map[id.ID]uint64      // joiner -> tick its multicast passed here
	join    *joinState

	nextHeartbeat, nextRepublish, nextMaintain uint64

	msgs    []Message
	results []Result
	stats   Stats
}

// Stats counts a node's work, for simulations and status pages.
type Stats struct {
	Sent, SentBytes uint64 // messages this node sent, and their encoded size
	Failures        uint64 // neighbours declared dead
	Repairs         uint64 // neighbour requests sent to fill a slot
}

type probe struct {
	to   Entry
	sent uint64
}

// New returns a node that is not yet part of any mesh: call Bootstrap for
// the first node, Join for the others.
func New(cfg Config) (*Node, error) {
	if err := cfg.withDefaults(); err != nil {
		return nil, err
	}
	n := &Node{
		cfg:       cfg,
		self:      Entry{ID: cfg.ID, Addr: cfg.Addr},
		table:     NewTable(cfg.ID, cfg.SlotSize),
		back:      NewBackpointers(cfg.ID),
		ptrs:      NewPointers(),
		published: map[id.ID]uint64{},
		lastHeard: map[id.ID]uint64{},
		probes:    map[uint64]probe{},
		probing:   map[id.ID]uint64{},
		reqs:      map[uint64]*request{},
		mcChild:   map[uint64]*multicast{},
		mcSeen:    map[id.ID]uint64{},
	}
	n.rng = rand.New(rand.NewPCG(cfg.Seed, cfg.ID.Uint64()))
	phase := func(every int) uint64 {
		if every <= 0 {
			return 0
		}
		return uint64(1 + n.rng.IntN(every))
	}
	n.nextHeartbeat = phase(cfg.HeartbeatTicks)
	n.nextRepublish = phase(cfg.RepublishTicks)
	n.nextMaintain = phase(cfg.MaintainTicks)
	return n, nil
}

// Self returns this node's entry.
func (n *Node) Self() Entry { return n.self }

// Joined reports whether the node is part of a mesh.
func (n *Node) Joined() bool { return n.state == stateJoined }

// Table returns the routing table. The caller must not change it.
func (n *Node) Table() *Table { return n.table }

// Backpointers returns the node's backpointers. The caller must not change
// them.
func (n *Node) Backpointers() *Backpointers { return n.back }

// Stats returns the node's counters.
func (n *Node) Stats() Stats { return n.stats }

// Status is a summary of a node, for status pages and the CLI.
type Status struct {
	ID           id.ID
	Addr         transport.Addr
	State        string
	Tick         uint64
	Neighbours   int
	Backpointers int
	Pointers     int
	Published    int
}

// Status returns a summary of the node.
func (n *Node) Status() Status {
	return Status{ID: n.self.ID, Addr: n.self.Addr, State: [...]string{"idle", "joining", "joined", "left"}[n.state],
		Tick: n.now, Neighbours: n.table.Len(), Backpointers: n.back.Len(), Pointers: n.ptrs.Len(),
		Published: len(n.published)}
}

// HasReady reports whether Ready has anything.
func (n *Node) HasReady() bool { return len(n.msgs) > 0 || len(n.results) > 0 }

// Ready returns what the driver must do and forgets it: there is nothing to
// persist, so no Advance.
func (n *Node) Ready() Ready {
	rd := Ready{Messages: n.msgs, Results: n.results}
	n.msgs, n.results = nil, nil
	return rd
}

func (n *Node) newSeq() uint64 {
	n.seq++
	return n.seq
}

// send queues m for to; a message to this node itself is handled at once.
func (n *Node) send(to Entry, m Message) {
	m.From = n.self
	m.To, m.ToAddr = to.ID, to.Addr
	if to.ID == n.self.ID {
		_ = n.Step(m)
		return
	}
	n.stats.Sent++
	n.stats.SentBytes += uint64(m.Size())
	n.msgs = append(n.msgs, m)
}

func (n *Node) result(r Result) { n.results = append(n.results, r) }

// Bootstrap makes this node the first of a new mesh.
func (n *Node) Bootstrap() error {
	if n.state != stateIdle {
		return fmt.Errorf("tapestry: bootstrap: node is %s", n.Status().State)
	}
	n.state = stateJoined
	return nil
}

// Step handles a message from a peer (or from this node). A malformed
// message, or one addressed to another node id, is an error and changes
// nothing.
func (n *Node) Step(m Message) error {
	if err := m.Validate(); err != nil {
		return err
	}
	if n.state == stateLeft {
		return ErrLeft
	}
	if m.To != (id.ID{}) && m.To != n.self.ID {
		return fmt.Errorf("%w: to %s, this is %s", ErrWrongNode, m.To.Short(8), n.self.ID.Short(8))
	}
	if _, ok := n.lastHeard[m.From.ID]; ok {
		n.lastHeard[m.From.ID] = n.now
	}
	switch m.Type {
	case MsgPing:
		if m.Flag && m.From.ID != n.self.ID {
			n.addBackpointer(m.From)
		}
		n.send(m.From, Message{Type: MsgPong, Seq: m.Seq})
	case MsgPong:
		n.pong(m)
	case MsgJoin, MsgPublish, MsgUnpublish, MsgLocate, MsgRoute, MsgHandoff:
		if n.state == stateIdle {
			// In no mesh, this node would answer as everyone's root.
			return fmt.Errorf("%w: %v for %s", ErrNotJoined, m.Type, m.Key.Short(8))
		}
		n.routeStep(m)
	case MsgMulticast:
		n.multicastStep(m.Origin, m.Level, m.From, m.Seq)
	case MsgMulticastAck:
		n.multicastAck(m)
	case MsgJoinReply:
		n.joinReply(m)
	case MsgGetNeighbors:
		n.getNeighbors(m)
	case MsgNeighbors:
		n.neighbors(m)
	case MsgPublishAck, MsgLocateReply, MsgRouteReply:
		n.reply(m)
	case MsgLeave:
		n.leaveStep(m)
	case MsgBackpointer:
		if m.Flag {
			n.addBackpointer(m.From)
			// A node that holds this one may belong in its table too (it
			// joined nearby, say): measure it once.
			if !n.table.Contains(m.From.ID) && n.state == stateJoined {
				n.probe(m.From, false)
			}
		} else {
			n.back.Remove(m.From.ID)
			n.forgetIfUnused(m.From.ID)
		}
	}
	return nil
}

func (n *Node) addBackpointer(e Entry) {
	e.RTT = 0
	if tb, ok := n.table.Get(e.ID); ok {
		e.RTT = tb.RTT
	}
	n.back.Add(e)
	n.lastHeard[e.ID] = n.now
}

// forgetIfUnused drops the liveness record of a node that is neither a
// neighbour nor a backpointer any more.
func (n *Node) forgetIfUnused(x id.ID) {
	if !n.table.Contains(x) && !n.back.Has(x) {
		delete(n.lastHeard, x)
	}
}

// Tick advances the node's clock by one tick and runs what is due.
func (n *Node) Tick() {
	if n.state == stateLeft {
		return
	}
	n.now++
	c := &n.cfg
	if c.HeartbeatTicks > 0 && n.now >= n.nextHeartbeat {
		n.nextHeartbeat = n.now + uint64(c.HeartbeatTicks)
		n.heartbeat()
	}
	if c.RepublishTicks > 0 && n.now >= n.nextRepublish {
		n.nextRepublish = n.now + uint64(c.RepublishTicks)
		n.republish()
	}
	if c.MaintainTicks > 0 && n.now >= n.nextMaintain && n.state == stateJoined {
		n.nextMaintain = n.now + uint64(c.MaintainTicks)
		n.maintain()
	}
	n.expireRequests()
}

// probe pings e to measure it; the pong adds or updates it in the table.
func (n *Node) probe(e Entry, holds bool) {
	if e.ID == n.self.ID || e.ID == (id.ID{}) {
		return
	}
	if _, busy := n.probing[e.ID]; busy {
		return
	}
	seq := n.newSeq()
	n.probes[seq] = probe{to: e, sent: n.now}
	n.probing[e.ID] = seq
	n.send(e, Message{Type: MsgPing, Seq: seq, Flag: holds})
}

func (n *Node) pong(m Message) {
	p, ok := n.probes[m.Seq]
	if !ok || p.to.ID != m.From.ID {
		return
	}
	delete(n.probes, m.Seq)
	delete(n.probing, p.to.ID)
	rtt := max(m.RTT, time.Microsecond)
	e := Entry{ID: m.From.ID, Addr: m.From.Addr, RTT: rtt}
	if old, ok := n.table.Get(e.ID); ok && old.RTT != unknownRTT {
		e.RTT = (3*old.RTT + rtt) / 4 // smoothed, so one slow answer does not reorder a slot
	}
	n.consider(e)
	if n.join != nil {
		n.join.measured(n, e)
	}
}

// consider offers a measured node to the routing table.
func (n *Node) consider(e Entry) {
	if e.ID == n.self.ID || n.state == stateLeft {
		return
	}
	level, digit := n.table.place(e.ID)
	hole := len(n.table.rows[level][digit]) == 0
	was := n.table.Contains(e.ID)
	in, evicted := n.table.Add(e)
	if in && !was {
		n.lastHeard[e.ID] = n.now
		n.send(e, Message{Type: MsgBackpointer, Flag: true})
		if tb, ok := n.back.Get(e.ID); ok {
			tb.RTT = e.RTT
			n.back.Add(tb)
		}
	}
	if evicted != nil && evicted.ID != e.ID {
		n.send(*evicted, Message{Type: MsgBackpointer, Flag: false})
		n.forgetIfUnused(evicted.ID)
	}
	if in && hole {
		// A new node may now be the root of keys this node was root for.
		n.forwardPointers(func(p *Pointer) bool { return p.Next == (id.ID{}) && !p.Deposit })
	}
}

// forwardPointers sends on the publishes of the pointers sel picks, along
// their route from here; a pointer whose root this node is stays put.
func (n *Node) forwardPointers(sel func(p *Pointer) bool) {
	n.ptrs.Each(func(p *Pointer) {
		if !sel(p) {
			return
		}
		hop, next, isRoot := n.table.NextHop(p.Route, p.Level)
		if isRoot {
			p.Next, p.NextAt = id.ID{}, ""
			return
		}
		p.Next, p.NextAt = hop.ID, hop.Addr
		// The hop count restarts from the digits resolved so far (the
		// hops taken to get here are not kept), so the loop guard holds.
		n.send(hop, Message{Type: MsgPublish, Key: p.Route, Object: p.Key, Level: next, Hops: next,
			Origin: Entry{ID: p.Server.ID, Addr: p.Server.Addr}, Dist: p.Server.RTT + hop.RTT})
	})
}

// dropNeighbour removes x after it failed or left, repairs its slot and
// re-routes the pointers that went through it.
func (n *Node) dropNeighbour(x id.ID, replacements []Entry) {
	level, digit := n.table.place(x)
	was := n.table.Remove(x)
	n.back.Remove(x)
	delete(n.lastHeard, x)
	if seq, ok := n.probing[x]; ok {
		delete(n.probing, x)
		delete(n.probes, seq)
	}
	if !was {
		return
	}
	// Replacements take the slot at once, unmeasured (they sort last), so
	// that what is re-routed below, and pointers handed over with the
	// leave, go where they will go once the mesh has settled; probes
	// measure them.
	for _, e := range replacements {
		if e.ID != x && e.ID != n.self.ID && !n.table.Contains(e.ID) {
			n.consider(Entry{ID: e.ID, Addr: e.Addr, RTT: unknownRTT})
			n.probe(e, n.table.Contains(e.ID))
		}
	}
	if len(replacements) == 0 && len(n.table.rows[level][digit]) < n.cfg.SlotSize {
		n.repairSlot(level, digit)
	}
	n.forwardPointers(func(p *Pointer) bool { return p.Next == x })
}

// repairSlot asks the nearest few nodes that share at least level digits
// with this one for their entries in the slot: they hold the same prefix
// there.
func (n *Node) repairSlot(level, digit int) {
	var ask []Entry
	for l := level; l < id.Digits && len(ask) < 3; l++ {
		for _, e := range n.table.Row(l) {
			if len(ask) < 3 {
				ask = append(ask, e)
			}
		}
	}
	for l := level; l < id.Digits && len(ask) < 3; l++ {
		for _, e := range n.back.AtLevel(l) {
			if len(ask) < 3 && !slices.ContainsFunc(ask, func(a Entry) bool { return a.ID == e.ID }) {
				ask = append(ask, e)
			}
		}
	}
	for _, e := range ask {
		n.stats.Repairs++
		n.send(e, Message{Type: MsgGetNeighbors, Level: level, Digit: digit, Flag: true, Seq: n.newSeq()})
	}
}

func (n *Node) heartbeat() {
	for _, e := range n.table.All() {
		if n.now-n.lastHeard[e.ID] > uint64(n.cfg.FailureTicks) {
			n.stats.Failures++
			n.dropNeighbour(e.ID, nil)
			// Its objects went with it: pointers to it would only send
			// locates to a dead holder until they expire.
			n.ptrs.DeleteServer(e.ID)
			continue
		}
		n.probe(e, true)
	}
	for _, e := range n.back.All() {
		if !n.table.Contains(e.ID) && n.now-n.lastHeard[e.ID] > 2*uint64(n.cfg.FailureTicks) {
			n.back.Remove(e.ID)
			delete(n.lastHeard, e.ID)
		}
	}
	n.ptrs.Expire(n.now)
	// Probes unanswered for a failure timeout are lost.
	for _, seq := range sortedKeys(n.probes) {
		if p := n.probes[seq]; n.now-p.sent > uint64(n.cfg.FailureTicks) {
			delete(n.probes, seq)
			delete(n.probing, p.to.ID)
		}
	}
	for j, t := range n.mcSeen {
		if n.now-t > 10*uint64(n.cfg.RequestTicks) {
			delete(n.mcSeen, j) // order does not matter: nothing is sent
		}
	}
}

// maintain asks one neighbour, at a random level in use, for its row there:
// it fills holes left by concurrent joins and failures, and finds nearer
// nodes. Any neighbour sharing at least that many digits holds the same
// prefix there, so even a row this node has lost entirely is refilled.
func (n *Node) maintain() {
	deep := n.table.Deepest()
	if deep < 0 {
		return
	}
	l := n.rng.IntN(deep + 1)
	var ask []Entry
	for lv := l; lv <= deep; lv++ {
		ask = append(ask, n.table.Row(lv)...)
	}
	if len(ask) == 0 {
		return
	}
	e := ask[n.rng.IntN(len(ask))]
	n.send(e, Message{Type: MsgGetNeighbors, Level: l, Seq: n.newSeq()})
}

// maxNeighbourReply bounds a neighbours answer.
const maxNeighbourReply = 64

func (n *Node) getNeighbors(m Message) {
	var out []Entry
	add := func(e Entry) {
		if len(out) < maxNeighbourReply && e.ID != m.From.ID &&
			!slices.ContainsFunc(out, func(x Entry) bool { return x.ID == e.ID }) {
			out = append(out, e)
		}
	}
	if m.Flag {
		for _, e := range n.table.Slot(m.Level, m.Digit) {
			add(e)
		}
		for _, e := range n.back.AtLevel(m.Level) {
			if e.ID.Digit(m.Level) == m.Digit {
				add(e)
			}
		}
		// This node itself may belong in the asker's slot.
		if id.SharedPrefixLen(n.self.ID, m.From.ID) == m.Level && n.self.ID.Digit(m.Level) == m.Digit {
			add(n.self)
		}
	} else {
		for _, e := range n.table.Row(m.Level) {
			add(e)
		}
		for _, e := range n.back.AtLevel(m.Level) {
			add(e)
		}
	}
	n.send(m.From, Message{Type: MsgNeighbors, Seq: m.Seq, Level: m.Level, Entries: out})
	// The asker may belong in this node's table (a joiner near here).
	if !n.table.Contains(m.From.ID) && n.state == stateJoined {
		n.probe(m.From, false)
	}
}

func (n *Node) neighbors(m Message) {
	if n.join != nil && n.join.neighbours(n, m) {
		return
	}
	for _, e := range m.Entries {
		if e.ID != n.self.ID && !n.table.Contains(e.ID) {
			n.probe(e, false)
		}
	}
}

func sortedKeys[V any](m map[uint64]V) []uint64 {
	keys := make([]uint64, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// PointersFor returns the object pointers this node holds for key (live or
// not yet expired), nearest server first: for status pages and tests.
func (n *Node) PointersFor(key id.ID) []Pointer { return slices.Clone(n.ptrs.byKey[key]) }

// PointerKeys returns the keys this node holds pointers for, in order.
func (n *Node) PointerKeys() []id.ID {
	var keys []id.ID
	n.ptrs.Each(func(p *Pointer) {
		if len(keys) == 0 || keys[len(keys)-1] != p.Key {
			keys = append(keys, p.Key)
		}
	})
	return keys
}
