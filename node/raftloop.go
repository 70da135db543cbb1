package node

import (
	"fmt"
	"time"

	"github.com/puddlestore/puddlestore/raft"
	pb "github.com/puddlestore/puddlestore/raft/raftpb"
	"github.com/puddlestore/puddlestore/transport"
)

// maxBatch bounds how many queued messages or proposals one loop iteration
// takes before it persists: large enough for group commit to pay, small
// enough to keep one fsync short.
const maxBatch = 1024

func (r *Raft) run() {
	defer close(r.done)
	defer r.shutdown()
	ticker := time.NewTicker(r.cfg.TickInterval)
	defer ticker.Stop()
	for {
		// Every event first brings the core's clock up to date (see
		// catchUpTicks): a read must never be served on a stale clock.
		select {
		case <-r.stop:
			return
		case <-ticker.C:
			r.catchUpTicks()
		case m := <-r.inbox:
			r.catchUpTicks()
			for _, m := range drain(r.inbox, m) {
				r.step(m)
			}
		case p := <-r.proposals:
			r.catchUpTicks()
			r.proposeBatch(p)
		case q := <-r.reads:
			r.catchUpTicks()
			r.readIndex(q)
		case f := <-r.admin:
			r.catchUpTicks()
			f(r.node)
		case job := <-r.snapDone:
			r.catchUpTicks()
			if err := r.finishSnapshot(job); err != nil {
				r.fail(err)
				return
			}
		}
		if err := r.processReady(); err != nil {
			r.fail(err)
			return
		}
	}
}

func (r *Raft) fail(err error) {
	r.mu.Lock()
	r.mu.lastErr = err
	r.mu.Unlock()
	r.logger.Error("raft driver stopped: storage failed", "err", err)
}

// drain returns first and whatever else is queued on ch, up to maxBatch
// in all, without waiting.
func drain[T any](ch <-chan T, first T) []T {
	batch := []T{first}
	for len(batch) < maxBatch {
		select {
		case v := <-ch:
			batch = append(batch, v)
		default:
			return batch
		}
	}
	return batch
}

// readBatch is a batch of reads sharing one ReadIndex request.
type readBatch struct {
	reqs []*readReq
	tick uint64 // when it was asked
}

// catchUpTicks gives the core one tick per TickInterval of wall time since
// the last, and runs at the top of every loop iteration, not only when the
// ticker fires. A ticker drops ticks while the loop is busy (a slow fsync,
// a process pause); without catching up, a paused leader's logical clock
// would fall behind real time, and a read served as it wakes would trust a
// lease that has run out. After a long pause the core gets at most four
// election timeouts of ticks: enough for every timer to fire, without a
// burst of heartbeats for each tick missed.
func (r *Raft) catchUpTicks() {
	now := time.Now()
	if r.lastTick.IsZero() {
		r.lastTick = now
		return
	}
	n := int(now.Sub(r.lastTick) / r.cfg.TickInterval)
	if n <= 0 {
		return
	}
	r.lastTick = r.lastTick.Add(time.Duration(n) * r.cfg.TickInterval)
	n = min(n, 4*max(r.cfg.ElectionTicks, 10))
	for range n {
		r.node.Tick()
		r.ticks++
	}
	r.expireReads()
}

// expireReads gives up on reads whose ReadIndex request has had no answer
// for two election timeouts: a forwarded request or its answer was lost.
// Their callers may have gone; the answer channels are buffered.
func (r *Raft) expireReads() {
	limit := uint64(2 * max(r.cfg.ElectionTicks, 10))
	for seq, b := range r.pendingReads {
		if r.ticks-b.tick > limit {
			for _, q := range b.reqs {
				q.done <- ErrTimeout
			}
			delete(r.pendingReads, seq)
		}
	}
}

func (r *Raft) step(m pb.Message) {
	if err := r.node.Step(m); err != nil {
		r.logger.Debug("raft step", "type", m.Type.String(), "from", m.From, "err", err)
	}
}

