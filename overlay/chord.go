package overlay

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"google.golang.org/grpc"

	"github.com/puddlestore/puddlestore/chord"
	"github.com/puddlestore/puddlestore/id"
	"github.com/puddlestore/puddlestore/transport"
)

// ChordConfig configures a Chord node. Timeouts of the core are in ticks;
// Tick says how long one is.
type ChordConfig struct {
	// ID of the node (its first ring position); zero picks a random one.
	ID id.ID

	// Listen, Register, Latency, Transport and Mux are as in
	// TapestryConfig; the node registers for transport.ServiceChord.
	Listen    string
	Register  func(*grpc.Server)
	Latency   transport.LatencyModel
	Transport transport.Transport
	Mux       *transport.Mux

	// Join is the address of any node of the ring to join; empty starts a
	// new ring.
	Join transport.Addr

	// Tick is the length of the core's tick (default 100ms).
	Tick time.Duration
	// Successors is the successor-list length r (default 8). Responsible
	// returns the distinct nodes among a key's first r successors, so it
	// must be at least the block layer's R (times VirtualNodes, so that
	// R distinct nodes are among them).
	Successors int
	// VirtualNodes is how many ring positions the node takes (default 1),
	// for load balance (paper §6.2): position 0 is ID, position i is the
	// hash of ID and i. All positions share the node's address.
	VirtualNodes int
	// Core knobs, in ticks; zero takes the core's defaults (chord.Config).
	StabilizeTicks, FixFingerTicks, CheckPredTicks, FailureTicks, RequestTicks int
	// Seed of the core's randomness; zero picks one.
	Seed uint64
	// LeaveGrace is as in TapestryConfig (default 200ms).
	LeaveGrace time.Duration
	// Logger; nil discards.
	Logger *slog.Logger
}

// Chord is a node of a Chord ring: one loop (loop.go) per ring position,
// all on one transport. It implements Overlay.
//
// Chord places a key on its successors, so Responsible and Locate are the
// same lookup: Locate returns the key's successors nearest first where
// their round-trip time is known, and Publish and Unpublish have nothing
// to announce (the block layer stores a block on the nodes Responsible
// names and repairs it there).
type Chord struct {
	cfg       ChordConfig
	log       *slog.Logger
	tr        transport.Transport
	ownTr     bool
	mux       *transport.Mux
	self      Peer
	vnodes    []*chordVnode
	byID      map[id.ID]*chordVnode // fixed after start
	closeOnce sync.Once
	dropped   atomic.Uint64 // incoming messages dropped: malformed, unknown position, or the loop behind

	rttMu sync.Mutex
	rtt   map[transport.Addr]time.Duration // smoothed round-trip times, by address
}

var _ Overlay = (*Chord)(nil)

// chordVnode is one ring position and the loop that runs its core.
type chordVnode struct {
	*loop[chord.Message, chord.Result]
	c     *Chord
	node  *chord.Node
	pings pings
}

