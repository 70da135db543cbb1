package raft

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"slices"

	pb "github.com/puddlestore/puddlestore/raft/raftpb"
)

// StateType is a node's role.
type StateType uint8

const (
	StateFollower StateType = iota
	StatePreCandidate
	StateCandidate
	StateLeader
)

func (s StateType) String() string {
	return [...]string{"follower", "pre-candidate", "candidate", "leader"}[s]
}

// campaignTransfer marks the vote requests of an election started by a
// leadership transfer: voters grant them even while they hear from a leader.
var campaignTransfer = []byte("transfer")

// raft is the protocol state of one node. Every method runs on the driver's
// goroutine; nothing here blocks, sleeps, or does I/O.
type raft struct {
	id     uint64
	term   uint64
	vote   uint64
	lead   uint64
	state  StateType
	log    *raftLog
	cfg    Config
	logger *slog.Logger
	rng    *rand.Rand

	// Membership, kept sorted so that iteration (and so every message
	// sequence) is deterministic.
	voters   []uint64
	learners []uint64
	prs      map[uint64]*progress // every member, on every node; used by the leader

	votes map[uint64]bool

	msgs       []pb.Message
	readStates []ReadState

	electionElapsed           int
	heartbeatElapsed          int
	randomizedElectionTimeout int
	// ticks counts every tick since New: the clock of lease reads.
	ticks uint64
	// quietTicks: with lease reads, a node restarted from its state votes
	// for no one during its first election timeout.
	quietTicks uint64

	// pendingConfIndex: a new configuration change may be proposed only
	// once this index is applied (one change at a time, thesis §4.1).
	pendingConfIndex uint64
	leadTransferee   uint64
	// timeoutNowSent: this leader told a transferee to campaign in this
	// term; lease reads are off until reset.
	timeoutNowSent bool

	readOnly readOnly
	// pendingReadIndex holds read requests that arrived before the leader
	// committed an entry of its term (thesis §6.4 step 1).
	pendingReadIndex []pb.Message

	snapRecv *snapReceive
}

func newRaft(cfg Config) (*raft, error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	fresh := cfg.HardState.IsEmpty() && cfg.Snapshot.IsEmpty() && len(cfg.Entries) == 0
	ents := cfg.Entries
	hs := cfg.HardState
	if fresh && (len(cfg.Peers) > 0 || len(cfg.Learners) > 0) {
		var err error
		ents, err = bootstrapEntries(cfg.Peers, cfg.Learners)
		if err != nil {
			return nil, err
		}
		hs = pb.HardState{Term: 1, Commit: uint64(len(ents))}
	}
	l, err := newLog(cfg.Snapshot, ents, hs.Commit, cfg.Applied)
	if err != nil {
		return nil, err
	}
	if fresh {
		l.stabled = 0 // the bootstrap entries still have to be persisted
	}
	r := &raft{
		id:     cfg.ID,
		term:   hs.Term,
		vote:   hs.Vote,
		log:    l,
		cfg:    cfg,
		logger: cfg.Logger,
		rng:    rand.New(rand.NewPCG(uint64(cfg.Seed), cfg.ID)),
		prs:    map[uint64]*progress{},
	}
	// Membership: the latest configuration in the log, committed or not
	// (thesis §4.1; see "Membership" in doc.go). The committed prefix is
	// not enough: the persisted commit index may lag what was committed.
	l.confDirty = false
	if err := r.syncConf(); err != nil {
		return nil, err
	}
	if !fresh && cfg.ReadOnlyOption == ReadOnlyLeaseBased {
		r.quietTicks = uint64(cfg.ElectionTick)
	}
	r.becomeFollower(r.term, None)
	if fresh {
		// Keep the bootstrap state: becomeFollower does not touch the log.
		r.term = hs.Term
	}
	return r, nil
}

