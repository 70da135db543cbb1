// Package chordtest runs many pure Chord nodes in one process, on a
// seeded, discrete-event network with latencies from points in a plane.
// Tests and the simulator (sim/) use it. Nothing here reads the clock or
// starts a goroutine: a seed replays a run exactly.
//
// A Host is one simulated computer: a point in the plane and an address.
// With Config.VirtualNodes > 1 it runs several ring positions (Members),
// which share its point and address; the mesh hands each message to the
// member named by its To.ID, as a driver with virtual nodes would.
package chordtest

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"time"

	"github.com/puddlestore/puddlestore/chord"
	"github.com/puddlestore/puddlestore/id"
	"github.com/puddlestore/puddlestore/internal/eventq"
	"github.com/puddlestore/puddlestore/transport"
)

// Config configures a mesh.
type Config struct {
	Seed uint64
	// MinDelay and MaxDelay bound one-way delays: hosts are points in the
	// unit square, and a delay grows linearly with distance, from MinDelay
	// to MaxDelay across the diagonal (defaults 1 ms and 100 ms).
	MinDelay, MaxDelay time.Duration
	// Tick is the simulated length of a tick (default 100 ms).
	Tick time.Duration
	// DropRate is the chance that a message is lost.
	DropRate float64
	// VirtualNodes is the number of ring positions per host (default 1).
	VirtualNodes int
	// Node adjusts each node's config (ID, Addr and Seed are set).
	Node func(c *chord.Config)
}

// Host is one simulated computer.
type Host struct {
	Index   int
	Addr    transport.Addr
	X, Y    float64
	Up      bool
	Members []*Member
}

// Member is one ring position (a virtual node) of a host.
type Member struct {
	*chord.Node
	Index   int // over all members of the mesh, in order of creation
	Host    *Host
	Results []chord.Result
}

// Up reports whether x's host is up and x has not left.
func (x *Member) Up() bool { return x.Host.Up && !x.Left() }

// Has reports whether x has a result matching kind and req.
func (x *Member) Has(kind chord.ResultKind, req uint64) bool {
	return slices.ContainsFunc(x.Results, func(r chord.Result) bool { return r.Kind == kind && r.Req == req })
}

// Take removes and returns x's first result matching kind and req.
func (x *Member) Take(kind chord.ResultKind, req uint64) (chord.Result, bool) {
	for i, r := range x.Results {
		if r.Kind == kind && r.Req == req {
			x.Results = slices.Delete(x.Results, i, i+1)
			return r, true
		}
	}
	return chord.Result{}, false
}

// Mesh is the simulated network and its nodes.
type Mesh struct {
	cfg     Config
	rng     *rand.Rand
	now     time.Duration
	nextTk  time.Duration
	queue   eventq.Queue[*event]
	req     uint64
	hosts   []*Host
	members []*Member
	byAddr  map[transport.Addr]*Host
	byID    map[id.ID]*Member

	// Trace, when set, sees every message as it is delivered, with the
	// delay it took (simulators measure stretch with it).
	Trace func(from, to *Member, msg *chord.Message, delay time.Duration)

	// Counters over the whole run.
	Messages, Bytes uint64
	Dropped         uint64
	ByType          [16]uint64
}

type event struct {
	at    time.Duration
	from  *Member
	to    *Member
	delay time.Duration
	msg   chord.Message
}

// New returns an empty mesh.
func New(cfg Config) *Mesh {
	if cfg.MinDelay == 0 && cfg.MaxDelay == 0 {
		cfg.MinDelay, cfg.MaxDelay = time.Millisecond, 100*time.Millisecond
	}
	if cfg.Tick == 0 {
		cfg.Tick = 100 * time.Millisecond
	}
	if cfg.VirtualNodes < 1 {
		cfg.VirtualNodes = 1
	}
	return &Mesh{cfg: cfg, rng: rand.New(rand.NewPCG(cfg.Seed, 0xc401d)), nextTk: cfg.Tick,
		byAddr: map[transport.Addr]*Host{}, byID: map[id.ID]*Member{}}
}

// Now returns the simulated time.
func (m *Mesh) Now() time.Duration { return m.now }

// Hosts returns every host ever added, in order.
func (m *Mesh) Hosts() []*Host { return m.hosts }

// Members returns every member ever added, in order.
func (m *Mesh) Members() []*Member { return m.members }

// Live returns the members that are up and joined.
func (m *Mesh) Live() []*Member {
	var out []*Member
	for _, x := range m.members {
		if x.Up() && x.Joined() {
			out = append(out, x)
		}
	}
	return out
}

// Member returns the member with id x.
func (m *Mesh) Member(x id.ID) *Member { return m.byID[x] }