// StartChord starts a node and, with cfg.Join, waits until every ring
// position has joined (or ctx ends).
func StartChord(ctx context.Context, cfg ChordConfig) (*Chord, error) {
	if cfg.Tick <= 0 {
		cfg.Tick = 100 * time.Millisecond
	}
	if cfg.Successors <= 0 {
		cfg.Successors = 8
	}
	if cfg.VirtualNodes <= 0 {
		cfg.VirtualNodes = 1
	}
	if cfg.LeaveGrace == 0 {
		cfg.LeaveGrace = 200 * time.Millisecond
	}
	if err := randomize(&cfg.ID, &cfg.Seed); err != nil {
		return nil, err
	}
	c := &Chord{cfg: cfg, log: cfg.Logger, byID: map[id.ID]*chordVnode{}, rtt: map[transport.Addr]time.Duration{}}
	if c.log == nil {
		c.log = slog.New(slog.DiscardHandler)
	}
	nw := network{listen: cfg.Listen, register: cfg.Register, latency: cfg.Latency, tr: cfg.Transport, mux: cfg.Mux, log: cfg.Logger}
	var err error
	if c.tr, c.mux, c.ownTr, err = nw.open(ctx, "ChordConfig", c); err != nil {
		return nil, err
	}
	c.self = Peer{ID: cfg.ID, Addr: c.tr.Addr()}
	for i := range cfg.VirtualNodes {
		vid := VirtualID(cfg.ID, i)
		if c.byID[vid] != nil {
			c.abort()
			return nil, fmt.Errorf("%w: virtual node ids collide", ErrInvalid)
		}
		n, err := chord.New(chord.Config{
			ID: vid, Addr: c.tr.Addr(), Successors: cfg.Successors,
			StabilizeTicks: cfg.StabilizeTicks, FixFingerTicks: cfg.FixFingerTicks, CheckPredTicks: cfg.CheckPredTicks,
			FailureTicks: cfg.FailureTicks, RequestTicks: cfg.RequestTicks,
			Seed: cfg.Seed + uint64(i),
		})
		if err != nil {
			c.abort()
			return nil, fmt.Errorf("%w: %w", ErrInvalid, err)
		}
		v := &chordVnode{c: c, node: n, pings: newPings(),
			loop: newLoop[chord.Message](cfg.Tick, func(req uint64, err error) chord.Result {
				return chord.Result{Req: req, Err: err}
			})}
		v.loop.core = v
		if c.ownTr {
			v.loop.grace = cfg.LeaveGrace
		}
		c.vnodes = append(c.vnodes, v)
		c.byID[vid] = v
	}
	if cfg.Join == "" {
		if err := c.vnodes[0].node.Bootstrap(); err != nil {
			c.abort()
			return nil, fmt.Errorf("overlay: %w", err)
		}
	}
	c.mux.Handle(transport.ServiceChord, c.deliver)
	for _, v := range c.vnodes {
		go v.run()
	}
	// Position 0 joins through cfg.Join (or is the ring), the others
	// through position 0.
	for i, v := range c.vnodes {
		via := chord.Entry{Addr: cfg.Join} // an unknown id: the node at that address answers
		if i > 0 {
			via = c.vnodes[0].node.Self()
		} else if cfg.Join == "" {
			continue
		}
		r, err := v.do(ctx, "join", func(req uint64) (bool, error) {
			v.node.Join(req, via)
			return true, nil
		})
		if err == nil {
			err = r.Err
		}
		if err != nil {
			c.shutdown(false)
			return nil, coreErr(chordErr(err), fmt.Sprintf("%s joining via %s", cfg.ID.Short(8), via.Addr))
		}
	}
	c.log.Info("chord node joined", "id", cfg.ID.String(), "addr", string(c.self.Addr), "positions", len(c.vnodes))
	return c, nil
}

// VirtualID is the ring position i of the node with id x: x itself for
// position 0, else the hash of x and i.
func VirtualID(x id.ID, i int) id.ID {
	if i == 0 {
		return x
	}
	b := binary.BigEndian.AppendUint64(slices.Clone(x[:]), uint64(i))
	return id.Hash(b)
}

// deliver is the transport's handler for ServiceChord: it decodes the
// message and hands it to the loop of the position it is for (position 0
// when it names no id: a join by address), never blocking.
func (c *Chord) deliver(from transport.Addr, payload []byte) {
	var m chord.Message
	if err := m.Unmarshal(payload); err != nil {
		c.dropped.Add(1)
		c.log.Debug("dropped a malformed chord message", "from", string(from), "err", err)
		return
	}
	v := c.vnodes[0]
	if m.To.ID != (id.ID{}) {
		if v = c.byID[m.To.ID]; v == nil {
			c.dropped.Add(1)
			return
		}
	}
	if !v.offer(m) {
		c.dropped.Add(1)
	}
}

// chordErr maps the Chord core's errors to the ones coreErr knows.
func chordErr(err error) error {
	switch {
	case errors.Is(err, chord.ErrTimeout):
		return fmt.Errorf("%w: %w", ErrUnavailable, err)
	case errors.Is(err, chord.ErrLeft):
		return fmt.Errorf("%w: %w", ErrClosed, err)
	}
	return err
}