func bootstrapEntries(peers, learners []uint64) ([]pb.Entry, error) {
	var ents []pb.Entry
	add := func(id uint64, t pb.ConfChangeType) error {
		if id == None {
			return fmt.Errorf("%w: member id 0", errConfig)
		}
		cc := pb.ConfChange{Type: t, NodeID: id}
		ents = append(ents, pb.Entry{Term: 1, Index: uint64(len(ents) + 1), Type: pb.EntryConfChange, Data: cc.Marshal()})
		return nil
	}
	seen := map[uint64]bool{}
	for _, id := range slices.Concat(peers, learners) {
		if seen[id] {
			return nil, fmt.Errorf("%w: member %d listed twice", errConfig, id)
		}
		seen[id] = true
	}
	for _, id := range peers {
		if err := add(id, pb.ConfAddVoter); err != nil {
			return nil, err
		}
	}
	for _, id := range learners {
		if err := add(id, pb.ConfAddLearner); err != nil {
			return nil, err
		}
	}
	return ents, nil
}

func (r *raft) logf(format string, args ...any) {
	if r.logger.Enabled(context.Background(), slog.LevelInfo) {
		r.logger.Info(fmt.Sprintf(format, args...))
	}
}

// ---- membership ----

func (r *raft) isVoter(id uint64) bool   { _, ok := slices.BinarySearch(r.voters, id); return ok }
func (r *raft) isLearner(id uint64) bool { _, ok := slices.BinarySearch(r.learners, id); return ok }
func (r *raft) promotable() bool         { return r.isVoter(r.id) }
func (r *raft) quorum() int              { return len(r.voters)/2 + 1 }

// members returns voters then learners, each sorted.
func (r *raft) members() []uint64 { return slices.Concat(r.voters, r.learners) }

func insertSorted(s []uint64, id uint64) []uint64 {
	i, ok := slices.BinarySearch(s, id)
	if ok {
		return s
	}
	return slices.Insert(s, i, id)
}

func removeSorted(s []uint64, id uint64) []uint64 {
	i, ok := slices.BinarySearch(s, id)
	if !ok {
		return s
	}
	return slices.Delete(s, i, i+1)
}

func (r *raft) newProgress(learner bool) *progress {
	return &progress{
		next:     r.log.lastIndex() + 1,
		learner:  learner,
		inflight: inflights{maxCount: r.cfg.MaxInflightMsgs, maxBytes: r.cfg.MaxInflightBytes},
	}
}

func (r *raft) addNode(id uint64, learner bool) {
	if learner {
		r.voters = removeSorted(r.voters, id)
		r.learners = insertSorted(r.learners, id)
	} else {
		r.learners = removeSorted(r.learners, id)
		r.voters = insertSorted(r.voters, id)
	}
	pr := r.prs[id]
	if pr == nil {
		pr = r.newProgress(learner)
		// A new member counts as active: check-quorum must not depose the
		// leader before the member has had a chance to answer.
		pr.recentActive = true
		r.prs[id] = pr
	}
	pr.learner = learner
}

func (r *raft) removeNode(id uint64) {
	r.voters = removeSorted(r.voters, id)
	r.learners = removeSorted(r.learners, id)
	delete(r.prs, id)
}

// confStateAt returns the membership of the log prefix ending at index i:
// the snapshot's, then every configuration change after it up to i. The log
// always holds every entry after the snapshot (compaction keeps them), so
// any i from the snapshot's index to the last index can be described.
func (r *raft) confStateAt(i uint64) (pb.ConfState, error) {
	cs := r.log.snap.Metadata.ConfState
	voters := slices.Sorted(slices.Values(cs.Voters))
	learners := slices.Sorted(slices.Values(cs.Learners))
	lo := max(r.log.snap.Metadata.Index+1, r.log.first)
	for _, e := range r.log.slice(lo, i+1, 0) {
		if e.Type != pb.EntryConfChange {
			continue
		}
		var cc pb.ConfChange
		if cc.Unmarshal(e.Data) != nil || cc.NodeID == None {
			// A malformed change changes nothing, as when it is applied
			// (found by FuzzStep: a leader's append may carry one).
			continue
		}
		switch cc.Type {
		case pb.ConfAddVoter:
			learners = removeSorted(learners, cc.NodeID)
			voters = insertSorted(voters, cc.NodeID)
		case pb.ConfAddLearner:
			voters = removeSorted(voters, cc.NodeID)
			learners = insertSorted(learners, cc.NodeID)
		case pb.ConfRemoveNode:
			voters = removeSorted(voters, cc.NodeID)
			learners = removeSorted(learners, cc.NodeID)
		}
	}
	return pb.ConfState{Voters: voters, Learners: learners}, nil
}

