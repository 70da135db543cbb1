package raft

import (
	"errors"
	"fmt"

	pb "github.com/puddlestore/puddlestore/raft/raftpb"
)

// SoftState is volatile state worth reporting: who leads, and our role.
type SoftState struct {
	Lead  uint64
	State StateType
}

// Ready is what the driver must do next, in this order:
//
//  1. send the Messages for which SendBeforePersist is true (a leader's
//     appends and heartbeats; optional, it only saves latency);
//  2. persist HardState, Entries and Snapshot, with one fsync if MustSync;
//  3. send the remaining Messages;
//  4. restore Snapshot (if any) into the state machine, then apply
//     CommittedEntries in order, and serve ReadStates whose index is applied;
//  5. call Advance(rd).
//
// The driver must not Step or Tick between Ready and Advance.
type Ready struct {
	// SoftState is non-nil when the leader or role changed.
	*SoftState
	// HardState is non-empty when it changed.
	HardState pb.HardState
	// ReadStates answer ReadIndex requests.
	ReadStates []ReadState
	// Entries to persist, replacing any persisted entries from
	// Entries[0].Index on.
	Entries []pb.Entry
	// Snapshot received from the leader, to persist and restore.
	Snapshot pb.Snapshot
	// CommittedEntries to apply to the state machine.
	CommittedEntries []pb.Entry
	// Messages to send.
	Messages []pb.Message
	// MustSync: persisting this Ready needs an fsync.
	MustSync bool
}

// SendBeforePersist reports whether m may be sent before the Ready that
// holds it is persisted. A leader's appends carry entries the leader has not
// yet made durable; that is safe because the leader counts its own copy
// toward a quorum only after Advance (thesis §10.2.1: the leader writes to
// its disk in parallel with replicating). Votes and acknowledgements must
// wait for the disk.
func SendBeforePersist(m pb.Message) bool {
	switch m.Type {
	case pb.MsgApp, pb.MsgHeartbeat, pb.MsgSnap:
		return true
	}
	return false
}

// Node is one Raft node: a pure state machine. It is not safe for
// concurrent use; its driver owns it.
type Node struct {
	r        *raft
	prevSoft SoftState
	prevHard pb.HardState
}

// New returns a node, restored from the state in cfg.
func New(cfg Config) (*Node, error) {
	r, err := newRaft(cfg)
	if err != nil {
		return nil, err
	}
	n := &Node{r: r, prevSoft: SoftState{Lead: r.lead, State: r.state}}
	if !(cfg.HardState.IsEmpty() && cfg.Snapshot.IsEmpty() && len(cfg.Entries) == 0) {
		n.prevHard = n.hardState()
	}
	return n, nil
}

func (n *Node) hardState() pb.HardState {
	return pb.HardState{Term: n.r.term, Vote: n.r.vote, Commit: n.r.log.committed}
}

// Tick advances logical time by one tick.
func (n *Node) Tick() { n.r.tick() }

// Step feeds a message from a peer. Malformed messages and local message
// types are refused with an error; nothing a peer sends makes Step panic.
func (n *Node) Step(m pb.Message) error {
	if m.Type.IsLocal() {
		return fmt.Errorf("%w: %s", ErrStepLocal, m.Type)
	}
	if err := m.Validate(); err != nil {
		return fmt.Errorf("%w: %v", ErrMalformed, err)
	}
	if m.To != n.r.id {
		return fmt.Errorf("%w: addressed to %x, not %x", ErrMalformed, m.To, n.r.id)
	}
	if m.Type.IsResponse() && m.From == n.r.id {
		return fmt.Errorf("%w: response from ourselves", ErrMalformed)
	}
	return n.r.step(m)
}

// Campaign starts an election now (with pre-vote if enabled).
func (n *Node) Campaign() error {
	return n.r.step(pb.Message{Type: pb.MsgHup, From: n.r.id})
}

// Propose appends commands to the log. On the leader it returns the index of
// the first and the term they were appended at; the driver matches applied
// entries against (index, term) to learn each command's fate: an applied
// entry at that index with another term means the proposal was dropped.
// Elsewhere it returns a *NotLeaderError with the leader hint (or, with
// ForwardProposals, forwards and returns index 0).
func (n *Node) Propose(data ...[]byte) (index, term uint64, err error) {
	if len(data) == 0 {
		return 0, 0, fmt.Errorf("%w: empty proposal", ErrMalformed)
	}
	ents := make([]pb.Entry, len(data))
	for i, d := range data {
		ents[i] = pb.Entry{Data: d}
	}
	return n.propose(ents)
}

