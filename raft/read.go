package raft

import (
	pb "github.com/puddlestore/puddlestore/raft/raftpb"
)

// ReadState answers a ReadIndex request: once the state machine has applied
// Index, a read of it is linearizable (thesis §6.4). RequestCtx is the
// context the request carried.
type ReadState struct {
	Index      uint64
	RequestCtx []byte
}

// readOnly tracks ReadIndex requests waiting for a quorum of heartbeat
// answers, in arrival order.
type readOnly struct {
	pending map[string]*readIndexStatus
	queue   []string
}

type readIndexStatus struct {
	req   pb.Message
	index uint64
	acks  map[uint64]bool
}

func (ro *readOnly) add(index uint64, m pb.Message) {
	ctx := string(m.Context)
	if ro.pending == nil {
		ro.pending = map[string]*readIndexStatus{}
	}
	if _, ok := ro.pending[ctx]; ok {
		return
	}
	ro.pending[ctx] = &readIndexStatus{req: m, index: index, acks: map[uint64]bool{}}
	ro.queue = append(ro.queue, ctx)
}

func (ro *readOnly) lastCtx() []byte {
	if len(ro.queue) == 0 {
		return nil
	}
	return []byte(ro.queue[len(ro.queue)-1])
}

// advance removes and returns every request up to and including ctx.
func (ro *readOnly) advance(ctx string) []*readIndexStatus {
	for i, c := range ro.queue {
		if c != ctx {
			continue
		}
		var done []*readIndexStatus
		for _, c := range ro.queue[:i+1] {
			done = append(done, ro.pending[c])
			delete(ro.pending, c)
		}
		ro.queue = ro.queue[i+1:]
		return done
	}
	return nil
}

// readIndex serves a MsgReadIndex at the leader.
func (r *raft) readIndex(m pb.Message) {
	if len(r.voters) == 1 && r.isVoter(r.id) {
		r.respondReadIndex(m, r.log.committed)
		return
	}
	if !r.committedEntryInCurrentTerm() {
		// Our commit index may be stale until an entry of this term
		// commits; hold the request until then.
		r.pendingReadIndex = append(r.pendingReadIndex, m)
		return
	}
	r.serveReadIndex(m)
}

func (r *raft) serveReadIndex(m pb.Message) {
	if r.cfg.ReadOnlyOption == ReadOnlyLeaseBased && r.leaseValid() {
		r.respondReadIndex(m, r.log.committed)
		return
	}
	// No lease (or safe reads): confirm leadership with a heartbeat round.
	r.readOnly.add(r.log.committed, m)
	r.readOnly.pending[string(m.Context)].acks[r.id] = true
	r.bcastHeartbeat(m.Context)
}

func (r *raft) releasePendingReadIndex() {
	if len(r.pendingReadIndex) == 0 || !r.committedEntryInCurrentTerm() {
		return
	}
	pending := r.pendingReadIndex
	r.pendingReadIndex = nil
	for _, m := range pending {
		r.serveReadIndex(m)
	}
}

// readIndexAck counts a heartbeat answer toward the pending reads.
func (r *raft) readIndexAck(m pb.Message) {
	if len(m.Context) == 0 {
		return
	}
	st := r.readOnly.pending[string(m.Context)]
	if st == nil {
		return
	}
	st.acks[m.From] = true
	n := 0
	for _, id := range r.voters {
		if st.acks[id] {
			n++
		}
	}
	if n < r.quorum() {
		return
	}
	for _, s := range r.readOnly.advance(string(m.Context)) {
		r.respondReadIndex(s.req, s.index)
	}
}

func (r *raft) respondReadIndex(req pb.Message, index uint64) {
	if req.From == None || req.From == r.id {
		r.readStates = append(r.readStates, ReadState{Index: index, RequestCtx: req.Context})
		return
	}
	r.send(pb.Message{Type: pb.MsgReadIndexResp, To: req.From, Index: index, Context: req.Context})
}
