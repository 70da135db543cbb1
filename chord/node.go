package chord

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"time"

	"github.com/puddlestore/puddlestore/id"
	"github.com/puddlestore/puddlestore/transport"
)

// Config configures one Chord node (one ring position: a host with several
// virtual nodes runs one Node per position, all on one Addr). Every timeout
// is in ticks; the driver decides how long a tick is (100 ms in
// PuddleStore's drivers).
type Config struct {
	ID   id.ID
	Addr transport.Addr

	// Successors is r, the length of the successor list (default 8, at
	// most MaxSuccessors). A lookup answers with the key's first r
	// successors.
	Successors int
	// StabilizeTicks is how often the node runs stabilize (default 5).
	StabilizeTicks int
	// FixFingerTicks is how often fix_fingers refreshes a finger (default
	// 1); one finger lookup is out at a time.
	FixFingerTicks int
	// CheckPredTicks is how often the node pings its predecessor, fingers
	// and successor list (default 10).
	CheckPredTicks int
	// FailureTicks: a peer that left a ping or request unanswered this long
	// is declared dead (default 30).
	FailureTicks int
	// RequestTicks bounds the wait for a lookup's answer (default 20).
	RequestTicks int
	// Proximity lets routing prefer, among the fingers and successors that
	// leave at most twice the remaining distance of the best one, the one
	// with the smallest measured round-trip time (proximity route
	// selection). Off, routing takes the finger closest to the key, as in
	// the paper.
	Proximity bool
	// Seed is the node's randomness (timer phases).
	Seed uint64
}

// A negative StabilizeTicks, FixFingerTicks or CheckPredTicks turns that
// task off (scripted tests drive it by hand).

func (c *Config) withDefaults() error {
	if c.ID == (id.ID{}) {
		return errors.New("chord: config: zero id")
	}
	if c.Addr == "" || len(c.Addr) > MaxAddrLen {
		return fmt.Errorf("chord: config: address %q", c.Addr)
	}
	def := func(v *int, d int) {
		if *v == 0 {
			*v = d
		}
	}
	def(&c.Successors, 8)
	def(&c.StabilizeTicks, 5)
	def(&c.FixFingerTicks, 1)
	def(&c.CheckPredTicks, 10)
	def(&c.FailureTicks, 30)
	def(&c.RequestTicks, 20)
	if c.Successors < 1 || c.Successors > MaxSuccessors || c.FailureTicks < 1 || c.RequestTicks < 1 {
		return fmt.Errorf("chord: config: successors %d (1..%d), failure ticks %d, request ticks %d must be positive",
			c.Successors, MaxSuccessors, c.FailureTicks, c.RequestTicks)
	}
	return nil
}

// Errors reported by Step and in results.
var (
	// ErrWrongNode: a message addressed to another node id.
	ErrWrongNode = errors.New("chord: message for another node")
	// ErrNotJoined: a request reached a node in no ring.
	ErrNotJoined = errors.New("chord: node has not joined a ring")
	// ErrLeft: the node has left the ring.
	ErrLeft = errors.New("chord: node has left")
	// ErrTimeout: no answer in time (nodes on the way failed or are slow).
	ErrTimeout = errors.New("chord: request timed out")
)

// ResultKind says what a Result answers.
type ResultKind uint8

const (
	// ResultJoined: Join finished; the node knows its successor.
	ResultJoined ResultKind = iota + 1
	// ResultLookup: a key's successors (or Err).
	ResultLookup
)

// Result answers a local request; Req is the number the caller gave it.
// For a lookup, Successors are the key's first r successors, the key's
// successor first; Path is the route, from this node to the node that
// answered (the key's predecessor, as that node saw it), and Hops the
// number of forwards (len(Path)-1). For a join, Successors is the node's
// first successor list and Key its own id.
type Result struct {
	Kind       ResultKind
	Req        uint64
	Key        id.ID
	Successors []Entry
	Path       []Entry
	Hops       int
	Err        error
}

// Ready is what the driver must do: send Messages (to To.Addr) and hand
// Results to the callers waiting for them. Nothing is persisted: Chord's
// state is soft and rebuilt after a restart.
type Ready struct {
	Messages []Message
	Results  []Result
}

type nodeState uint8

const (
	stateIdle nodeState = iota
	stateJoining
	stateJoined
	stateLeft
)

var stateNames = [...]string{"idle", "joining", "joined", "left"}