// ProposeConfChange proposes one membership change. One change at a time:
// ErrConfChangePending while the previous one is not applied.
func (n *Node) ProposeConfChange(cc pb.ConfChange) (index, term uint64, err error) {
	return n.propose([]pb.Entry{{Type: pb.EntryConfChange, Data: cc.Marshal()}})
}

func (n *Node) propose(ents []pb.Entry) (uint64, uint64, error) {
	before := n.r.log.lastIndex()
	if err := n.r.step(pb.Message{Type: pb.MsgProp, From: n.r.id, Entries: ents}); err != nil {
		return 0, 0, err
	}
	if n.r.state != StateLeader || n.r.log.lastIndex() == before {
		return 0, 0, nil // forwarded
	}
	return before + 1, n.r.term, nil
}

// ReadIndex asks for a linearizable read point; the answer comes as a
// ReadState carrying ctx, which must be unique among pending requests.
func (n *Node) ReadIndex(ctx []byte) error {
	if len(ctx) == 0 {
		return fmt.Errorf("%w: read index needs a request context", ErrMalformed)
	}
	return n.r.step(pb.Message{Type: pb.MsgReadIndex, From: n.r.id, Context: ctx})
}

// TransferLeadership asks this node, the leader, to hand leadership to
// voter to (thesis §3.10). Proposals are refused until it completes or an
// election timeout passes.
func (n *Node) TransferLeadership(to uint64) error {
	if n.r.state != StateLeader {
		return &NotLeaderError{Leader: n.r.lead}
	}
	return n.r.step(pb.Message{Type: pb.MsgTransferLeader, From: to})
}

// Compact records a snapshot of the state machine as of index (which must
// be the applied index) and drops log entries before index-keep, keeping a
// tail so that slightly lagging followers catch up from the log rather than
// by snapshot. The driver persists the returned snapshot; until it has, its
// wal still holds every entry the snapshot covers, so a crash in between
// loses nothing.
func (n *Node) Compact(index uint64, data []byte, keep uint64) (pb.Snapshot, error) {
	if index != n.r.log.applied {
		return pb.Snapshot{}, fmt.Errorf("raft: compact at %d, but applied is %d", index, n.r.log.applied)
	}
	md, err := n.SnapshotMetadata()
	if err != nil {
		return pb.Snapshot{}, err
	}
	s := pb.Snapshot{Metadata: md, Data: data}
	return s, n.CompactTo(s, keep)
}

// ErrSnapshotNotNow: a snapshot cannot be described at the applied index
// right now; try again after the next Advance. SnapshotMetadata no longer
// returns it (it describes the membership at the applied index); kept so
// that drivers checking for it still build.
var ErrSnapshotNotNow = errors.New("raft: no snapshot point now")

// SnapshotMetadata describes a snapshot taken at the applied index now: its
// index, term and membership. A driver that encodes its state machine off
// its loop takes the state machine's view and this metadata at the same
// moment, and calls CompactTo with both when the encoding is done.
func (n *Node) SnapshotMetadata() (pb.SnapshotMetadata, error) {
	l := n.r.log
	t, ok := l.term(l.applied)
	if !ok {
		return pb.SnapshotMetadata{}, fmt.Errorf("%w: no term for %d", ErrCompacted, l.applied)
	}
	// The membership at the applied index, not the node's current one:
	// that includes every change in the log, committed or not.
	cs, err := n.r.confStateAt(l.applied)
	if err != nil {
		return pb.SnapshotMetadata{}, err
	}
	return pb.SnapshotMetadata{Index: l.applied, Term: t, ConfState: cs}, nil
}

// CompactTo records s, whose metadata SnapshotMetadata gave, as the node's
// snapshot (sent to followers that need it), and drops log entries before
// s's index less keep. It refuses a snapshot no newer than the current one
// (e.g. one received from the leader meanwhile).
func (n *Node) CompactTo(s pb.Snapshot, keep uint64) error {
	l := n.r.log
	md := s.Metadata
	if md.Index > l.applied {
		return fmt.Errorf("raft: snapshot at %d is beyond applied %d", md.Index, l.applied)
	}
	if md.Index <= l.snap.Metadata.Index {
		return fmt.Errorf("%w: snapshot %d is not after %d", ErrCompacted, md.Index, l.snap.Metadata.Index)
	}
	if t, ok := l.term(md.Index); !ok || t != md.Term {
		return fmt.Errorf("raft: snapshot %d has term %d, the log says %d", md.Index, md.Term, t)
	}
	l.setSnap(s)
	if md.Index > keep {
		l.compact(min(md.Index-keep, l.stabled))
	}
	return nil
}