// Self returns this node (its first ring position).
func (c *Chord) Self() Peer { return c.self }

// lookup finds the successors of key from ring position 0.
func (c *Chord) lookup(ctx context.Context, key id.ID) (chord.Result, error) {
	what := "lookup " + key.Short(8)
	v := c.vnodes[0]
	r, err := v.do(ctx, what, func(req uint64) (bool, error) {
		v.node.Lookup(req, key)
		return true, nil
	})
	if err == nil && r.Err != nil {
		err = coreErr(chordErr(r.Err), what)
	}
	if err != nil {
		observeLookup(KindChord, c.self, "lookup", 0, err)
		return r, err
	}
	if len(r.Successors) == 0 {
		err = fmt.Errorf("%w: %s: no successors", ErrUnavailable, what)
	}
	observeLookup(KindChord, c.self, "lookup", r.Hops, err)
	return r, err
}

// peer is the node behind a ring position: this node for its own
// positions, else the position's id and address.
func (c *Chord) peer(e chord.Entry) Peer {
	if e.Addr == c.self.Addr {
		return c.self
	}
	return Peer{ID: e.ID, Addr: e.Addr}
}

// distinct returns the nodes behind es, in order, each node once (ring
// positions of one node share its address).
func (c *Chord) distinct(es []chord.Entry) []Peer {
	var out []Peer
	for _, e := range es {
		if !slices.ContainsFunc(out, func(p Peer) bool { return p.Addr == e.Addr }) {
			out = append(out, c.peer(e))
		}
	}
	return out
}

// Responsible returns the distinct nodes among key's successors, the
// key's successor first.
func (c *Chord) Responsible(ctx context.Context, key id.ID) ([]Peer, error) {
	r, err := c.lookup(ctx, key)
	if err != nil {
		return nil, err
	}
	return c.distinct(r.Successors), nil
}

// Route returns the lookup path from this node to key's successor, this
// node first, the successor last.
func (c *Chord) Route(ctx context.Context, key id.ID) ([]Peer, error) {
	r, err := c.lookup(ctx, key)
	if err != nil {
		return nil, err
	}
	path := make([]Peer, 0, len(r.Path)+1)
	for _, e := range r.Path {
		path = append(path, c.peer(e))
	}
	if last := c.peer(r.Successors[0]); len(path) == 0 || path[len(path)-1] != last {
		path = append(path, last)
	}
	return path, nil
}

// Publish has nothing to announce in Chord: a key's holders are its
// successors (see Chord).
func (c *Chord) Publish(ctx context.Context, key id.ID) error {
	return c.alive(ctx, "publish "+key.Short(8))
}

// Unpublish has nothing to withdraw (see Publish).
func (c *Chord) Unpublish(ctx context.Context, key id.ID) error {
	return c.alive(ctx, "unpublish "+key.Short(8))
}

// alive fails as the other calls would on a closed node or an ended ctx.
func (c *Chord) alive(ctx context.Context, what string) error {
	if err := ctx.Err(); err != nil {
		return ctxErr(ctx, what)
	}
	select {
	case <-c.vnodes[0].done:
		return fmt.Errorf("%w: %s", ErrClosed, what)
	default:
		return nil
	}
}

// Locate returns key's successors, leaving out exclude, nearest first
// where their round-trip time is known (this node first: it is nearest).
func (c *Chord) Locate(ctx context.Context, key id.ID, exclude ...id.ID) ([]Peer, error) {
	ps, err := c.Responsible(ctx, key)
	if err != nil {
		return nil, err
	}
	ps = slices.DeleteFunc(ps, func(p Peer) bool { return slices.Contains(exclude, p.ID) })
	if len(ps) == 0 {
		return nil, fmt.Errorf("%w: locate %s", ErrNotFound, key.Short(8))
	}
	c.rttMu.Lock()
	rtt := func(p Peer) time.Duration {
		if p.Addr == c.self.Addr {
			return 0
		}
		if d, ok := c.rtt[p.Addr]; ok {
			return d
		}
		return notMeasured
	}
	slices.SortStableFunc(ps, func(a, b Peer) int { return int(rtt(a) - rtt(b)) })
	c.rttMu.Unlock()
	return ps, nil
}

