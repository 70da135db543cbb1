package rafttest

import (
	"errors"
	"fmt"
	"hash"
	"hash/fnv"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/puddlestore/puddlestore/raft"
	pb "github.com/puddlestore/puddlestore/raft/raftpb"
	"github.com/puddlestore/puddlestore/transport"
	"github.com/puddlestore/puddlestore/transport/memnet"
)

// Tick is how much network time one raft tick stands for. Message delays
// are set in network time, so a delay above Tick reorders messages across
// ticks.
const Tick = 10 * time.Millisecond

// Config describes a simulated cluster. Zero values give a reliable network
// and three voters.
type Config struct {
	// Nodes is the number of voters at start, with ids 1..Nodes. Default 3.
	Nodes int
	// Seed determines the whole run: network faults, election timeouts,
	// and the randomness tests draw from Cluster.Rand.
	Seed uint64

	// Network faults, as in memnet.Config. MaxDelay defaults to 3ms (well
	// under a Tick); Unreliable sets DropRate 0.1, DupRate 0.05 and
	// MaxDelay 2.5 ticks unless those are set.
	Unreliable         bool
	DropRate           float64
	DupRate            float64
	MinDelay           time.Duration
	MaxDelay           time.Duration
	ElectionTick       int // default 10
	HeartbeatTick      int // default 1
	DisablePreVote     bool
	DisableCheckQuorum bool

	// SnapshotEvery makes each node snapshot its state machine and compact
	// its log once this many entries were applied since its last snapshot;
	// 0 never compacts. SnapshotKeep is the log tail kept (Compact's keep).
	SnapshotEvery uint64
	SnapshotKeep  uint64

	// Raft, if set, adjusts each node's raft.Config before New.
	Raft func(*raft.Config)

	// Log, if set, gets one line per fault and role change (e.g.
	// testing.T.Logf, to follow a replayed seed).
	Log func(format string, args ...any)
}

// Server is one simulated process: a raft node, its disk and its state
// machine. Node and KV are nil while the server is crashed; Disk survives.
type Server struct {
	ID   uint64
	Node *raft.Node
	Disk *Storage
	KV   *KV

	addr     transport.Addr
	ep       *memnet.Endpoint
	up       bool
	boot     []uint64 // bootstrap voters (empty for a joining node)
	incarn   int
	applied  uint64 // last index applied to KV
	snapAt   uint64 // applied index of the last local snapshot
	soft     raft.SoftState
	crashMid bool

	connected bool
	group     int

	reads []*readWait // pending ReadIndex requests, in request order
}

// Up reports whether the server is running.
func (s *Server) Up() bool { return s.up }

// Applied is the last log index applied to the server's state machine.
func (s *Server) Applied() uint64 { return s.applied }

// Cluster is a deterministic simulated Raft cluster: every node, the
// network (memnet) and the clients run on the caller's goroutine, in
// logical time. The same Config gives the same run, message for message.
type Cluster struct {
	t     testing.TB
	cfg   Config
	net   *memnet.Network
	rng   *rand.Rand // for tests
	nrng  *rand.Rand // network faults
	fault faults
	held  []heldMsg          // long-delayed messages, by release tick
	cut   map[[2]uint64]bool // one-way cuts (Cut)
	srv   map[uint64]*Server
	ids   []uint64 // sorted
	ticks int
	clock int64 // event counter for client histories

	trace hash.Hash64
	sent  map[pb.MessageType]int
	bytes uint64
	check *checker

	waits   map[waitKey][]attempt
	clerks  []*Clerk
	history []Event
}