// proposeBatch takes every queued proposal (up to maxBatch) and appends
// them as one batch: one Ready, one fsync, one append to each follower.
func (r *Raft) proposeBatch(first *proposal) {
	batch := drain(r.proposals, first)
	var datas [][]byte
	var normal []*proposal
	for _, p := range batch {
		if p.cc != nil {
			idx, term, err := r.node.ProposeConfChange(*p.cc)
			r.track(p, idx, term, err)
			continue
		}
		datas = append(datas, p.data)
		normal = append(normal, p)
	}
	if len(datas) == 0 {
		return
	}
	idx, term, err := r.node.Propose(datas...)
	for i, p := range normal {
		r.track(p, idx+uint64(i), term, err)
	}
}

func (r *Raft) track(p *proposal, idx, term uint64, err error) {
	if err == nil && idx == 0 {
		err = &raft.NotLeaderError{Leader: r.node.Status().Lead}
	}
	if err != nil {
		p.done <- proposalResult{err: err}
		return
	}
	p.index, p.term = idx, term
	r.pending[idx] = p
}

// readIndex batches: every read queued now shares one ReadIndex round.
func (r *Raft) readIndex(first *readReq) {
	batch := drain(r.reads, first)
	r.readSeq++
	if err := r.node.ReadIndex(readCtx(r.cfg.ID, r.readSeq)); err != nil {
		for _, q := range batch {
			q.done <- err
		}
		return
	}
	r.pendingReads[r.readSeq] = readBatch{reqs: batch, tick: r.ticks}
}

// processReady does what the core asks, in the order raft.Ready documents.
func (r *Raft) processReady() error {
	for r.node.HasReady() {
		rd := r.node.Ready()
		// A leader's appends go out before its own fsync (thesis §10.2.1).
		var later []pb.Message
		for _, m := range rd.Messages {
			if raft.SendBeforePersist(m) {
				r.send(m)
			} else {
				later = append(later, m)
			}
		}
		if !rd.Snapshot.IsEmpty() {
			if err := r.w.SaveSnapshot(rd.Snapshot); err != nil {
				return fmt.Errorf("save snapshot: %w", err)
			}
		}
		// A HardState whose commit alone advanced is saved too, so that a
		// restarted node re-applies less. Safety does not depend on it:
		// the core takes its membership from the whole log, committed or
		// not (raft's doc, "Membership"), so a restart with a stale commit
		// index cannot make a node think itself the only voter.
		if len(rd.Entries) > 0 || rd.MustSync || !rd.HardState.IsEmpty() {
			if err := r.w.Save(rd.HardState, rd.Entries); err != nil {
				return fmt.Errorf("save entries: %w", err)
			}
		}
		// A member counts from the moment its entry is in the log: learn
		// its address now, so that the leader reaches a new learner before
		// the change commits.
		for _, e := range rd.Entries {
			var cc pb.ConfChange
			if e.Type == pb.EntryConfChange && cc.Unmarshal(e.Data) == nil {
				r.learnAddress(cc)
			}
		}
		for _, m := range later {
			r.send(m)
		}
		if !rd.Snapshot.IsEmpty() {
			if err := r.restoreSnapshot(rd.Snapshot.Data); err != nil {
				return fmt.Errorf("restore snapshot %d: %w", rd.Snapshot.Metadata.Index, err)
			}
			r.applied = rd.Snapshot.Metadata.Index
			r.snapIndex = r.applied
			r.failPendingThrough(r.applied)
		}
		r.apply(rd.CommittedEntries)
		for _, rs := range rd.ReadStates {
			seq, ok := readSeqOf(r.cfg.ID, rs.RequestCtx)
			if !ok {
				continue
			}
			for _, q := range r.pendingReads[seq].reqs {
				q.index = rs.Index
				r.readWait = append(r.readWait, q)
			}
			delete(r.pendingReads, seq)
		}
		r.releaseReads()
		if rd.SoftState != nil && rd.SoftState.Lead != r.lastLead {
			r.lastLead = rd.SoftState.Lead
			raftLeaderChanges.WithLabelValues(r.metricName()).Inc()
		}
		if rd.SoftState != nil && rd.SoftState.State != raft.StateLeader {
			// Our proposals may still commit under the next leader, or be
			// overwritten; waiting to learn which can take as long as the
			// client's deadline. Answer now: the client retries with the
			// same sequence number, which exactly-once makes safe.
			for i, p := range r.pending {
				p.done <- proposalResult{err: ErrLeadershipLost}
				delete(r.pending, i)
			}
			// Reads waiting on a leader that is gone will not be answered.
			for seq, b := range r.pendingReads {
				for _, q := range b.reqs {
					q.done <- &raft.NotLeaderError{Leader: rd.SoftState.Lead}
				}
				delete(r.pendingReads, seq)
			}
		}
		r.node.Advance(rd)
		if err := r.maybeSnapshot(); err != nil {
			return err
		}
	}
	st := r.node.Status()
	r.mu.Lock()
	r.mu.status = st
	r.mu.Unlock()
	return nil
}

