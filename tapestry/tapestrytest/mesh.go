// Package tapestrytest runs many pure Tapestry nodes in one process, on a
// seeded, discrete-event network with latencies from points in a plane.
// Tests and the simulator (sim/) use it. Nothing here reads the clock or
// starts a goroutine: a seed replays a run exactly.
package tapestrytest

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"time"

	"github.com/puddlestore/puddlestore/id"
	"github.com/puddlestore/puddlestore/internal/eventq"
	"github.com/puddlestore/puddlestore/tapestry"
	"github.com/puddlestore/puddlestore/transport"
)

// Config configures a mesh.
type Config struct {
	Seed uint64
	// MinDelay and MaxDelay bound one-way delays: nodes are points in the
	// unit square, and a delay grows linearly with distance, from MinDelay
	// to MaxDelay across the diagonal (defaults 1 ms and 100 ms).
	MinDelay, MaxDelay time.Duration
	// Tick is the simulated length of a tick (default 100 ms).
	Tick time.Duration
	// DropRate is the chance that a message is lost.
	DropRate float64
	// Node adjusts each node's config (ID, Addr and Seed are set).
	Node func(c *tapestry.Config)
}

// Member is one node of the mesh.
type Member struct {
	*tapestry.Node
	Index   int
	X, Y    float64
	Up      bool
	Results []tapestry.Result
}

// Mesh is the simulated network and its nodes.
type Mesh struct {
	cfg     Config
	rng     *rand.Rand
	now     time.Duration
	nextTk  time.Duration
	queue   eventq.Queue[*event]
	members []*Member
	byAddr  map[transport.Addr]*Member
	byID    map[id.ID]*Member

	// Trace, when set, sees every message as it is delivered, with the
	// delay it took (simulators trace requests with it).
	Trace func(from, to *Member, msg *tapestry.Message, delay time.Duration)

	// Counters over the whole run.
	Messages, Bytes uint64
	Dropped         uint64
	ByType          [32]uint64
}

type event struct {
	at    time.Duration
	from  *Member
	to    *Member
	delay time.Duration
	msg   tapestry.Message
}

// New returns an empty mesh.
func New(cfg Config) *Mesh {
	if cfg.MinDelay == 0 && cfg.MaxDelay == 0 {
		cfg.MinDelay, cfg.MaxDelay = time.Millisecond, 100*time.Millisecond
	}
	if cfg.Tick == 0 {
		cfg.Tick = 100 * time.Millisecond
	}
	return &Mesh{cfg: cfg, rng: rand.New(rand.NewPCG(cfg.Seed, 0x7a9e57)), nextTk: cfg.Tick,
		byAddr: map[transport.Addr]*Member{}, byID: map[id.ID]*Member{}}
}

// Now returns the simulated time.
func (m *Mesh) Now() time.Duration { return m.now }

// Members returns every node ever added, in order.
func (m *Mesh) Members() []*Member { return m.members }

// Live returns the nodes that are up.
func (m *Mesh) Live() []*Member {
	var out []*Member
	for _, x := range m.members {
		if x.Up {
			out = append(out, x)
		}
	}
	return out
}

// Member returns the node with id x.
func (m *Mesh) Member(x id.ID) *Member { return m.byID[x] }

// Add creates a node with a random id at a random point; it is up but in
// no mesh until Bootstrap or Join.
func (m *Mesh) Add() *Member { return m.AddWithID(id.Random(m.rng)) }

// AddWithID is Add with a chosen id, for scripts that want readable,
// predictable tables.
func (m *Mesh) AddWithID(nodeID id.ID) *Member {
	i := len(m.members)
	c := tapestry.Config{ID: nodeID, Addr: transport.Addr(fmt.Sprintf("n%d", i)), Seed: m.rng.Uint64()}
	if m.cfg.Node != nil {
		m.cfg.Node(&c)
	}
	n, err := tapestry.New(c)
	if err != nil {
		panic(err) // a bad Config from the caller
	}
	x := &Member{Node: n, Index: i, X: m.rng.Float64(), Y: m.rng.Float64(), Up: true}
	m.members = append(m.members, x)
	m.byAddr[c.Addr] = x
	m.byID[c.ID] = x
	return x
}