// syncConf makes the membership that of the whole log: a configuration
// takes effect as soon as its entry is in the log, committed or not, and a
// truncated one stops counting at once (thesis §4.1). Members that stay
// keep their progress.
func (r *raft) syncConf() error {
	cs, err := r.confStateAt(r.log.lastIndex())
	if err != nil {
		return err
	}
	r.setConf(cs)
	return nil
}

// setConf replaces the membership by cs.
func (r *raft) setConf(cs pb.ConfState) {
	for _, id := range r.members() {
		if !slices.Contains(cs.Voters, id) && !slices.Contains(cs.Learners, id) {
			r.removeNode(id)
		}
	}
	for _, id := range cs.Voters {
		r.addNode(id, false)
	}
	for _, id := range cs.Learners {
		r.addNode(id, true)
	}
	if r.state != StateLeader {
		return
	}
	if r.leadTransferee != None && !r.isVoter(r.leadTransferee) {
		r.abortLeaderTransfer()
	}
	// The quorum may have shrunk. (A leader that removed itself goes on
	// leading, without counting its own copy, until the change commits:
	// confCommitted.)
	if r.maybeCommit() {
		r.bcastAppend()
	}
}

// syncConfIfChanged re-reads the membership from the log when entries
// added to or truncated from it held a configuration change.
func (r *raft) syncConfIfChanged() {
	if !r.log.confDirty {
		return
	}
	r.log.confDirty = false
	if err := r.syncConf(); err != nil {
		// Entries reach the log only from a proposal (checked) or a
		// leader's append of such entries.
		panic(err)
	}
}

// confCommitted runs when a configuration change is applied: a leader that
// is no longer a voter steps down once its removal is committed (thesis
// §4.2.2). The membership itself changed when the entry was appended.
func (r *raft) confCommitted() {
	if r.state == StateLeader && !r.promotable() {
		r.logf("%x removed from the voters, stepping down at term %d", r.id, r.term)
		r.becomeFollower(r.term, None)
	}
}

func (r *raft) confState() pb.ConfState {
	return pb.ConfState{Voters: slices.Clone(r.voters), Learners: slices.Clone(r.learners)}
}

// ---- role changes ----

func (r *raft) reset(term uint64) {
	if r.term != term {
		r.term = term
		r.vote = None
	}
	r.lead = None
	r.electionElapsed = 0
	r.heartbeatElapsed = 0
	r.randomizedElectionTimeout = r.cfg.ElectionTick + r.rng.IntN(r.cfg.ElectionTick)
	r.abortLeaderTransfer()
	r.timeoutNowSent = false
	r.votes = map[uint64]bool{}
	for id, pr := range r.prs {
		np := r.newProgress(pr.learner)
		if id == r.id {
			np.match = r.log.stabled
		}
		r.prs[id] = np
	}
	r.pendingConfIndex = 0
	r.readOnly = readOnly{}
	r.pendingReadIndex = nil
}

func (r *raft) becomeFollower(term, lead uint64) {
	r.reset(term)
	r.lead = lead
	r.state = StateFollower
}

func (r *raft) becomePreCandidate() {
	// Pre-vote changes neither term nor vote (thesis §9.6).
	r.votes = map[uint64]bool{}
	r.lead = None
	r.state = StatePreCandidate
}

func (r *raft) becomeCandidate() {
	r.reset(r.term + 1)
	r.vote = r.id
	r.state = StateCandidate
}

