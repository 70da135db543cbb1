package raft

import (
	"bytes"
	"fmt"

	pb "github.com/puddlestore/puddlestore/raft/raftpb"
)

// step is the single entry point of every message, local or from a peer
// (Raft Figure 2 "Rules for Servers", with pre-vote and check-quorum from the
// thesis, §9.6 and §6.2).
func (r *raft) step(m pb.Message) error {
	switch {
	case m.Term == 0:
		// Local message, or a forwarded request.
	case m.Term > r.term:
		if m.Type == pb.MsgVote || m.Type == pb.MsgPreVote {
			force := bytes.Equal(m.Context, campaignTransfer)
			if !force && r.inLease() {
				// We hear from a leader: this candidate is partitioned or
				// was removed; do not let it disturb us.
				return nil
			}
		}
		switch {
		case m.Type == pb.MsgPreVote:
			// A pre-vote never changes our term.
		case m.Type == pb.MsgPreVoteResp && !m.Reject:
			// The term is raised when the pre-candidate wins.
		default:
			if m.Type == pb.MsgApp || m.Type == pb.MsgHeartbeat || m.Type == pb.MsgSnap {
				r.becomeFollower(m.Term, m.From)
			} else {
				r.becomeFollower(m.Term, None)
			}
		}
	case m.Term < r.term:
		if (!r.cfg.DisableCheckQuorum || !r.cfg.DisablePreVote) && (m.Type == pb.MsgHeartbeat || m.Type == pb.MsgApp) {
			// A stale leader: tell it our term so it steps down. Without
			// this, a node that rose its term in a pre-vote-less
			// partition could never be heard again.
			r.send(pb.Message{Type: pb.MsgAppResp, To: m.From})
		} else if m.Type == pb.MsgPreVote {
			r.send(pb.Message{Type: pb.MsgPreVoteResp, To: m.From, Term: r.term, Reject: true})
		}
		return nil
	}

	switch m.Type {
	case pb.MsgHup:
		r.hup(false)
		return nil
	case pb.MsgVote, pb.MsgPreVote:
		canVote := r.vote == m.From ||
			(r.vote == None && r.lead == None) ||
			(m.Type == pb.MsgPreVote && m.Term > r.term)
		if canVote && r.log.isUpToDate(m.Index, m.LogTerm) {
			r.send(pb.Message{Type: voteRespType(m.Type), To: m.From, Term: m.Term})
			if m.Type == pb.MsgVote {
				r.electionElapsed = 0
				r.vote = m.From
			}
		} else {
			r.send(pb.Message{Type: voteRespType(m.Type), To: m.From, Term: r.term, Reject: true})
		}
		return nil
	}
	switch r.state {
	case StateLeader:
		return r.stepLeader(m)
	case StateCandidate, StatePreCandidate:
		return r.stepCandidate(m)
	default:
		return r.stepFollower(m)
	}
}

func (r *raft) stepLeader(m pb.Message) error {
	switch m.Type {
	case pb.MsgBeat:
		r.bcastHeartbeat(r.readOnly.lastCtx())
		return nil
	case pb.MsgCheckQuorum:
		if !r.quorumActive() {
			r.logf("%x stepped down at term %d: no quorum heard within the election timeout", r.id, r.term)
			r.becomeFollower(r.term, None)
		}
		for id, pr := range r.prs {
			if id != r.id {
				pr.recentActive = false
			}
		}
		return nil
	case pb.MsgProp:
		return r.propose(m)
	case pb.MsgReadIndex:
		r.readIndex(m)
		return nil
	case pb.MsgTransferLeader:
		return r.transferLeader(m.From)
	}

	pr := r.prs[m.From]
	if pr == nil || m.From == r.id {
		return nil // not a member (any more): ignore
	}
	switch m.Type {
	case pb.MsgAppResp:
		pr.recentActive = true
		r.handleAppendResponse(m, pr)
	case pb.MsgHeartbeatResp:
		pr.recentActive = true
		pr.probeSent = false
		if m.Index <= r.ticks && m.Index > pr.leaseTick {
			pr.leaseTick = m.Index
		}
		if pr.state == stateReplicate && pr.inflight.full() {
			// Every append in the window may have been lost: free one
			// slot so the next append probes where the follower is.
			pr.inflight.freeFirst()
		}
		if pr.state == stateSnapshot {
			r.snapshotHeartbeat(m.From, pr)
		} else if pr.match < r.log.lastIndex() {
			r.sendAppend(m.From, true)
		}
		r.readIndexAck(m)
	case pb.MsgSnapResp:
		pr.recentActive = true
		r.handleSnapResponse(m, pr)
	}
	return nil
}