// Neighbours returns the nodes this node's positions know directly:
// successors, predecessors and fingers, each node once, itself left out.
func (c *Chord) Neighbours(ctx context.Context) ([]Peer, error) {
	var es []chord.Entry
	for _, v := range c.vnodes {
		_, err := v.do(ctx, "neighbours", func(uint64) (bool, error) {
			es = append(es, v.node.Successors()...)
			if p, ok := v.node.Predecessor(); ok {
				es = append(es, p)
			}
			for _, f := range v.node.Fingers() {
				if f.Addr != "" {
					es = append(es, f)
				}
			}
			return false, nil
		})
		if err != nil {
			return nil, err
		}
	}
	out := c.distinct(es)
	return slices.DeleteFunc(out, func(p Peer) bool { return p.Addr == c.self.Addr }), nil
}

// noteRTT folds one measured round trip into the smoothed time to addr
// (as TCP's SRTT, gain 1/8).
func (c *Chord) noteRTT(addr transport.Addr, d time.Duration) {
	c.rttMu.Lock()
	defer c.rttMu.Unlock()
	if old, ok := c.rtt[addr]; ok {
		d = old + (d-old)/8
	}
	c.rtt[addr] = d
}

// Close leaves the ring gracefully (every position tells its predecessor
// and successor) and stops the node; pending calls fail with ErrClosed.
// It closes the transport if the node opened it.
func (c *Chord) Close() error {
	c.shutdown(true)
	return nil
}

func (c *Chord) shutdown(leave bool) {
	c.closeOnce.Do(func() {
		for _, v := range c.vnodes {
			v.loop.leave = leave // read by the loop after <-stop
			close(v.loop.stop)
		}
		for _, v := range c.vnodes {
			<-v.loop.done
		}
		c.mux.Handle(transport.ServiceChord, nil)
		c.closeTransport()
	})
}

// abort undoes a start that failed before the loops ran.
func (c *Chord) abort() {
	for _, v := range c.vnodes {
		close(v.loop.done)
	}
	c.closeTransport()
}

func (c *Chord) closeTransport() {
	if c.ownTr {
		if err := c.tr.Close(); err != nil {
			c.log.Warn("closing the transport", "err", err)
		}
	}
}

// The position's side of its loop (loop.go): each method runs on the loop
// goroutine.

func (v *chordVnode) tick() { v.node.Tick() }

func (v *chordVnode) step(in inMsg[chord.Message]) {
	m := in.m
	if m.Type == chord.MsgPong {
		if rtt, ok := v.pings.rtt(m.From.Addr, m.Seq, in.at); ok {
			m.RTT = rtt
			v.c.noteRTT(m.From.Addr, rtt)
		}
	}
	if err := v.node.Step(m); err != nil {
		v.c.log.Debug("chord step", "type", m.Type.String(), "from", string(m.From.Addr), "err", err)
	}
}

func (v *chordVnode) flush(answer func(req uint64, r chord.Result)) {
	for v.node.HasReady() {
		rd := v.node.Ready()
		now := time.Now()
		for _, m := range rd.Messages {
			if m.Type == chord.MsgPing {
				v.pings.left(m.To.Addr, m.Seq, now)
			}
			if err := v.c.tr.Send(m.To.Addr, transport.ServiceChord, m.Marshal()); err != nil {
				v.c.log.Debug("chord send", "type", m.Type.String(), "to", string(m.To.Addr), "err", err)
			}
		}
		for _, r := range rd.Results {
			answer(r.Req, r)
		}
	}
}

func (v *chordVnode) leave() { v.node.Leave() }

func (v *chordVnode) failed(req uint64) chord.Result {
	return chord.Result{Req: req, Err: chord.ErrLeft}
}