func (r *raft) becomeLeader() {
	r.reset(r.term)
	r.lead = r.id
	r.state = StateLeader
	for id, pr := range r.prs {
		if id == r.id {
			pr.becomeReplicate()
			pr.match = r.log.stabled
			pr.next = r.log.lastIndex() + 1
		}
		pr.recentActive = true
	}
	// A leader commits an entry of its own term before it trusts its
	// commit index (§5.4.2, §8).
	r.appendEntry(pb.Entry{})
	// No configuration change until that entry is applied: this closes the
	// single-server-change hole found after the paper (Ongaro, raft-dev,
	// 2015).
	r.pendingConfIndex = r.log.lastIndex()
	r.logf("%x became leader at term %d", r.id, r.term)
}

// ---- sending ----

func (r *raft) send(m pb.Message) {
	m.From = r.id
	switch m.Type {
	case pb.MsgVote, pb.MsgVoteResp, pb.MsgPreVote, pb.MsgPreVoteResp:
		// Term set by the caller: pre-votes carry the proposed term.
	case pb.MsgProp, pb.MsgReadIndex:
		m.Term = 0 // forwarded requests are not tied to a term
	default:
		m.Term = r.term
	}
	r.msgs = append(r.msgs, m)
}

// sendAppend sends what follower to needs next, if it is not paused. With
// sendIfEmpty false, an append with no entries is not sent.
func (r *raft) sendAppend(to uint64, sendIfEmpty bool) bool {
	pr := r.prs[to]
	if pr == nil || pr.paused() {
		return false
	}
	prevIndex := pr.next - 1
	prevTerm, ok := r.log.term(prevIndex)
	if !ok {
		return r.sendSnapshot(to, pr)
	}
	ents := r.log.slice(pr.next, r.log.lastIndex()+1, r.cfg.MaxSizePerMsg)
	if len(ents) == 0 && !sendIfEmpty {
		return false
	}
	r.send(pb.Message{Type: pb.MsgApp, To: to, Index: prevIndex, LogTerm: prevTerm, Entries: ents, Commit: r.log.committed})
	switch pr.state {
	case stateReplicate:
		if n := len(ents); n > 0 {
			var size uint64
			for _, e := range ents {
				size += entrySize(e)
			}
			last := ents[n-1].Index
			pr.next = last + 1
			pr.inflight.add(last, size)
		}
	case stateProbe:
		pr.probeSent = true
	}
	return true
}

func (r *raft) bcastAppend() {
	for _, id := range r.members() {
		if id != r.id {
			r.sendAppend(id, true)
		}
	}
}

func (r *raft) bcastHeartbeat(ctx []byte) {
	for _, id := range r.members() {
		if id == r.id {
			continue
		}
		pr := r.prs[id]
		// Never tell a follower to commit beyond what it is known to hold.
		commit := min(pr.match, r.log.committed)
		// Index carries our tick: the follower echoes it, and its answer
		// proves it heard us at that tick (lease reads).
		r.send(pb.Message{Type: pb.MsgHeartbeat, To: id, Commit: commit, Index: r.ticks, Context: ctx})
	}
}

func (r *raft) appendEntry(es ...pb.Entry) {
	li := r.log.lastIndex()
	for i := range es {
		es[i].Term = r.term
		es[i].Index = li + 1 + uint64(i)
	}
	// The leader's own copy counts toward a quorum only once the driver
	// has persisted it (Advance), never before.
	if err := r.log.append(es...); err != nil {
		panic(err) // appending after our own last index cannot conflict
	}
	r.syncConfIfChanged()
}