// Delay returns the one-way delay between two nodes.
func (m *Mesh) Delay(a, b *Member) time.Duration {
	d := math.Hypot(a.X-b.X, a.Y-b.Y) / math.Sqrt2
	return m.cfg.MinDelay + time.Duration(d*float64(m.cfg.MaxDelay-m.cfg.MinDelay))
}

// flush sends what x's node has ready.
func (m *Mesh) flush(x *Member) {
	for x.HasReady() {
		rd := x.Ready()
		x.Results = append(x.Results, rd.Results...)
		for _, msg := range rd.Messages {
			m.Messages++
			m.Bytes += uint64(msg.Size())
			if int(msg.Type) < len(m.ByType) {
				m.ByType[msg.Type]++
			}
			to := m.byAddr[msg.ToAddr]
			if to == nil || !x.Up || (m.cfg.DropRate > 0 && m.rng.Float64() < m.cfg.DropRate) {
				m.Dropped++
				continue
			}
			d := m.Delay(x, to)
			m.queue.Push(m.now+d, &event{at: m.now + d, from: x, to: to, delay: d, msg: msg})
		}
	}
}

// deliver hands one message to its node, as a driver would: a pong gets
// the round-trip time the sender's driver would have measured.
func (m *Mesh) deliver(e *event) {
	if !e.to.Up {
		m.Dropped++
		return
	}
	if e.msg.Type == tapestry.MsgPong {
		e.msg.RTT = 2 * e.delay
	}
	if m.Trace != nil {
		m.Trace(e.from, e.to, &e.msg, e.delay)
	}
	_ = e.to.Step(e.msg) // errors are the node's business; tests check outcomes
	m.flush(e.to)
}

// Run runs the mesh for d of simulated time: messages in time order and a
// tick of every live node each Tick.
func (m *Mesh) Run(d time.Duration) {
	end := m.now + d
	for {
		next := m.nextTk
		if at, ok := m.queue.Next(); ok && at < next {
			next = at
		}
		if next > end {
			m.now = end
			return
		}
		m.now = next
		if next == m.nextTk {
			m.nextTk += m.cfg.Tick
			for _, x := range m.members {
				if x.Up {
					x.Tick()
					m.flush(x)
				}
			}
			continue
		}
		_, e := m.queue.Pop()
		m.deliver(e)
	}
}

// Quiesce delivers messages, without ticks, until none is in flight or
// limit messages were delivered; it reports whether the mesh went quiet.
// Static simulations build and query meshes this way: without ticks,
// nothing times out and nothing is sent unprompted.
func (m *Mesh) Quiesce(limit int) bool {
	for i := 0; i < limit; i++ {
		if m.queue.Len() == 0 {
			return true
		}
		_, e := m.queue.Pop()
		m.now = max(m.now, e.at)
		if m.nextTk < m.now {
			m.nextTk = m.now - m.now%m.cfg.Tick + m.cfg.Tick
		}
		m.deliver(e)
	}
	return m.queue.Len() == 0
}

// Do runs f on x's node and sends what it produced.
func (m *Mesh) Do(x *Member, f func(n *tapestry.Node)) {
	f(x.Node)
	m.flush(x)
}

// Take removes and returns x's first result matching kind and req.
func (x *Member) Take(kind tapestry.ResultKind, req uint64) (tapestry.Result, bool) {
	for i, r := range x.Results {
		if r.Kind == kind && r.Req == req {
			x.Results = slices.Delete(x.Results, i, i+1)
			return r, true
		}
	}
	return tapestry.Result{}, false
}

// Kill stops x at once, as a crash: it answers nothing more.
func (m *Mesh) Kill(x *Member) { x.Up = false }

// Root returns the node that should be key's root among the live joined
// nodes: at each level, the first digit at or after key's (wrapping) that
// some node's id continues the prefix with (surrogate routing, §3.2).
func (m *Mesh) Root(key id.ID) *Member {
	cands := make([]*Member, 0, len(m.members))
	for _, x := range m.members {
		if x.Up && x.Joined() {
			cands = append(cands, x)
		}
	}
	for level := 0; len(cands) > 1 && level < id.Digits; level++ {
		var by [id.Base][]*Member
		for _, x := range cands {
			d := x.Self().ID.Digit(level)
			by[d] = append(by[d], x)
		}
		want := key.Digit(level)
		for k := range id.Base {
			if d := (want + k) % id.Base; len(by[d]) > 0 {
				cands = by[d]
				break
			}
		}
	}
	if len(cands) == 0 {
		return nil
	}
	return cands[0]
}