func (r *raft) propose(m pb.Message) error {
	if len(m.Entries) == 0 {
		return fmt.Errorf("%w: empty proposal", ErrMalformed)
	}
	if r.prs[r.id] == nil || !r.promotable() {
		return ErrProposalDropped
	}
	if r.leadTransferee != None {
		return ErrProposalDropped
	}
	// Check every entry before changing anything: a batch is appended
	// whole or not at all. One configuration change at a time, so at
	// most one per batch.
	confAt := -1
	for i := range m.Entries {
		e := &m.Entries[i]
		if e.Type != pb.EntryConfChange {
			continue
		}
		var cc pb.ConfChange
		if err := cc.Unmarshal(e.Data); err != nil {
			return fmt.Errorf("%w: configuration change: %v", ErrMalformed, err)
		}
		if confAt >= 0 || r.pendingConfIndex > r.log.applied {
			return ErrConfChangePending
		}
		if err := r.checkConfChange(cc); err != nil {
			return err
		}
		confAt = i
	}
	if confAt >= 0 {
		r.pendingConfIndex = r.log.lastIndex() + uint64(confAt) + 1
	}
	r.appendEntry(m.Entries...)
	r.bcastAppend()
	return nil
}

func (r *raft) handleAppendResponse(m pb.Message, pr *progress) {
	if m.Reject {
		next := m.RejectHint
		if m.LogTerm > 0 {
			// Skip every entry of the follower's conflicting term at once.
			next, _ = r.log.findConflictByTerm(m.RejectHint, m.LogTerm)
		}
		if pr.maybeDecrTo(m.Index, next) {
			if pr.state == stateReplicate {
				pr.becomeProbe()
			}
			r.sendAppend(m.From, true)
		}
		return
	}
	if m.Index > r.log.lastIndex() {
		return // acknowledges entries we never sent: ignore
	}
	wasPaused := pr.paused()
	if !pr.maybeUpdate(m.Index) {
		return
	}
	switch {
	case pr.state == stateProbe:
		pr.becomeReplicate()
	case pr.state == stateSnapshot && pr.match+1 >= r.log.firstIndex():
		pr.becomeProbe()
		pr.becomeReplicate()
	case pr.state == stateReplicate:
		pr.inflight.freeLE(m.Index)
	}
	if r.maybeCommit() {
		r.bcastAppend()
	} else if wasPaused {
		r.sendAppend(m.From, true)
	}
	// Fill the pipeline.
	for r.sendAppend(m.From, false) {
	}
	if m.From == r.leadTransferee && pr.match == r.log.lastIndex() {
		r.logf("%x sent timeout-now to %x at term %d", r.id, m.From, r.term)
		r.sendTimeoutNow(m.From)
	}
}

func (r *raft) quorumActive() bool {
	n := 0
	for _, id := range r.voters {
		if id == r.id {
			n++
			continue
		}
		if pr := r.prs[id]; pr != nil && pr.recentActive {
			n++
		}
	}
	return n >= r.quorum()
}

func (r *raft) transferLeader(to uint64) error {
	if !r.isVoter(to) {
		return fmt.Errorf("raft: cannot transfer leadership to %x: not a voter", to)
	}
	if to == r.id {
		return nil
	}
	if r.leadTransferee == to {
		return nil
	}
	r.abortLeaderTransfer()
	r.electionElapsed = 0 // the transfer must finish within an election timeout
	r.leadTransferee = to
	r.logf("%x is transferring leadership to %x at term %d", r.id, to, r.term)
	if r.prs[to].match == r.log.lastIndex() {
		r.sendTimeoutNow(to)
	} else {
		r.sendAppend(to, true)
	}
	return nil
}