// maybeCommit advances the commit index to the highest index stored on a
// quorum of voters, if that entry is of the current term (§5.4.2).
func (r *raft) maybeCommit() bool {
	if len(r.voters) == 0 {
		return false
	}
	matches := make([]uint64, 0, len(r.voters))
	for _, id := range r.voters {
		if pr := r.prs[id]; pr != nil {
			matches = append(matches, pr.match)
		} else {
			matches = append(matches, 0)
		}
	}
	slices.Sort(matches)
	idx := matches[len(matches)-r.quorum()]
	if idx <= r.log.committed {
		return false
	}
	if t, ok := r.log.term(idx); !ok || t != r.term {
		return false
	}
	r.log.commitTo(idx)
	r.releasePendingReadIndex()
	return true
}

func (r *raft) committedEntryInCurrentTerm() bool {
	t, ok := r.log.term(r.log.committed)
	return ok && t == r.term
}

// ---- ticks ----

func (r *raft) tick() {
	r.ticks++
	if r.state == StateLeader {
		r.tickHeartbeat()
	} else {
		r.tickElection()
	}
}

func (r *raft) tickElection() {
	r.electionElapsed++
	if r.promotable() && r.electionElapsed >= r.randomizedElectionTimeout {
		r.electionElapsed = 0
		_ = r.step(pb.Message{Type: pb.MsgHup, From: r.id})
	}
}

func (r *raft) tickHeartbeat() {
	r.heartbeatElapsed++
	r.electionElapsed++
	if r.electionElapsed >= r.cfg.ElectionTick {
		r.electionElapsed = 0
		if !r.cfg.DisableCheckQuorum {
			_ = r.step(pb.Message{Type: pb.MsgCheckQuorum, From: r.id})
		}
		if r.state == StateLeader && r.leadTransferee != None {
			r.abortLeaderTransfer()
		}
	}
	if r.state != StateLeader {
		return
	}
	if r.heartbeatElapsed >= r.cfg.HeartbeatTick {
		r.heartbeatElapsed = 0
		_ = r.step(pb.Message{Type: pb.MsgBeat, From: r.id})
	}
}

// ---- elections ----

func (r *raft) hasUnappliedConfChanges() bool {
	for _, e := range r.log.slice(max(r.log.applied+1, r.log.first), r.log.committed+1, 0) {
		if e.Type == pb.EntryConfChange {
			return true
		}
	}
	return false
}

func (r *raft) hup(transfer bool) {
	if r.state == StateLeader || !r.promotable() {
		return
	}
	if r.hasUnappliedConfChanges() {
		r.logf("%x cannot campaign at term %d: configuration changes not yet applied", r.id, r.term)
		return
	}
	if !r.cfg.DisablePreVote && !transfer {
		r.campaign(true, false)
	} else {
		r.campaign(false, transfer)
	}
}

func (r *raft) campaign(pre, transfer bool) {
	voteType, term := pb.MsgVote, r.term
	if pre {
		r.becomePreCandidate()
		voteType, term = pb.MsgPreVote, r.term+1
	} else {
		r.becomeCandidate()
		term = r.term
	}
	if r.poll(r.id, true) == voteWon {
		if pre {
			r.campaign(false, transfer)
		} else {
			r.becomeLeader()
		}
		return
	}
	var ctx []byte
	if transfer {
		ctx = campaignTransfer
	}
	for _, id := range r.voters {
		if id == r.id {
			continue
		}
		r.send(pb.Message{Type: voteType, To: id, Term: term, Index: r.log.lastIndex(), LogTerm: r.log.lastTerm(), Context: ctx})
	}
	r.logf("%x started %s at term %d", r.id, map[bool]string{true: "a pre-vote", false: "an election"}[pre], term)
}

type voteResult uint8

const (
	votePending voteResult = iota
	voteWon
	voteLost
)

func (r *raft) poll(id uint64, granted bool) voteResult {
	if _, ok := r.votes[id]; !ok {
		r.votes[id] = granted
	}
	yes, no := 0, 0
	for _, v := range r.voters {
		g, ok := r.votes[v]
		switch {
		case !ok:
		case g:
			yes++
		default:
			no++
		}
	}
	switch {
	case yes >= r.quorum():
		return voteWon
	case no >= r.quorum():
		return voteLost
	}
	return votePending
}