func (r *Raft) send(m pb.Message) {
	r.mu.Lock()
	addr, ok := r.mu.peers[m.To]
	r.mu.Unlock()
	if !ok {
		return
	}
	_ = r.cfg.Transport.Send(addr, transport.ServiceRaft, m.Marshal())
}

func (r *Raft) apply(ents []pb.Entry) {
	for _, e := range ents {
		if e.Index <= r.applied {
			continue
		}
		var res any
		var err error
		switch e.Type {
		case pb.EntryNormal:
			if len(e.Data) > 0 {
				start := time.Now()
				res, err = r.cfg.SM.Apply(e.Index, e.Data)
				raftApplySeconds.WithLabelValues(r.metricName()).Observe(time.Since(start).Seconds())
			}
		case pb.EntryConfChange:
			var cc pb.ConfChange
			if uerr := cc.Unmarshal(e.Data); uerr == nil {
				r.applyConfChange(cc)
			}
		}
		r.applied = e.Index
		if p := r.pending[e.Index]; p != nil {
			delete(r.pending, e.Index)
			if p.term != e.Term {
				// Another leader's entry took this index: ours was lost.
				p.done <- proposalResult{err: raft.ErrProposalDropped}
			} else {
				p.done <- proposalResult{result: res, index: e.Index, err: err}
			}
		}
	}
}