// New builds a cluster of cfg.Nodes voters, all up and connected. Any
// broken invariant fails t with the seed and the command that replays it.
func New(t testing.TB, cfg Config) *Cluster {
	t.Helper()
	if cfg.Nodes == 0 {
		cfg.Nodes = 3
	}
	if cfg.ElectionTick == 0 {
		cfg.ElectionTick = 10
	}
	if cfg.HeartbeatTick == 0 {
		cfg.HeartbeatTick = 1
	}
	if cfg.Unreliable {
		if cfg.DropRate == 0 {
			cfg.DropRate = 0.1
		}
		if cfg.DupRate == 0 {
			cfg.DupRate = 0.05
		}
		if cfg.MaxDelay == 0 {
			cfg.MaxDelay = Tick * 5 / 2
		}
	}
	if cfg.MinDelay == 0 {
		cfg.MinDelay = time.Millisecond
	}
	if cfg.MaxDelay == 0 {
		cfg.MaxDelay = 3 * time.Millisecond
	}
	// Loss and duplication are drawn here rather than by memnet, so that
	// tests can turn them off mid-run (SetReliable); memnet delays,
	// reorders, partitions and crashes.
	net, err := memnet.New(memnet.Config{
		Seed:     cfg.Seed,
		MinDelay: cfg.MinDelay, MaxDelay: max(cfg.MaxDelay, cfg.MinDelay),
	})
	if err != nil {
		t.Fatal(err)
	}
	c := &Cluster{
		t: t, cfg: cfg, net: net,
		rng:   rand.New(rand.NewPCG(cfg.Seed, 0x5eed)),
		nrng:  rand.New(rand.NewPCG(cfg.Seed, 0x4e7)),
		fault: faults{drop: cfg.DropRate, dup: cfg.DupRate},
		srv:   map[uint64]*Server{},
		cut:   map[[2]uint64]bool{},
		trace: fnv.New64a(),
		sent:  map[pb.MessageType]int{},
		waits: map[waitKey][]attempt{},
	}
	c.check = newChecker(c)
	var peers []uint64
	for i := 1; i <= cfg.Nodes; i++ {
		peers = append(peers, uint64(i))
	}
	for _, id := range peers {
		c.addServer(id, peers)
	}
	for _, id := range peers {
		c.Start(id)
	}
	return c
}

// Fatalf fails the test, naming the seed and how to replay it.
func (c *Cluster) Fatalf(format string, args ...any) {
	c.t.Helper()
	name := c.t.Name()
	if i := strings.IndexByte(name, '/'); i >= 0 {
		name = name[:i]
	}
	c.t.Fatalf("seed %d, tick %d: %s\nreplay: go test ./raft/rafttest -run '^%s$' -seed %d -v",
		c.cfg.Seed, c.ticks, fmt.Sprintf(format, args...), name, c.cfg.Seed)
}

func (c *Cluster) logf(format string, args ...any) {
	if c.cfg.Log != nil {
		c.cfg.Log("tick %d: "+format, append([]any{c.ticks}, args...)...)
	}
}

// Rand is the cluster's seeded randomness, for tests to draw from.
func (c *Cluster) Rand() *rand.Rand { return c.rng }

// Seed returns the run's seed.
func (c *Cluster) Seed() uint64 { return c.cfg.Seed }

// Ticks returns the logical time in ticks.
func (c *Cluster) Ticks() int { return c.ticks }

// IDs returns the ids of every server the cluster knows, sorted.
func (c *Cluster) IDs() []uint64 { return slices.Clone(c.ids) }

// Server returns server id (nil if unknown).
func (c *Cluster) Server(id uint64) *Server { return c.srv[id] }

// TraceHash is a hash of every message delivered and every client event so
// far: two runs with the same seed must agree on it.
func (c *Cluster) TraceHash() uint64 { return c.trace.Sum64() }

// Sent returns how many raft messages have been handed to the network, and
// their encoded size in bytes.
func (c *Cluster) Sent() (msgs int, bytes uint64) {
	n := 0
	for _, k := range c.sent {
		n += k
	}
	return n, c.bytes
}

// SentOf returns how many messages of type t were sent.
func (c *Cluster) SentOf(t pb.MessageType) int { return c.sent[t] }

func (c *Cluster) addServer(id uint64, boot []uint64) *Server {
	s := &Server{ID: id, Disk: NewStorage(), addr: transport.Addr(fmt.Sprintf("n%d", id)), boot: boot, connected: true}
	ep, err := c.net.Endpoint(s.addr, func(from transport.Addr, _ transport.Service, payload []byte) {
		c.deliver(s, payload)
	})
	if err != nil {
		c.Fatalf("endpoint %d: %v", id, err)
	}
	s.ep = ep
	c.net.Crash(s.addr) // down until started
	c.srv[id] = s
	c.ids = append(c.ids, id)
	slices.Sort(c.ids)
	c.relink()
	return s
}