func (r *raft) stepCandidate(m pb.Message) error {
	switch m.Type {
	case pb.MsgProp:
		return &NotLeaderError{}
	case pb.MsgReadIndex:
		return &NotLeaderError{}
	case pb.MsgTransferLeader:
		return &NotLeaderError{}
	case pb.MsgApp, pb.MsgHeartbeat, pb.MsgSnap:
		// A leader of our term exists (§5.2).
		r.becomeFollower(m.Term, m.From)
		return r.stepFollower(m)
	case pb.MsgVoteResp, pb.MsgPreVoteResp:
		want := pb.MsgVoteResp
		if r.state == StatePreCandidate {
			want = pb.MsgPreVoteResp
		}
		if m.Type != want {
			return nil
		}
		switch r.poll(m.From, !m.Reject) {
		case voteWon:
			if r.state == StatePreCandidate {
				r.campaign(false, false)
			} else {
				r.becomeLeader()
				r.bcastAppend()
			}
		case voteLost:
			r.becomeFollower(r.term, None)
		}
	}
	return nil
}

func (r *raft) stepFollower(m pb.Message) error {
	switch m.Type {
	case pb.MsgProp:
		if m.From != r.id {
			return nil // forwarded to a node that no longer leads: dropped
		}
		if r.lead == None || !r.cfg.ForwardProposals {
			return &NotLeaderError{Leader: r.lead}
		}
		m.To = r.lead
		r.send(m)
	case pb.MsgReadIndex:
		if m.From != r.id {
			// Forwarded to us by a follower that thought we lead: do not
			// forward again (the answer would come back to us, not to
			// it); it times out and retries.
			return nil
		}
		if r.lead == None {
			return &NotLeaderError{}
		}
		m.To = r.lead
		r.send(m)
	case pb.MsgTransferLeader:
		return &NotLeaderError{Leader: r.lead}
	case pb.MsgApp:
		r.electionElapsed = 0
		r.lead = m.From
		return r.handleAppend(m)
	case pb.MsgHeartbeat:
		r.electionElapsed = 0
		r.lead = m.From
		r.log.commitTo(min(m.Commit, r.log.lastIndex()))
		r.send(pb.Message{Type: pb.MsgHeartbeatResp, To: m.From, Index: m.Index, Context: m.Context})
	case pb.MsgSnap:
		r.electionElapsed = 0
		r.lead = m.From
		r.handleSnapshotChunk(m)
	case pb.MsgTimeoutNow:
		r.logf("%x got timeout-now from %x at term %d", r.id, m.From, r.term)
		// Skip pre-vote: the leader asked for this election.
		r.hup(true)
	case pb.MsgReadIndexResp:
		r.readStates = append(r.readStates, ReadState{Index: m.Index, RequestCtx: m.Context})
	}
	return nil
}

func (r *raft) handleAppend(m pb.Message) error {
	if m.Index < r.log.committed {
		r.send(pb.Message{Type: pb.MsgAppResp, To: m.From, Index: r.log.committed})
		return nil
	}
	lastNew, ok, err := r.log.maybeAppend(m.Index, m.LogTerm, m.Commit, m.Entries)
	r.syncConfIfChanged()
	if err != nil {
		return err
	}
	if ok {
		r.send(pb.Message{Type: pb.MsgAppResp, To: m.From, Index: lastNew})
		return nil
	}
	hintIndex, hintTerm := r.log.findConflictByTerm(min(m.Index, r.log.lastIndex()), m.LogTerm)
	r.send(pb.Message{Type: pb.MsgAppResp, To: m.From, Index: m.Index, Reject: true, RejectHint: hintIndex, LogTerm: hintTerm})
	return nil
}