// HasReady reports whether Ready has anything to do.
func (n *Node) HasReady() bool {
	r := n.r
	if soft := (SoftState{Lead: r.lead, State: r.state}); soft != n.prevSoft {
		return true
	}
	if hs := n.hardState(); hs != n.prevHard {
		return true
	}
	return len(r.msgs) > 0 || len(r.readStates) > 0 || r.log.unstableSnap != nil ||
		len(r.log.unstable()) > 0 || len(r.log.nextApply(1)) > 0
}

// Ready returns what the driver must do next. See Ready.
func (n *Node) Ready() Ready {
	r := n.r
	rd := Ready{
		Entries:          r.log.unstable(),
		CommittedEntries: r.log.nextApply(r.cfg.MaxCommittedSizePerReady),
		Messages:         r.msgs,
		ReadStates:       r.readStates,
	}
	if soft := (SoftState{Lead: r.lead, State: r.state}); soft != n.prevSoft {
		rd.SoftState = &soft
		n.prevSoft = soft
	}
	hs := n.hardState()
	if hs != n.prevHard {
		rd.HardState = hs
		rd.MustSync = hs.Term != n.prevHard.Term || hs.Vote != n.prevHard.Vote
		n.prevHard = hs
	}
	if s := r.log.unstableSnap; s != nil {
		rd.Snapshot = *s
		rd.MustSync = true
	}
	if len(rd.Entries) > 0 {
		rd.MustSync = true
	}
	if k := len(rd.CommittedEntries); k > 0 {
		r.log.applying = rd.CommittedEntries[k-1].Index
	}
	r.msgs = nil
	r.readStates = nil
	return rd
}

// Advance tells the node the driver has done what rd asked.
func (n *Node) Advance(rd Ready) {
	r := n.r
	if !rd.Snapshot.IsEmpty() && r.log.unstableSnap != nil && r.log.unstableSnap.Metadata.Index == rd.Snapshot.Metadata.Index {
		r.log.unstableSnap = nil
	}
	if k := len(rd.Entries); k > 0 {
		e := rd.Entries[k-1]
		r.log.stableTo(e.Index, e.Term)
	}
	for _, e := range rd.CommittedEntries {
		if e.Index <= r.log.applied {
			continue
		}
		r.log.applied = e.Index
		if e.Type == pb.EntryConfChange {
			r.confCommitted()
		}
	}
	if r.log.applying < r.log.applied {
		r.log.applying = r.log.applied
	}
	if r.state == StateLeader {
		if pr := r.prs[r.id]; pr != nil && pr.maybeUpdate(r.log.stabled) {
			if r.maybeCommit() {
				r.bcastAppend()
			}
		}
	}
}

// ProgressStatus is the leader's view of one follower.
type ProgressStatus struct {
	Match, Next  uint64
	State        string
	RecentActive bool
	Learner      bool
}

// Status is a snapshot of a node's state for operators and tests.
type Status struct {
	ID             uint64
	Term, Vote     uint64
	Lead           uint64
	State          StateType
	Commit         uint64
	Applied        uint64
	FirstIndex     uint64
	LastIndex      uint64
	SnapshotIndex  uint64
	LeadTransferee uint64
	ConfState      pb.ConfState
	Progress       map[uint64]ProgressStatus // leader only
}

// Status reports the node's state.
func (n *Node) Status() Status {
	r := n.r
	s := Status{
		ID: r.id, Term: r.term, Vote: r.vote, Lead: r.lead, State: r.state,
		Commit: r.log.committed, Applied: r.log.applied,
		FirstIndex: r.log.firstIndex(), LastIndex: r.log.lastIndex(),
		SnapshotIndex: r.log.snap.Metadata.Index, LeadTransferee: r.leadTransferee,
		ConfState: r.confState(),
	}
	if r.state == StateLeader {
		s.Progress = map[uint64]ProgressStatus{}
		for _, id := range r.members() {
			pr := r.prs[id]
			s.Progress[id] = ProgressStatus{Match: pr.match, Next: pr.next, State: pr.state.String(), RecentActive: pr.recentActive, Learner: pr.learner}
		}
	}
	return s
}

// Snapshot returns the node's latest snapshot (metadata and, if held, data).
func (n *Node) Snapshot() pb.Snapshot { return n.r.log.snap }

// Members returns the current voters and learners.
func (n *Node) Members() pb.ConfState { return n.r.confState() }