// Node is one Chord node: a pure state machine, not safe for concurrent
// use. Its driver delivers messages with Step, calls Tick, and carries out
// Ready.
type Node struct {
	cfg   Config
	self  Entry
	rng   *rand.Rand
	now   uint64
	state nodeState

	succs   []Entry // successor list, nearest first, without self; empty: alone
	wrapped bool    // succs is short because it reached this node again
	pred    Entry
	hasPred bool
	fingers [id.Bits]Entry

	nextFinger int
	fingerSeq  uint64 // the finger lookup in flight, 0 if none

	waiting map[id.ID]uint64        // peer -> tick of its oldest unanswered ping or request
	dead    map[id.ID]uint64        // peer -> tick it was declared dead (or left)
	rtt     map[id.ID]time.Duration // smoothed round-trip times from pongs

	seq  uint64
	reqs map[uint64]*request

	nextStabilize, nextCheck, nextFix uint64

	msgs    []Message
	results []Result
	stats   Stats
}

// Stats counts a node's work, for simulations and status pages.
type Stats struct {
	Sent, SentBytes uint64 // messages this node sent, and their encoded size
	Forwarded       uint64 // lookups passed on
	Answered        uint64 // lookups answered as the key's predecessor
	Dropped         uint64 // lookups dropped: no live next hop, or too many hops
	Failures        uint64 // peers declared dead
}

// New returns a node that is not yet part of any ring: call Bootstrap for
// the first node, Join for the others.
func New(cfg Config) (*Node, error) {
	if err := cfg.withDefaults(); err != nil {
		return nil, err
	}
	n := &Node{
		cfg:     cfg,
		self:    Entry{ID: cfg.ID, Addr: cfg.Addr},
		waiting: map[id.ID]uint64{},
		dead:    map[id.ID]uint64{},
		rtt:     map[id.ID]time.Duration{},
		reqs:    map[uint64]*request{},
	}
	n.rng = rand.New(rand.NewPCG(cfg.Seed, cfg.ID.Uint64()))
	phase := func(every int) uint64 {
		if every <= 0 {
			return 0
		}
		return uint64(1 + n.rng.IntN(every))
	}
	n.nextStabilize = phase(cfg.StabilizeTicks)
	n.nextCheck = phase(cfg.CheckPredTicks)
	n.nextFix = phase(cfg.FixFingerTicks)
	return n, nil
}

// Self returns this node's entry.
func (n *Node) Self() Entry { return n.self }

// Joined reports whether the node is part of a ring.
func (n *Node) Joined() bool { return n.state == stateJoined }

// Left reports whether the node has left its ring.
func (n *Node) Left() bool { return n.state == stateLeft }

// Config returns the node's configuration, defaults filled in.
func (n *Node) Config() Config { return n.cfg }

// Successors returns the successor list, nearest first. It is empty when
// the node is alone on its ring.
func (n *Node) Successors() []Entry { return slices.Clone(n.succs) }

// Predecessor returns the node's predecessor, if it knows one.
func (n *Node) Predecessor() (Entry, bool) { return n.pred, n.hasPred }

// Fingers returns the finger table: finger i is the successor of
// self + 2^i as last looked up, zero where unknown.
func (n *Node) Fingers() []Entry { return slices.Clone(n.fingers[:]) }

// RTT returns the smoothed round-trip time to a peer measured from pongs,
// and whether there is one.
func (n *Node) RTT(x id.ID) (time.Duration, bool) {
	d, ok := n.rtt[x]
	return d, ok
}

// Responsible reports whether key lies in (predecessor, self]: whether this
// node is the key's successor as far as it knows. A node alone on its ring
// is responsible for every key; one without a predecessor for none.
func (n *Node) Responsible(key id.ID) bool {
	if n.state != stateJoined {
		return false
	}
	if len(n.succs) == 0 {
		return true
	}
	return n.hasPred && id.BetweenRightIncl(n.pred.ID, key, n.self.ID)
}

// Stats returns the node's counters.
func (n *Node) Stats() Stats { return n.stats }

// Status is a summary of a node, for status pages and the CLI.
type Status struct {
	ID          id.ID
	Addr        transport.Addr
	State       string
	Tick        uint64
	Successor   Entry // zero when alone
	Predecessor Entry // zero when unknown
	Successors  int
	Fingers     int // distinct peers in the finger table
	Dead        int // peers believed dead
	Requests    int // lookups in flight
}