// NewHost creates a host at a random point with VirtualNodes members of
// random ids; they are in no ring until Bootstrap or Join.
func (m *Mesh) NewHost() *Host {
	ids := make([]id.ID, m.cfg.VirtualNodes)
	for i := range ids {
		ids[i] = id.Random(m.rng)
	}
	return m.NewHostWithIDs(ids...)
}

// NewHostWithIDs is NewHost with chosen ids, one member each, for scripts
// that want a readable ring.
func (m *Mesh) NewHostWithIDs(ids ...id.ID) *Host {
	h := &Host{Index: len(m.hosts), Addr: transport.Addr(fmt.Sprintf("h%d", len(m.hosts))),
		X: m.rng.Float64(), Y: m.rng.Float64(), Up: true}
	for _, x := range ids {
		c := chord.Config{ID: x, Addr: h.Addr, Seed: m.rng.Uint64()}
		if m.cfg.Node != nil {
			m.cfg.Node(&c)
		}
		n, err := chord.New(c)
		if err != nil {
			panic(err) // a bad Config from the caller
		}
		if m.byID[x] != nil {
			panic(fmt.Sprintf("chordtest: id %s used twice", x.Short(8)))
		}
		mb := &Member{Node: n, Index: len(m.members), Host: h}
		h.Members = append(h.Members, mb)
		m.members = append(m.members, mb)
		m.byID[x] = mb
	}
	m.hosts = append(m.hosts, h)
	m.byAddr[h.Addr] = h
	return h
}

// AddHost creates a host and starts its members: the first member of the
// mesh bootstraps the ring, every other joins through a random live
// joined member (another host's when there is one). It returns the new
// members; their joins finish as the mesh runs.
func (m *Mesh) AddHost() []*Member {
	h := m.NewHost()
	for _, x := range h.Members {
		live := m.Live()
		if len(live) == 0 {
			if err := x.Bootstrap(); err != nil {
				panic(err) // a fresh node always bootstraps
			}
			continue
		}
		gw := live[m.rng.IntN(len(live))]
		m.req++
		req := m.req
		m.Do(x, func(n *chord.Node) { n.Join(req, gw.Self()) })
	}
	return h.Members
}

// Delay returns the one-way delay between two members' hosts.
func (m *Mesh) Delay(a, b *Member) time.Duration {
	d := math.Hypot(a.Host.X-b.Host.X, a.Host.Y-b.Host.Y) / math.Sqrt2
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
			to := m.route(msg.To)
			if to == nil || !x.Host.Up || (m.cfg.DropRate > 0 && m.rng.Float64() < m.cfg.DropRate) {
				m.Dropped++
				continue
			}
			d := m.Delay(x, to)
			m.queue.Push(m.now+d, &event{at: m.now + d, from: x, to: to, delay: d, msg: msg})
		}
	}
}

// route finds the member a message to e goes to: by address, then by id
// among the host's members (the first when the id is zero).
func (m *Mesh) route(e chord.Entry) *Member {
	h := m.byAddr[e.Addr]
	if h == nil || len(h.Members) == 0 {
		return nil
	}
	if e.ID == (id.ID{}) {
		return h.Members[0]
	}
	for _, x := range h.Members {
		if x.Self().ID == e.ID {
			return x
		}
	}
	return nil
}

// deliver hands one message to its node, as a driver would: a pong gets
// the round-trip time the pinging driver would have measured (the delay
// is symmetric).
func (m *Mesh) deliver(e *event) {
	if !e.to.Host.Up {
		m.Dropped++
		return
	}
	if e.msg.Type == chord.MsgPong {
		e.msg.RTT = 2 * e.delay
	}
	if m.Trace != nil {
		m.Trace(e.from, e.to, &e.msg, e.delay)
	}
	_ = e.to.Step(e.msg) // errors are the node's business; tests check outcomes
	m.flush(e.to)
}

// Run runs the mesh for d of simulated time: messages in time order and a
// tick of every live member each Tick.
func (m *Mesh) Run(d time.Duration) { m.run(m.now+d, nil) }

// RunUntil runs the mesh until cond holds (checked after every tick) or
// max has passed, and reports whether cond held.
func (m *Mesh) RunUntil(cond func() bool, max time.Duration) bool {
	if cond() {
		return true
	}
	return m.run(m.now+max, cond)
}

func (m *Mesh) run(end time.Duration, cond func() bool) bool {
	for {
		next := m.nextTk
		if at, ok := m.queue.Next(); ok && at < next {
			next = at
		}
		if next > end {
			m.now = end
			return false
		}
		m.now = next
		if next == m.nextTk {
			m.nextTk += m.cfg.Tick
			for _, x := range m.members {
				if x.Host.Up {
					x.Tick()
					m.flush(x)
				}
			}
			if cond != nil && cond() {
				return true
			}
			continue
		}
		_, e := m.queue.Pop()
		m.deliver(e)
	}
}

