package node

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/puddlestore/puddlestore/raft"
	pb "github.com/puddlestore/puddlestore/raft/raftpb"
	"github.com/puddlestore/puddlestore/transport"
	"github.com/puddlestore/puddlestore/wal"
)

// StateMachine is what a Raft group replicates. The driver calls Apply,
// Snapshot and Restore from its own goroutine, in log order; readers may call
// the state machine's own read methods concurrently, so it guards its state.
type StateMachine interface {
	// Apply applies the command at index and returns its result. An error
	// is the command's result (e.g. a malformed command), not a failure of
	// the state machine: it must be deterministic.
	Apply(index uint64, data []byte) (any, error)
	Snapshot() ([]byte, error)
	Restore(data []byte) error
}

// RaftConfig configures a Raft driver.
type RaftConfig struct {
	// ID of this node (not zero).
	ID uint64
	// Dir holds the write-ahead log and snapshots.
	Dir string
	// FS overrides the file system (tests inject faults); nil is the OS.
	FS wal.FS
	// WALSegmentBytes: size of one wal segment file; 0 is the wal's
	// default (64 MiB). Tests set it small to exercise rollover and
	// release.
	WALSegmentBytes int64
	// Peers maps each member's id to its transport address. For a new
	// cluster (Bootstrap), these are the initial voters. A joining node
	// lists the addresses it knows; the membership itself comes from the
	// leader.
	Peers map[uint64]transport.Addr
	// Bootstrap starts a new cluster with Peers as its voters; ignored when
	// Dir already holds state.
	Bootstrap bool
	// Transport sends to peers. The driver does not own it: whoever
	// created it closes it after the driver.
	Transport transport.Transport
	// SM is the replicated state machine.
	SM StateMachine

	// TickInterval is the length of one Raft tick. Default 50ms.
	TickInterval time.Duration
	// ElectionTicks and HeartbeatTicks: Raft timeouts in ticks. Defaults
	// 10 and 1 (an election timeout of 500-1000ms with the default tick).
	ElectionTicks, HeartbeatTicks int
	// SnapshotEntries: take a snapshot after this many applied entries.
	// Default 100000 (etcd's default too); the snapshot is written off
	// the loop, so writes go on meanwhile.
	SnapshotEntries uint64
	// SnapshotKeep: entries kept in the log behind a snapshot, so that
	// slightly lagging followers catch up without one. Default 5000.
	SnapshotKeep uint64
	// LeaseReads answers linearizable reads from the leader's lease
	// instead of a heartbeat round (faster; assumes bounded clock drift).
	LeaseReads bool
	// Seed for the core's randomness; default derived from ID and time.
	Seed int64
	// Logger; nil discards.
	Logger *slog.Logger
}

// Raft runs one raft.Node: it ticks it, feeds it messages, persists what it
// asks to the wal before sending, applies committed entries to the state
// machine, and answers proposals and reads. All of that happens on one
// goroutine, the event loop; the exported methods talk to it by channels.
type Raft struct {
	cfg    RaftConfig
	logger *slog.Logger
	w      *wal.WAL

	inbox     chan pb.Message
	proposals chan *proposal
	reads     chan *readReq
	admin     chan func(*raft.Node)
	stop      chan struct{}
	done      chan struct{}
	closeOnce sync.Once

	mu struct {
		sync.Mutex
		peers   map[uint64]transport.Addr // guarded by mu; updated on membership change
		clients map[uint64]string         // guarded by mu; client addresses learned from membership changes
		status  raft.Status               // guarded by mu; refreshed by the loop
		lastErr error                     // guarded by mu; a fatal storage error
	}

	// Owned by the event loop.
	node         *raft.Node
	pending      map[uint64]*proposal // by log index
	pendingReads map[uint64]readBatch // by read sequence number
	ticks        uint64               // ticks given to the core
	lastTick     time.Time            // wall time the last tick stands for
	readWait     []*readReq           // read index known, waiting for apply
	readSeq      uint64
	applied      uint64
	snapIndex    uint64
	snapping     bool           // a snapshot is being written
	snapDone     chan snapJob   // its result, buffered (1)
	snapWG       sync.WaitGroup // the snapshot goroutine
	lastLead     uint64         // the leader the last SoftState named (metrics)
}

type proposal struct {
	data  []byte
	cc    *pb.ConfChange
	index uint64
	term  uint64
	done  chan proposalResult // buffered, 1
}

type proposalResult struct {
	result any
	index  uint64
	err    error
}

type readReq struct {
	index uint64
	done  chan error // buffered, 1
}

// Errors of the driver.
var (
	ErrStopped = errors.New("node: raft stopped")
	ErrTimeout = errors.New("node: request timed out")
	// ErrLeadershipLost: this node stopped leading while the proposal was
	// pending; it may or may not be applied. Retry it (with the same
	// client sequence number, so that it is applied at most once).
	ErrLeadershipLost = errors.New("node: leadership lost; the command may or may not be applied")
)

