package raft

import "fmt"

// progressState is how the leader replicates to one follower (the three
// states of etcd-io/raft's design, which the Raft thesis §10.2 motivates).
type progressState uint8

const (
	// stateProbe: the follower's log position is unknown; send one append
	// per heartbeat interval until one is accepted.
	stateProbe progressState = iota
	// stateReplicate: the follower is in step; pipeline appends up to the
	// flow-control window.
	stateReplicate
	// stateSnapshot: the follower needs a snapshot; send its chunks and
	// nothing else.
	stateSnapshot
)

func (s progressState) String() string {
	return [...]string{"probe", "replicate", "snapshot"}[s]
}

// progress is the leader's view of one member.
type progress struct {
	match, next uint64
	state       progressState
	// probeSent pauses a probing follower until it answers or the next
	// heartbeat.
	probeSent bool
	// recentActive: heard from within the last election timeout
	// (check-quorum).
	recentActive bool
	learner      bool
	// leaseTick: the latest leader tick of a heartbeat this member
	// answered (lease reads); 0 for none this term.
	leaseTick uint64

	// Snapshot transfer: the snapshot index being sent, the offset the
	// follower has acknowledged, and the offset sent so far.
	pendingSnapshot uint64
	snapAcked       uint64
	snapSent        uint64
	snapStalled     int  // heartbeats without progress on the transfer
	snapRewound     bool // went back to snapAcked; later rejects at it are stale

	inflight inflights
}

func (p *progress) String() string {
	return fmt.Sprintf("match=%d next=%d %s", p.match, p.next, p.state)
}

func (p *progress) becomeProbe() {
	if p.state == stateSnapshot {
		p.next = max(p.match+1, p.pendingSnapshot+1)
	} else {
		p.next = p.match + 1
	}
	p.state = stateProbe
	p.probeSent = false
	p.pendingSnapshot = 0
	p.inflight.reset()
}

func (p *progress) becomeReplicate() {
	p.state = stateReplicate
	p.next = p.match + 1
	p.probeSent = false
	p.pendingSnapshot = 0
	p.inflight.reset()
}

func (p *progress) becomeSnapshot(idx uint64) {
	p.state = stateSnapshot
	p.pendingSnapshot = idx
	p.snapAcked, p.snapSent, p.snapStalled, p.snapRewound = 0, 0, 0, false
	p.inflight.reset()
}

// maybeUpdate records an acknowledgement of index n.
func (p *progress) maybeUpdate(n uint64) bool {
	updated := false
	if p.match < n {
		p.match = n
		updated = true
		p.probeSent = false
	}
	p.next = max(p.next, n+1)
	return updated
}

// maybeDecrTo handles a rejection of the append that followed index
// rejected, with the follower's hint of where the logs may match.
func (p *progress) maybeDecrTo(rejected, matchHint uint64) bool {
	if p.state == stateReplicate {
		// Stale rejection of an append already superseded.
		if rejected <= p.match {
			return false
		}
		p.next = p.match + 1
		return true
	}
	if p.next-1 != rejected {
		return false // stale
	}
	p.next = max(min(rejected, matchHint+1), p.match+1)
	p.probeSent = false
	return true
}

// paused reports whether the leader should hold back appends.
func (p *progress) paused() bool {
	switch p.state {
	case stateProbe:
		return p.probeSent
	case stateReplicate:
		return p.inflight.full()
	default:
		return true
	}
}

// inflights bounds the appends a leader has in flight to one follower by
// count and by bytes (flow control).
type inflights struct {
	maxCount int
	maxBytes uint64
	idx      []uint64 // last index of each in-flight append, ascending
	sizes    []uint64
	bytes    uint64
}

func (in *inflights) add(last, size uint64) {
	in.idx = append(in.idx, last)
	in.sizes = append(in.sizes, size)
	in.bytes += size
}

// freeLE frees the appends whose last index is <= to.
func (in *inflights) freeLE(to uint64) {
	n := 0
	for n < len(in.idx) && in.idx[n] <= to {
		in.bytes -= in.sizes[n]
		n++
	}
	if n == 0 {
		return
	}
	in.idx = append(in.idx[:0], in.idx[n:]...)
	in.sizes = append(in.sizes[:0], in.sizes[n:]...)
}

// freeFirst frees the oldest in-flight append.
func (in *inflights) freeFirst() {
	if len(in.idx) > 0 {
		in.freeLE(in.idx[0])
	}
}

func (in *inflights) full() bool {
	return len(in.idx) >= in.maxCount || (in.maxBytes > 0 && in.bytes >= in.maxBytes)
}

func (in *inflights) reset() {
	in.idx, in.sizes, in.bytes = in.idx[:0], in.sizes[:0], 0
}