// Status returns a summary of the node.
func (n *Node) Status() Status {
	s := Status{ID: n.self.ID, Addr: n.self.Addr, State: stateNames[n.state], Tick: n.now,
		Successors: len(n.succs), Dead: len(n.dead), Requests: len(n.reqs)}
	if len(n.succs) > 0 {
		s.Successor = n.succs[0]
	}
	if n.hasPred {
		s.Predecessor = n.pred
	}
	seen := map[id.ID]bool{}
	for _, f := range n.fingers {
		if f.ID != (id.ID{}) && !seen[f.ID] {
			seen[f.ID] = true
			s.Fingers++
		}
	}
	return s
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

// send queues m for to. Nothing is ever sent to this node itself: callers
// handle their own messages locally.
func (n *Node) send(to Entry, m Message) {
	m.From, m.To = n.self, to
	n.stats.Sent++
	n.stats.SentBytes += uint64(m.Size())
	n.msgs = append(n.msgs, m)
}

// expect records that an answer from x is due: if none comes (nor any
// other message from x) within FailureTicks, x is declared dead.
func (n *Node) expect(x id.ID) {
	if _, ok := n.waiting[x]; !ok {
		n.waiting[x] = n.now
	}
}

func (n *Node) result(r Result) { n.results = append(n.results, r) }

// Bootstrap makes this node the first of a new ring: a ring of one.
func (n *Node) Bootstrap() error {
	if n.state != stateIdle {
		return fmt.Errorf("chord: bootstrap: node is %s", stateNames[n.state])
	}
	n.state = stateJoined
	return nil
}

// Step handles a message from a peer. A malformed message, or one
// addressed to another node id, is an error and changes nothing. A
// message with a zero To.ID (a peer that knows only the address) is
// accepted.
func (n *Node) Step(m Message) error {
	if err := m.Validate(); err != nil {
		return err
	}
	if n.state == stateLeft {
		return ErrLeft
	}
	if m.To.ID != (id.ID{}) && m.To.ID != n.self.ID {
		return fmt.Errorf("%w: to %s, this is %s", ErrWrongNode, m.To.ID.Short(8), n.self.ID.Short(8))
	}
	if m.From.ID == n.self.ID {
		return fmt.Errorf("%w: %v from this node's own id", ErrMalformed, m.Type)
	}
	switch m.Type {
	case MsgFindSuccessor, MsgGetPredecessor:
		if n.state != stateJoined {
			// In no ring, this node would answer as everyone's successor.
			return fmt.Errorf("%w: %v for %s", ErrNotJoined, m.Type, m.Key.Short(8))
		}
	}
	// Any message shows its sender is alive.
	delete(n.waiting, m.From.ID)
	delete(n.dead, m.From.ID)
	switch m.Type {
	case MsgPing:
		n.send(m.From, Message{Type: MsgPong, Seq: m.Seq})
	case MsgPong:
		if m.RTT > 0 {
			if old, ok := n.rtt[m.From.ID]; ok {
				n.rtt[m.From.ID] = (3*old + m.RTT) / 4 // smoothed: one slow answer does not reorder routes
			} else {
				n.rtt[m.From.ID] = m.RTT
			}
		}
	case MsgFindSuccessor:
		n.route(m, false)
	case MsgFoundSuccessor:
		n.found(m)
	case MsgGetPredecessor:
		rep := Message{Type: MsgPredecessor, Seq: m.Seq, Succs: n.advertised()}
		if n.hasPred {
			rep.Pred = n.pred
		}
		n.send(m.From, rep)
	case MsgPredecessor:
		n.stabilizeReply(m)
	case MsgNotify:
		n.notify(m.From)
	case MsgLeave:
		n.peerLeft(m)
	}
	return nil
}

// Tick advances the node's clock by one tick and runs what is due.
func (n *Node) Tick() {
	if n.state == stateLeft {
		return
	}
	n.now++
	c := &n.cfg
	n.detectFailures()
	if n.state == stateJoined {
		if c.StabilizeTicks > 0 && n.now >= n.nextStabilize {
			n.nextStabilize = n.now + uint64(c.StabilizeTicks)
			n.Stabilize()
		}
		if c.CheckPredTicks > 0 && n.now >= n.nextCheck {
			n.nextCheck = n.now + uint64(c.CheckPredTicks)
			n.CheckPeers()
		}
		if c.FixFingerTicks > 0 && n.now >= n.nextFix {
			n.nextFix = n.now + uint64(c.FixFingerTicks)
			n.FixFinger()
		}
	}
	n.expireRequests()
}

func sortedKeys[K interface{ ~uint64 }, V any](m map[K]V) []K {
	keys := make([]K, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

func sortedIDs[V any](m map[id.ID]V) []id.ID {
	keys := make([]id.ID, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, id.Compare)
	return keys
}