// StartRaft opens (or creates) the wal in cfg.Dir, restores the state
// machine from the latest snapshot and starts the event loop.
func StartRaft(cfg RaftConfig) (*Raft, error) {
	if cfg.ID == 0 || cfg.Transport == nil || cfg.SM == nil || cfg.Dir == "" {
		return nil, errors.New("node: RaftConfig needs ID, Dir, Transport and SM")
	}
	if cfg.TickInterval == 0 {
		cfg.TickInterval = 50 * time.Millisecond
	}
	if cfg.SnapshotEntries == 0 {
		cfg.SnapshotEntries = 100000
	}
	if cfg.SnapshotKeep == 0 {
		cfg.SnapshotKeep = 5000
	}
	if cfg.Seed == 0 {
		cfg.Seed = time.Now().UnixNano() ^ int64(cfg.ID)
	}
	logger := cfg.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	w, st, err := wal.Open(wal.Options{Dir: cfg.Dir, FS: cfg.FS, SegmentBytes: cfg.WALSegmentBytes, Logger: logger})
	if err != nil {
		return nil, fmt.Errorf("node: open wal: %w", err)
	}
	var learned memberAddrs
	if !st.Snapshot.IsEmpty() {
		if err := restoreSnapshotData(cfg.SM, st.Snapshot.Data, &learned); err != nil {
			w.Close()
			return nil, fmt.Errorf("node: restore snapshot %d: %w", st.Snapshot.Metadata.Index, err)
		}
	}
	rc := raft.Config{
		ID:            cfg.ID,
		HardState:     st.HardState,
		Snapshot:      st.Snapshot,
		Entries:       st.Entries,
		ElectionTick:  cfg.ElectionTicks,
		HeartbeatTick: cfg.HeartbeatTicks,
		Seed:          cfg.Seed,
		Logger:        logger,
	}
	if cfg.LeaseReads {
		rc.ReadOnlyOption = raft.ReadOnlyLeaseBased
	}
	if cfg.Bootstrap {
		for id := range cfg.Peers {
			rc.Peers = append(rc.Peers, id)
		}
		slices.Sort(rc.Peers)
	}
	n, err := raft.New(rc)
	if err != nil {
		w.Close()
		return nil, err
	}
	r := &Raft{
		cfg:          cfg,
		logger:       logger,
		w:            w,
		inbox:        make(chan pb.Message, 4096),
		proposals:    make(chan *proposal, 4096),
		reads:        make(chan *readReq, 4096),
		admin:        make(chan func(*raft.Node)),
		stop:         make(chan struct{}),
		done:         make(chan struct{}),
		node:         n,
		pending:      map[uint64]*proposal{},
		pendingReads: map[uint64]readBatch{},
		applied:      st.Snapshot.Metadata.Index,
		snapIndex:    st.Snapshot.Metadata.Index,
		snapDone:     make(chan snapJob, 1),
	}
	r.mu.peers = map[uint64]transport.Addr{}
	r.mu.clients = map[uint64]string{}
	for id, a := range learned.peers {
		r.mu.peers[id] = a
	}
	for id, c := range learned.clients {
		r.mu.clients[id] = c
	}
	// The addresses the log names, committed or not: a restarted node
	// must reach its peers to learn what is committed (its persisted
	// commit index may lag) and to campaign. An address is only a hint
	// where to send; membership is the core's.
	for _, e := range st.Entries {
		var cc pb.ConfChange
		if e.Type == pb.EntryConfChange && cc.Unmarshal(e.Data) == nil {
			r.learnAddress(cc)
		}
	}
	// Addresses given by the operator win over those learned from the log.
	for id, a := range cfg.Peers {
		r.mu.peers[id] = a
	}
	r.mu.status = n.Status()
	raftState.add(r)
	go r.run()
	return r, nil
}

// Deliver hands a message from the transport to the event loop. It is the
// transport handler for transport.ServiceRaft; it never blocks: when the
// loop is behind, the message is dropped, as the network might have.
func (r *Raft) Deliver(from transport.Addr, payload []byte) {
	var m pb.Message
	if err := m.Unmarshal(payload); err != nil {
		r.logger.Warn("dropped malformed raft message", "from", from, "err", err)
		return
	}
	// A peer whose address is not known yet (a node that joined through
	// another, before the conf change naming it reached us; or, on a
	// joiner, the bootstrap voter, which no conf change names) is
	// answered at the address it sends from.
	if m.From != 0 {
		r.mu.Lock()
		if _, ok := r.mu.peers[m.From]; !ok {
			r.mu.peers[m.From] = from
		}
		r.mu.Unlock()
	}
	select {
	case r.inbox <- m:
	default:
	}
}