// ---- leadership transfer (thesis §3.10) ----

func (r *raft) abortLeaderTransfer() { r.leadTransferee = None }

func (r *raft) sendTimeoutNow(to uint64) {
	// The transferee's election bypasses the followers' leases, so ours is
	// no proof of leadership any more: no lease reads until the next term.
	r.timeoutNowSent = true
	r.send(pb.Message{Type: pb.MsgTimeoutNow, To: to})
}

var errProposalConf = errors.New("raft: configuration change refused")

// checkConfChange refuses changes that would break the cluster.
func (r *raft) checkConfChange(cc pb.ConfChange) error {
	if cc.NodeID == None {
		return fmt.Errorf("%w: node id 0", errProposalConf)
	}
	switch cc.Type {
	case pb.ConfAddVoter:
		if !r.isLearner(cc.NodeID) && !r.isVoter(cc.NodeID) {
			// A new member joins as a learner and is promoted once it
			// has caught up; a voter nobody can reach yet would only
			// raise the quorum (a typo could wedge a small cluster).
			return fmt.Errorf("%w: %x is not a member; add it as a learner first", errProposalConf, cc.NodeID)
		}
		if r.isLearner(cc.NodeID) {
			pr := r.prs[cc.NodeID]
			if pr == nil || pr.match+learnerCatchUpSlack < r.log.committed || !pr.recentActive {
				return ErrLearnerNotCaughtUp
			}
		}
	case pb.ConfAddLearner, pb.ConfRemoveNode:
		if r.isVoter(cc.NodeID) && len(r.voters) == 1 {
			return fmt.Errorf("%w: %x is the last voter", errProposalConf, cc.NodeID)
		}
	default:
		return fmt.Errorf("%w: unknown type %d", errProposalConf, cc.Type)
	}
	return nil
}

// learnerCatchUpSlack is how far (in entries) behind the commit index a
// learner may be and still be promoted: close enough that it will not
// stall commits while it catches the rest up (thesis §4.2.1).
const learnerCatchUpSlack = 64

func isResponseTo(resp, req pb.MessageType) bool {
	return (req == pb.MsgVote && resp == pb.MsgVoteResp) || (req == pb.MsgPreVote && resp == pb.MsgPreVoteResp)
}

// inLease reports whether this follower heard from a leader within the
// election timeout; with check-quorum it then ignores vote requests. With
// lease reads, a node restarted from its state also waits an election
// timeout before it votes: it may have granted a leader a lease before it
// crashed.
func (r *raft) inLease() bool {
	if r.cfg.DisableCheckQuorum {
		return false
	}
	if r.ticks < r.quietTicks {
		return true
	}
	return r.lead != None && r.electionElapsed < r.cfg.ElectionTick
}

// leaseValid reports whether a quorum of voters heard from this leader
// recently enough that none of them will vote for another candidate yet
// (thesis §6.4.1). A voter that answered a heartbeat sent at tick s ignores
// votes until an election timeout after it got it, so the lease runs to
// s + ElectionTick, less one tick for the phase between the nodes' clocks.
// Correct as long as the nodes' clocks drift less than that margin.
func (r *raft) leaseValid() bool {
	if r.timeoutNowSent {
		return false
	}
	heard := make([]uint64, 0, len(r.voters))
	for _, id := range r.voters {
		switch pr := r.prs[id]; {
		case id == r.id:
			heard = append(heard, r.ticks)
		case pr != nil && pr.leaseTick > 0:
			heard = append(heard, pr.leaseTick)
		default:
			heard = append(heard, 0)
		}
	}
	slices.Sort(heard)
	q := heard[len(heard)-r.quorum()] // the quorum heard us at q or later
	return q > 0 && r.ticks+1 < q+uint64(r.cfg.ElectionTick)
}

func voteRespType(t pb.MessageType) pb.MessageType {
	if t == pb.MsgPreVote {
		return pb.MsgPreVoteResp
	}
	return pb.MsgVoteResp
}