// learnAddress records the addresses an added member's change carries. An
// address is only a hint where to send: one learned from an entry later
// overwritten does no harm.
func (r *Raft) learnAddress(cc pb.ConfChange) {
	if cc.Type != pb.ConfAddVoter && cc.Type != pb.ConfAddLearner {
		return
	}
	peer, client, ok := parseMemberContext(cc.Context)
	if !ok {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.mu.peers[cc.NodeID] = transport.Addr(peer)
	if client != "" {
		r.mu.clients[cc.NodeID] = client
	}
}

func (r *Raft) applyConfChange(cc pb.ConfChange) {
	r.learnAddress(cc)
	r.mu.Lock()
	defer r.mu.Unlock()
	switch cc.Type {
	case pb.ConfRemoveNode:
		if cc.NodeID != r.cfg.ID {
			delete(r.mu.peers, cc.NodeID)
			delete(r.mu.clients, cc.NodeID)
		}
	}
}

// failPendingThrough fails proposals a snapshot jumped over: their fate is
// unknown to this node, so they report dropped and the client retries
// (exactly-once makes the retry safe).
func (r *Raft) failPendingThrough(idx uint64) {
	for i, p := range r.pending {
		if i <= idx {
			p.done <- proposalResult{err: raft.ErrProposalDropped}
			delete(r.pending, i)
		}
	}
}

func (r *Raft) releaseReads() {
	kept := r.readWait[:0]
	for _, q := range r.readWait {
		if q.index <= r.applied {
			q.done <- nil
		} else {
			kept = append(kept, q)
		}
	}
	r.readWait = kept
}

// snapJob is a snapshot being encoded and written off the loop.
type snapJob struct {
	snap pb.Snapshot
	err  error
}

// maybeSnapshot starts a snapshot once SnapshotEntries entries have been
// applied since the last one. The state machine's view and the snapshot's
// metadata are taken here, at the same applied index; encoding and writing
// the file (the slow part: the whole state, and an fsync) happen on another
// goroutine while the loop goes on, and finishSnapshot compacts the log
// when the file is durable. One snapshot at a time.
func (r *Raft) maybeSnapshot() error {
	if r.snapping || r.applied-r.snapIndex < r.snapshotEvery() {
		return nil
	}
	md, err := r.node.SnapshotMetadata()
	if err != nil || md.Index != r.applied {
		return nil // not now; after the next Advance
	}
	encode, err := r.snapshotView()
	if err != nil {
		return err
	}
	r.snapping = true
	r.snapWG.Add(1)
	go func() {
		defer r.snapWG.Done()
		data, err := encode()
		s := pb.Snapshot{Metadata: md, Data: data}
		if err == nil {
			err = r.w.PrepareSnapshot(s)
		}
		r.snapDone <- snapJob{snap: s, err: err} // buffered: never blocks
	}()
	return nil
}

func (r *Raft) discardSnapshot(md pb.SnapshotMetadata) {
	if err := r.w.DiscardSnapshot(md); err != nil {
		r.logger.Warn("discarding an unused snapshot file failed", "index", md.Index, "err", err)
	}
}

// snapshotEvery staggers the members' snapshots: all apply the same
// entries at nearly the same moment, and if all snapshotted together the
// encoding and the file's flush would slow a quorum at once. Each member
// waits SnapshotEntries plus up to 7/16 more, by its id; the offsets last,
// as each member counts from its own previous snapshot.
func (r *Raft) snapshotEvery() uint64 {
	n := r.cfg.SnapshotEntries
	return n + n*(r.cfg.ID%8)/16
}

// finishSnapshot takes a written snapshot into the core and the wal.
func (r *Raft) finishSnapshot(job snapJob) error {
	r.snapping = false
	md := job.snap.Metadata
	if job.err != nil {
		// The disk may be full or failing; the wal's next Save will tell.
		// Until then the log just grows.
		r.logger.Error("snapshot failed", "index", md.Index, "err", job.err)
		return nil
	}
	if md.Index <= r.snapIndex {
		r.discardSnapshot(md) // a leader's snapshot was installed meanwhile
		return nil
	}
	if err := r.node.CompactTo(job.snap, r.cfg.SnapshotKeep); err != nil {
		r.logger.Warn("snapshot dropped", "index", md.Index, "err", err)
		r.discardSnapshot(md)
		return nil
	}
	if err := r.w.CommitSnapshot(md); err != nil {
		return fmt.Errorf("save snapshot: %w", err)
	}
	r.snapIndex = md.Index
	return nil
}

func (r *Raft) shutdown() {
	r.forgetMetrics()
	r.snapWG.Wait() // before the wal closes under it
	for i, p := range r.pending {
		p.done <- proposalResult{err: ErrStopped}
		delete(r.pending, i)
	}
	for _, b := range r.pendingReads {
		for _, q := range b.reqs {
			q.done <- ErrStopped
		}
	}
	for _, q := range r.readWait {
		q.done <- ErrStopped
	}
	if err := r.w.Close(); err != nil {
		r.mu.Lock()
		if r.mu.lastErr == nil {
			r.mu.lastErr = err
		}
		r.mu.Unlock()
	}
}