// JoinAll bootstraps the mesh with its first node if it has none joined,
// then joins each of xs through a random joined node, one after another,
// each run to quiescence (limit messages at most). It returns an error
// naming the first node that did not join.
func (m *Mesh) JoinAll(xs []*Member, limit int) error {
	var joined []*Member
	for _, x := range m.members {
		if x.Up && x.Joined() {
			joined = append(joined, x)
		}
	}
	for _, x := range xs {
		if len(joined) == 0 {
			if err := x.Bootstrap(); err != nil {
				return err
			}
			joined = append(joined, x)
			continue
		}
		if err := m.Join(x, joined[m.rng.IntN(len(joined))], limit); err != nil {
			return err
		}
		joined = append(joined, x)
	}
	return nil
}

// Join joins x through gw and runs the mesh, without ticks, until it is
// quiet (limit messages at most). It returns an error if x did not join.
func (m *Mesh) Join(x, gw *Member, limit int) error {
	req := uint64(x.Index) + 1
	var err error
	m.Do(x, func(n *tapestry.Node) { err = n.Join(req, gw.Self().Addr) })
	if err != nil {
		return err
	}
	m.Quiesce(limit)
	if _, ok := x.Take(tapestry.ResultJoined, req); !ok || !x.Joined() {
		return fmt.Errorf("node %d (%s) did not join through %s", x.Index, x.Self().ID.Short(8), gw.Self().ID.Short(8))
	}
	return nil
}

// prefixFloor returns x with every digit from the digits-th on set to 0.
func prefixFloor(x id.ID, digits int) id.ID {
	for i := digits; i < id.Digits; i++ {
		x = x.WithDigit(i, 0)
	}
	return x
}

// CheckTables checks the property that makes roots unique (§3.2): on every
// live joined node, a slot is filled if and only if some live joined node
// has its prefix, and holds no node that is down. It returns the first
// violations found (at most max).
func (m *Mesh) CheckTables(max int) []string {
	var ids []id.ID
	for _, x := range m.members {
		if x.Up && x.Joined() {
			ids = append(ids, x.Self().ID)
		}
	}
	slices.SortFunc(ids, id.Compare)
	// exists reports whether a node has x's first digits digits.
	exists := func(x id.ID, digits int) bool {
		lo := prefixFloor(x, digits)
		i, _ := slices.BinarySearchFunc(ids, lo, id.Compare)
		return i < len(ids) && id.SharedPrefixLen(ids[i], x) >= digits
	}
	var bad []string
	for _, x := range m.members {
		if !x.Up || !x.Joined() {
			continue
		}
		self := x.Self().ID
		t := x.Table()
		for l := 0; l < id.Digits && len(bad) < max; l++ {
			// Stop once no other node shares l digits with x.
			lo := prefixFloor(self, l)
			i, _ := slices.BinarySearchFunc(ids, lo, id.Compare)
			if i+1 >= len(ids) || id.SharedPrefixLen(ids[i+1], self) < l {
				break
			}
			for d := range id.Base {
				if d == self.Digit(l) {
					continue
				}
				p := self.WithDigit(l, d)
				slot := t.Slot(l, d)
				want := exists(p, l+1)
				if want != (len(slot) > 0) {
					bad = append(bad, fmt.Sprintf("node %d %s: level %d digit %x: %d entries, a node with the prefix exists: %v",
						x.Index, self.Short(10), l, d, len(slot), want))
				}
				for _, e := range slot {
					if y := m.byID[e.ID]; y == nil || !y.Up {
						bad = append(bad, fmt.Sprintf("node %d %s: level %d digit %x holds %s, which is down",
							x.Index, self.Short(10), l, d, e.ID.Short(10)))
					}
				}
			}
		}
	}
	return bad
}