// AddServer creates a new, empty server id that joins the cluster: it
// waits to hear from a leader. Propose the configuration change with
// ProposeConfChange on the leader.
func (c *Cluster) AddServer(id uint64) *Server {
	if c.srv[id] != nil {
		c.Fatalf("server %d exists", id)
	}
	s := c.addServer(id, nil)
	c.Start(id)
	return s
}

// Start boots server id from its disk: after Crash it is the restart of
// the process, rebuilt from what was synced (raft Config's HardState,
// Snapshot, Entries and Applied = snapshot index).
func (c *Cluster) Start(id uint64) {
	s := c.srv[id]
	if s.up {
		return
	}
	hs, snap, ents := s.Disk.Load()
	rc := raft.Config{
		ID: id, HardState: hs, Snapshot: snap, Entries: ents, Applied: snap.Metadata.Index,
		Peers:        s.boot,
		ElectionTick: c.cfg.ElectionTick, HeartbeatTick: c.cfg.HeartbeatTick,
		DisablePreVote: c.cfg.DisablePreVote, DisableCheckQuorum: c.cfg.DisableCheckQuorum,
		Seed: int64(c.cfg.Seed*1_000_003 + id*7919 + uint64(s.incarn)),
	}
	if c.cfg.Raft != nil {
		c.cfg.Raft(&rc)
	}
	n, err := raft.New(rc)
	if err != nil {
		c.Fatalf("restart %d from its disk (hs %+v, snapshot %d, %d entries): %v", id, hs, snap.Metadata.Index, len(ents), err)
	}
	kv := NewKV()
	if !snap.IsEmpty() {
		if err := kv.Restore(snap.Data); err != nil {
			c.Fatalf("restart %d: %v", id, err)
		}
	}
	s.Node, s.KV, s.up = n, kv, true
	s.applied, s.snapAt = snap.Metadata.Index, snap.Metadata.Index
	s.soft = raft.SoftState{}
	s.reads = nil
	s.incarn++
	c.logf("start %d (term %d, vote %d, commit %d, snapshot %d, %d entries)", id, hs.Term, hs.Vote, hs.Commit, snap.Metadata.Index, len(ents))
	c.net.Restart(s.addr)
	c.process(s)
}

// Crash stops server id at once: messages in flight to and from it are
// lost, and its disk keeps only what was synced.
func (c *Cluster) Crash(id uint64) {
	s := c.srv[id]
	if !s.up {
		return
	}
	c.logf("crash %d (mid-Ready %v)", id, s.crashMid)
	s.up, s.crashMid = false, false
	s.Node, s.KV, s.reads = nil, nil, nil
	s.Disk.Crash()
	c.net.Crash(s.addr)
	c.check.crashed(s)
}

// CrashDuringNextReady makes server id crash in the middle of its next
// Ready that must be synced: after the messages that may go before
// persisting were sent and the Ready's writes were issued, before their
// fsync.
func (c *Cluster) CrashDuringNextReady(id uint64) {
	if s := c.srv[id]; s.up {
		s.crashMid = true
	}
}

// Disconnect cuts server id off the network (both directions); it keeps
// running.
func (c *Cluster) Disconnect(id uint64) {
	c.logf("disconnect %d", id)
	c.srv[id].connected = false
	c.relink()
}

// Connect undoes Disconnect.
func (c *Cluster) Connect(id uint64) {
	c.logf("connect %d", id)
	c.srv[id].connected = true
	c.relink()
}

// Connected reports whether server id is connected.
func (c *Cluster) Connected(id uint64) bool { return c.srv[id].connected }

// Partition splits the servers: servers talk only within their group;
// servers in no group form one more group. Heal undoes it.
func (c *Cluster) Partition(groups ...[]uint64) {
	c.logf("partition %v", groups)
	for _, s := range c.srv {
		s.group = 0
	}
	for i, g := range groups {
		for _, id := range g {
			c.srv[id].group = i + 1
		}
	}
	c.relink()
}

