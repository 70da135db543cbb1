package memnet

import (
	"container/heap"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/puddlestore/puddlestore/transport"
)

// ErrRunning is returned by Start when real-time delivery already runs.
var ErrRunning = errors.New("memnet: already running")

// Config describes a Network. Rates are probabilities in [0, 1]; durations
// are logical time.
type Config struct {
	Seed     uint64  // all randomness (drops, duplicates, delays) comes from it
	DropRate float64 // chance that a message is silently lost
	DupRate  float64 // chance that a message is delivered twice

	// Each message waits a uniformly random delay in [MinDelay, MaxDelay],
	// plus Latency's delay for its link when Latency is set.
	MinDelay, MaxDelay time.Duration
	Latency            transport.LatencyModel

	// FIFO keeps each link's messages in send order (a message never
	// overtakes an earlier one on the same link). Off by default: protocols
	// must tolerate reordering, and memnet is where that is tested.
	FIFO bool

	QueueLimit int // messages in flight per link before Send returns ErrQueueFull; default 65536
	MaxPayload int // bytes; default transport.DefaultMaxPayload

	Logger *slog.Logger // nil discards
}

// DefaultQueueLimit is the default Config.QueueLimit.
const DefaultQueueLimit = 1 << 16

type link struct{ from, to transport.Addr }

// Network is the simulated network. Its methods are safe for concurrent use,
// but determinism holds only when one goroutine calls them in a fixed order.
type Network struct {
	cfg Config
	log *slog.Logger

	mu struct {
		sync.Mutex
		rng       *rand.Rand                          // guarded by mu
		now       time.Duration                       // logical clock, guarded by mu
		seq       uint64                              // send sequence, guarded by mu
		queue     msgQueue                            // in flight, guarded by mu
		endpoints map[transport.Addr]*Endpoint        // open endpoints, guarded by mu
		inflight  map[link]int                        // queued per link, guarded by mu
		lastAt    map[link]time.Duration              // FIFO: latest delivery time per link, guarded by mu
		incarn    map[transport.Addr]uint64           // bumped by Crash, guarded by mu
		crashed   map[transport.Addr]bool             // guarded by mu
		group     map[transport.Addr]int              // partition groups, guarded by mu
		blocked   map[link]bool                       // one-way blocked links, guarded by mu
		stats     transport.Stats                     // guarded by mu
		perAddr   map[transport.Addr]*transport.Stats // guarded by mu
		rt        *realtime                           // non-nil while Start runs, guarded by mu
	}
}

// New validates cfg, fills defaults and returns an empty Network at time 0.
func New(cfg Config) (*Network, error) {
	if cfg.DropRate < 0 || cfg.DropRate > 1 || cfg.DupRate < 0 || cfg.DupRate > 1 {
		return nil, fmt.Errorf("memnet: rates must be in [0,1]: drop %v dup %v", cfg.DropRate, cfg.DupRate)
	}
	if cfg.MinDelay < 0 || cfg.MaxDelay < cfg.MinDelay {
		if cfg.MaxDelay != 0 || cfg.MinDelay < 0 {
			return nil, fmt.Errorf("memnet: need 0 <= MinDelay <= MaxDelay, got %v, %v", cfg.MinDelay, cfg.MaxDelay)
		}
		cfg.MaxDelay = cfg.MinDelay // only MinDelay set: a fixed delay
	}
	if cfg.QueueLimit <= 0 {
		cfg.QueueLimit = DefaultQueueLimit
	}
	if cfg.MaxPayload <= 0 {
		cfg.MaxPayload = transport.DefaultMaxPayload
	}
	n := &Network{cfg: cfg, log: cfg.Logger}
	if n.log == nil {
		n.log = slog.New(slog.DiscardHandler)
	}
	n.mu.rng = rand.New(rand.NewPCG(cfg.Seed, cfg.Seed^0x9e3779b97f4a7c15))
	n.mu.endpoints = make(map[transport.Addr]*Endpoint)
	n.mu.inflight = make(map[link]int)
	n.mu.lastAt = make(map[link]time.Duration)
	n.mu.incarn = make(map[transport.Addr]uint64)
	n.mu.crashed = make(map[transport.Addr]bool)
	n.mu.blocked = make(map[link]bool)
	n.mu.perAddr = make(map[transport.Addr]*transport.Stats)
	return n, nil
}