// Quiesce delivers messages, without ticks, until none is in flight or
// limit messages were delivered; it reports whether the mesh went quiet.
// Without ticks nothing times out and nothing is sent unprompted.
func (m *Mesh) Quiesce(limit int) bool {
	for range limit {
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
func (m *Mesh) Do(x *Member, f func(n *chord.Node)) {
	f(x.Node)
	m.flush(x)
}

// StartLookup starts a lookup of key from x and returns its request
// number; the result arrives in x.Results as the mesh runs.
func (m *Mesh) StartLookup(x *Member, key id.ID) uint64 {
	m.req++
	req := m.req
	m.Do(x, func(n *chord.Node) { n.Lookup(req, key) })
	return req
}

// Lookup looks key up from x and runs the mesh (ticks included) until the
// answer arrives, for at most max; ok is false if none came.
func (m *Mesh) Lookup(x *Member, key id.ID, max time.Duration) (r chord.Result, ok bool) {
	m.req++
	req := m.req
	m.Do(x, func(n *chord.Node) { n.Lookup(req, key) })
	m.RunUntil(func() bool {
		r, ok = x.Take(chord.ResultLookup, req)
		return ok
	}, max)
	return r, ok
}

// Kill crashes host h: its members answer nothing more.
func (m *Mesh) Kill(h *Host) { h.Up = false }

// Leave makes every member of host h leave gracefully; the host stays up
// to send the goodbyes and is then no longer part of the ring.
func (m *Mesh) Leave(h *Host) {
	for _, x := range h.Members {
		m.Do(x, func(n *chord.Node) { n.Leave() })
	}
}

// ring returns the live joined members' ids, sorted.
func (m *Mesh) ring() []id.ID {
	var ids []id.ID
	for _, x := range m.Live() {
		ids = append(ids, x.Self().ID)
	}
	slices.SortFunc(ids, id.Compare)
	return ids
}

// TrueSuccessors returns the first r live joined members at or after key,
// clockwise: what a lookup of key should answer.
func (m *Mesh) TrueSuccessors(key id.ID, r int) []chord.Entry {
	ids := m.ring()
	if len(ids) == 0 {
		return nil
	}
	i, _ := slices.BinarySearchFunc(ids, key, id.Compare)
	out := make([]chord.Entry, 0, min(r, len(ids)))
	for k := 0; k < min(r, len(ids)); k++ {
		out = append(out, m.byID[ids[(i+k)%len(ids)]].Self())
	}
	return out
}

// Consistent checks that every live member has joined and that its
// successor and predecessor are the true ones among the live joined
// members (§4.4's definition of a stable ring). It returns the first
// failure.
func (m *Mesh) Consistent() error { return m.check(false) }

// ConsistentLists is Consistent, and also checks every successor list in
// full: the next r live members (fewer on a small ring).
func (m *Mesh) ConsistentLists() error { return m.check(true) }

func (m *Mesh) check(lists bool) error {
	for _, x := range m.members {
		if x.Up() && !x.Joined() {
			return fmt.Errorf("member %d (%s) has not joined", x.Index, x.Self().ID.Short(8))
		}
	}
	ids := m.ring()
	for i, self := range ids {
		x := m.byID[self]
		succs := x.Successors()
		pred, hasPred := x.Predecessor()
		if len(ids) == 1 {
			if len(succs) != 0 {
				return fmt.Errorf("member %d (%s) is alone but has successor %s", x.Index, self.Short(8),
					succs[0].ID.Short(8))
			}
			continue
		}
		want := ids[(i+1)%len(ids)]
		if len(succs) == 0 || succs[0].ID != want {
			return fmt.Errorf("member %d (%s): successor %s, want %s", x.Index, self.Short(8), first(succs), want.Short(8))
		}
		wantPred := ids[(i+len(ids)-1)%len(ids)]
		if !hasPred || pred.ID != wantPred {
			got := "none"
			if hasPred {
				got = pred.ID.Short(8)
			}
			return fmt.Errorf("member %d (%s): predecessor %s, want %s", x.Index, self.Short(8), got, wantPred.Short(8))
		}
		if !lists {
			continue
		}
		r := len(succs)
		if r < x.cfgSuccessors() && r < len(ids)-1 {
			return fmt.Errorf("member %d (%s): %d successors, want %d", x.Index, self.Short(8), r,
				min(x.cfgSuccessors(), len(ids)-1))
		}
		for k, e := range succs {
			if w := ids[(i+1+k)%len(ids)]; e.ID != w {
				return fmt.Errorf("member %d (%s): successor %d is %s, want %s", x.Index, self.Short(8), k,
					e.ID.Short(8), w.Short(8))
			}
		}
	}
	return nil
}

func (x *Member) cfgSuccessors() int { return x.Config().Successors }

func first(es []chord.Entry) string {
	if len(es) == 0 {
		return "none"
	}
	return es[0].ID.Short(8)
}