// Heal removes partitions and reconnects every server.
func (c *Cluster) Heal() {
	c.logf("heal")
	clear(c.cut)
	for _, s := range c.srv {
		s.group, s.connected = 0, true
	}
	c.relink()
}

// Repair ends every fault: pending mid-Ready crashes are called off,
// crashed servers restart, partitions heal, and the network becomes
// reliable (memnet's random delay stays).
func (c *Cluster) Repair() {
	c.SetReliable()
	c.Heal()
	for _, id := range c.ids {
		c.srv[id].crashMid = false
		c.Start(id)
	}
}

// Cut drops every message from one server to another (one way) until
// Heal.
func (c *Cluster) Cut(from, to uint64) {
	c.logf("cut %d->%d", from, to)
	c.cut[[2]uint64{from, to}] = true
	c.relink()
}

func (c *Cluster) relink() {
	for _, a := range c.ids {
		for _, b := range c.ids {
			if a == b {
				continue
			}
			sa, sb := c.srv[a], c.srv[b]
			if sa.connected && sb.connected && sa.group == sb.group && !c.cut[[2]uint64{a, b}] {
				c.net.Unblock(sa.addr, sb.addr)
			} else {
				c.net.Block(sa.addr, sb.addr)
			}
		}
	}
}

// Tick advances logical time by one tick: every running node ticks, the
// clients act, and the network delivers what is due.
func (c *Cluster) Tick() {
	c.t.Helper()
	c.ticks++
	c.releaseHeld()
	for _, id := range c.ids {
		if s := c.srv[id]; s.up {
			s.Node.Tick()
			c.process(s)
		}
	}
	c.stepClerks()
	c.net.AdvanceTo(time.Duration(c.ticks) * Tick)
	c.check.periodic()
}

// Run ticks n times.
func (c *Cluster) Run(n int) {
	c.t.Helper()
	for range n {
		c.Tick()
	}
}

// RunUntil ticks until cond holds, at most limit ticks, and reports
// whether it held.
func (c *Cluster) RunUntil(limit int, cond func() bool) bool {
	c.t.Helper()
	for range limit {
		if cond() {
			return true
		}
		c.Tick()
	}
	return cond()
}

func (c *Cluster) send(s *Server, m pb.Message) {
	b := m.Marshal()
	c.sent[m.Type]++
	c.bytes += uint64(len(b))
	to := c.srv[m.To]
	if to == nil {
		return // a member the simulation never started
	}
	// Draw every random number unconditionally, so that the fault
	// settings do not shift the stream.
	drop := c.nrng.Float64() < c.fault.drop
	dup := c.nrng.Float64() < c.fault.dup
	long := c.nrng.IntN(900) < 600
	extra := 4 + c.nrng.IntN(1+c.nrng.IntN(40))
	if drop {
		return
	}
	for range 1 + btoi(dup) {
		if c.fault.long && long {
			c.hold(heldMsg{at: c.ticks + extra, from: s, to: to, payload: b})
			continue
		}
		// Send errors (queue full) are losses, which raft tolerates.
		_ = s.ep.Send(to.addr, transport.ServiceRaft, b)
	}
}

// deliver hands one message from the network to s and runs its driver.
func (c *Cluster) deliver(s *Server, payload []byte) {
	var m pb.Message
	if err := m.Unmarshal(payload); err != nil {
		c.Fatalf("decode message to %d: %v", s.ID, err)
	}
	fmt.Fprintf(c.trace, "%d>%d:", m.From, m.To)
	c.trace.Write(payload)
	if !s.up {
		return
	}
	if err := s.Node.Step(m); err != nil {
		if errors.Is(err, raft.ErrMalformed) || errors.Is(err, raft.ErrStepLocal) {
			c.Fatalf("%d refused a message from a correct peer: %v (%s %d->%d term %d)", s.ID, err, m.Type, m.From, m.To, m.Term)
		}
	}
	c.process(s)
}

// Process runs server id's driver loop until its node has nothing ready;
// tests call it after stepping the node directly (Propose, ReadIndex...).
func (c *Cluster) Process(id uint64) {
	if s := c.srv[id]; s.up {
		c.process(s)
	}
}