// Endpoint attaches a handler at addr and returns its Transport. An address
// holds one open endpoint at a time; after Close it can be attached again,
// for example to model a node restarting with fresh state.
func (n *Network) Endpoint(addr transport.Addr, h transport.Handler) (*Endpoint, error) {
	if addr == "" || h == nil {
		return nil, fmt.Errorf("memnet: endpoint %q: empty address or nil handler: %w", addr, transport.ErrBadAddr)
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	if _, ok := n.mu.endpoints[addr]; ok {
		return nil, fmt.Errorf("memnet: endpoint %s: %w", addr, transport.ErrAddrInUse)
	}
	e := &Endpoint{net: n, addr: addr, handler: h}
	n.mu.endpoints[addr] = e
	return e, nil
}

// Now returns the logical time.
func (n *Network) Now() time.Duration {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.mu.now
}

// Pending returns how many messages are in flight.
func (n *Network) Pending() int {
	n.mu.Lock()
	defer n.mu.Unlock()
	return len(n.mu.queue)
}

// Stats returns network-wide counters.
func (n *Network) Stats() transport.Stats {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.mu.stats
}

// StatsOf returns the counters of one address: what it sent (Sent, Bytes,
// Dropped) and what was delivered to it (Delivered).
func (n *Network) StatsOf(addr transport.Addr) transport.Stats {
	n.mu.Lock()
	defer n.mu.Unlock()
	if s := n.mu.perAddr[addr]; s != nil {
		return *s
	}
	return transport.Stats{}
}

func (n *Network) statsLocked(addr transport.Addr) *transport.Stats {
	s := n.mu.perAddr[addr]
	if s == nil {
		s = new(transport.Stats)
		n.mu.perAddr[addr] = s
	}
	return s
}

func (n *Network) dropLocked(from transport.Addr) {
	n.mu.stats.Dropped++
	n.statsLocked(from).Dropped++
}

// send queues a message from e, applying drop, duplication and delay.
func (n *Network) send(from, to transport.Addr, svc transport.Service, payload []byte) error {
	if err := transport.Check(to, svc, payload, n.cfg.MaxPayload); err != nil {
		return err
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	if e := n.mu.endpoints[from]; e == nil || e.closed {
		return fmt.Errorf("memnet: send from %s: %w", from, transport.ErrClosed)
	}
	n.syncClockLocked()
	l := link{from, to}
	st := n.statsLocked(from)
	if n.mu.inflight[l] >= n.cfg.QueueLimit {
		n.dropLocked(from)
		return fmt.Errorf("memnet: send %s->%s: %w", from, to, transport.ErrQueueFull)
	}
	n.mu.stats.Sent++
	n.mu.stats.Bytes += uint64(len(payload))
	st.Sent++
	st.Bytes += uint64(len(payload))
	// Draw every random number unconditionally so that faults toggled by
	// calls (Crash, Partition) do not shift the random stream.
	drop := n.mu.rng.Float64() < n.cfg.DropRate
	dup := n.mu.rng.Float64() < n.cfg.DupRate
	if drop || !n.reachableLocked(from, to) {
		n.dropLocked(from)
		return nil
	}
	copies := 1
	if dup {
		copies = 2
	}
	for i := range copies {
		_ = i
		p := append([]byte(nil), payload...) // each delivery owns its copy
		at := n.mu.now + n.delayLocked(from, to)
		if n.cfg.FIFO {
			at = max(at, n.mu.lastAt[l])
			n.mu.lastAt[l] = at
		}
		n.mu.seq++
		heap.Push(&n.mu.queue, &message{
			at: at, seq: n.mu.seq, from: from, to: to, svc: svc, payload: p,
			fromInc: n.mu.incarn[from], toInc: n.mu.incarn[to],
		})
		n.mu.inflight[l]++
	}
	n.wakeLocked()
	return nil
}

func (n *Network) delayLocked(from, to transport.Addr) time.Duration {
	d := n.cfg.MinDelay
	if span := n.cfg.MaxDelay - n.cfg.MinDelay; span > 0 {
		d += time.Duration(n.mu.rng.Int64N(int64(span) + 1))
	}
	if n.cfg.Latency != nil {
		d += n.cfg.Latency.Delay(from, to)
	}
	return d
}

// Endpoint is one address's view of the Network. It implements
// transport.Transport and transport.StatsReporter.
type Endpoint struct {
	net     *Network
	addr    transport.Addr
	handler transport.Handler // immutable
	closed  bool              // guarded by net.mu
}

var (
	_ transport.Transport     = (*Endpoint)(nil)
	_ transport.StatsReporter = (*Endpoint)(nil)
	_ transport.StatsReporter = (*Network)(nil)
)

// Addr returns the endpoint's address.
func (e *Endpoint) Addr() transport.Addr { return e.addr }

// Send queues payload (copied) for delivery to the endpoint at to. A message
// to an address with no endpoint is lost at delivery time, as on a network.
func (e *Endpoint) Send(to transport.Addr, svc transport.Service, payload []byte) error {
	return e.net.send(e.addr, to, svc, payload)
}

// Stats returns the counters of this endpoint's address.
func (e *Endpoint) Stats() transport.Stats { return e.net.StatsOf(e.addr) }

// Close detaches the endpoint: it can no longer send, and messages still in
// flight to it are lost. Closing twice is a no-op.
func (e *Endpoint) Close() error {
	n := e.net
	n.mu.Lock()
	defer n.mu.Unlock()
	if e.closed {
		return nil
	}
	e.closed = true
	if n.mu.endpoints[e.addr] == e {
		delete(n.mu.endpoints, e.addr)
	}
	return nil
}