// Propose replicates data and waits until it is applied; it returns the
// state machine's result and the index it was applied at.
func (r *Raft) Propose(ctx context.Context, data []byte) (any, uint64, error) {
	return r.submit(ctx, &proposal{data: data, done: make(chan proposalResult, 1)})
}

// ProposeConfChange changes the membership and waits until it is applied.
// cc.Context carries the new member's transport address.
func (r *Raft) ProposeConfChange(ctx context.Context, cc pb.ConfChange) error {
	_, _, err := r.submit(ctx, &proposal{cc: &cc, done: make(chan proposalResult, 1)})
	return err
}

func (r *Raft) submit(ctx context.Context, p *proposal) (_ any, _ uint64, err error) {
	start := time.Now()
	defer func() { r.observeProposal(start, err) }()
	select {
	case r.proposals <- p:
	case <-r.done:
		return nil, 0, ErrStopped
	case <-ctx.Done():
		return nil, 0, ctxErr(ctx)
	}
	select {
	case res := <-p.done:
		return res.result, res.index, res.err
	case <-r.done:
		return nil, 0, ErrStopped
	case <-ctx.Done():
		return nil, 0, ctxErr(ctx)
	}
}

// ReadBarrier returns once the state machine has applied everything that
// was committed when it was called (ReadIndex, thesis §6.4): a read of the
// state machine after it is linearizable.
func (r *Raft) ReadBarrier(ctx context.Context) error {
	q := &readReq{done: make(chan error, 1)}
	select {
	case r.reads <- q:
	case <-r.done:
		return ErrStopped
	case <-ctx.Done():
		return ctxErr(ctx)
	}
	select {
	case err := <-q.done:
		return err
	case <-r.done:
		return ErrStopped
	case <-ctx.Done():
		return ctxErr(ctx)
	}
}

// TransferLeadership asks this node, if leader, to hand leadership to id.
func (r *Raft) TransferLeadership(ctx context.Context, id uint64) error {
	errc := make(chan error, 1)
	if err := r.do(ctx, func(n *raft.Node) { errc <- n.TransferLeadership(id) }); err != nil {
		return err
	}
	return <-errc
}

// Campaign makes this node start an election now.
func (r *Raft) Campaign(ctx context.Context) error {
	errc := make(chan error, 1)
	if err := r.do(ctx, func(n *raft.Node) { errc <- n.Campaign() }); err != nil {
		return err
	}
	return <-errc
}

func (r *Raft) do(ctx context.Context, f func(*raft.Node)) error {
	select {
	case r.admin <- f:
		return nil
	case <-r.done:
		return ErrStopped
	case <-ctx.Done():
		return ctxErr(ctx)
	}
}

// Status returns the node's Raft state as of the last loop iteration.
func (r *Raft) Status() raft.Status {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.mu.status
}

// Peers returns the known transport addresses of the members.
func (r *Raft) Peers() map[uint64]transport.Addr {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make(map[uint64]transport.Addr, len(r.mu.peers))
	for id, a := range r.mu.peers {
		out[id] = a
	}
	return out
}

// ClientAddr returns the client address of member id learned from the log,
// or "".
func (r *Raft) ClientAddr(id uint64) string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.mu.clients[id]
}

// MemberContext is the Context of a membership change adding a node: its
// peer and client addresses, so every member learns both from the log.
func MemberContext(peer, client string) []byte { return []byte(peer + "/" + client) }

func parseMemberContext(b []byte) (peer, client string, ok bool) {
	if len(b) == 0 {
		return "", "", false
	}
	peer, client, _ = strings.Cut(string(b), "/")
	return peer, client, peer != ""
}

// Err returns the fatal error that stopped the loop, if any.
func (r *Raft) Err() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.mu.lastErr
}

// Done is closed when the event loop has stopped.
func (r *Raft) Done() <-chan struct{} { return r.done }

// Close stops the event loop and closes the wal. Pending requests fail
// with ErrStopped.
func (r *Raft) Close() error {
	r.closeOnce.Do(func() { close(r.stop) })
	<-r.done
	return r.Err()
}

func ctxErr(ctx context.Context) error {
	if errors.Is(ctx.Err(), context.DeadlineExceeded) {
		return fmt.Errorf("%w: %w", ErrTimeout, ctx.Err())
	}
	return ctx.Err()
}

// readCtx names a read request cluster-wide: the leader keeps one pending
// read per context, so each node's requests carry its id as well as its
// own sequence number.
func readCtx(id, seq uint64) []byte {
	return binary.BigEndian.AppendUint64(binary.BigEndian.AppendUint64(nil, id), seq)
}

// readSeqOf returns the sequence number of one of our read contexts.
func readSeqOf(id uint64, ctx []byte) (uint64, bool) {
	if len(ctx) != 16 || binary.BigEndian.Uint64(ctx) != id {
		return 0, false
	}
	return binary.BigEndian.Uint64(ctx[8:]), true
}
