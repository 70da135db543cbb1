package raft

import (
	"hash/crc32"

	pb "github.com/puddlestore/puddlestore/raft/raftpb"
)

// Snapshots travel in chunks (thesis §5.3's InstallSnapshot with offset and
// done). The follower keeps what it has received keyed by the snapshot's
// index, term and checksum, and every answer carries the offset it holds, so
// a transfer broken by lost messages, a stalled link, or even a new leader
// sending the same snapshot resumes where it stopped instead of starting
// over.

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// snapWindow is how many chunks may be in flight at once.
const snapWindow = 4

// snapStallBeats is how many heartbeat answers without progress make the
// leader resend from the last acknowledged offset.
const snapStallBeats = 3

// snapReceive is a follower's partly received snapshot.
type snapReceive struct {
	meta     pb.SnapshotMetadata
	total    uint64
	checksum uint32
	buf      []byte
}

func (r *raft) sendSnapshot(to uint64, pr *progress) bool {
	if !pr.recentActive {
		return false // wait until the follower answers something
	}
	if r.log.snap.IsEmpty() {
		return false
	}
	pr.becomeSnapshot(r.log.snap.Metadata.Index)
	r.logf("%x is sending snapshot %d to %x at term %d", r.id, pr.pendingSnapshot, to, r.term)
	r.sendSnapChunks(to, pr)
	return true
}

// sendSnapChunks sends chunks from pr.snapSent while the window allows.
func (r *raft) sendSnapChunks(to uint64, pr *progress) {
	snap := r.log.snap
	total := uint64(len(snap.Data))
	sum := r.log.snapChecksum()
	chunk := r.cfg.SnapshotChunkSize
	for {
		off := pr.snapSent
		if off > total || (off == total && total > 0) || off-pr.snapAcked >= snapWindow*chunk {
			return
		}
		end := min(off+chunk, total)
		s := pb.Snapshot{Metadata: snap.Metadata, Data: snap.Data[off:end]}
		r.send(pb.Message{
			Type: pb.MsgSnap, To: to, Snapshot: &s,
			Offset: off, Total: total, Checksum: sum, Done: end == total,
		})
		pr.snapSent = end
		if end == total {
			return
		}
	}
}

func (r *raft) handleSnapResponse(m pb.Message, pr *progress) {
	if pr.state != stateSnapshot || m.Index != pr.pendingSnapshot {
		return
	}
	if m.Offset > uint64(len(r.log.snap.Data)) {
		return
	}
	pr.snapStalled = 0
	if m.Reject {
		if m.Offset == pr.snapAcked && pr.snapRewound {
			// Another answer to a chunk sent before we went back: the
			// resend is already on its way (a stall is caught by
			// snapshotHeartbeat).
			return
		}
		// The follower holds m.Offset bytes: go back there.
		pr.snapAcked, pr.snapSent = m.Offset, m.Offset
		pr.snapRewound = true
	} else {
		if m.Offset > pr.snapAcked {
			pr.snapRewound = false
		}
		pr.snapAcked = max(pr.snapAcked, m.Offset)
		pr.snapSent = max(pr.snapSent, pr.snapAcked)
	}
	r.sendSnapChunks(m.From, pr)
}

// snapshotHeartbeat resends from the acknowledged offset when a transfer
// has not moved for a few heartbeats (a chunk or its answer was lost).
func (r *raft) snapshotHeartbeat(to uint64, pr *progress) {
	if pr.pendingSnapshot != r.log.snap.Metadata.Index {
		// We compacted again since: start over with the new snapshot.
		pr.becomeProbe()
		r.sendAppend(to, true)
		return
	}
	pr.snapStalled++
	if pr.snapStalled >= snapStallBeats {
		pr.snapStalled = 0
		pr.snapSent = pr.snapAcked
		r.sendSnapChunks(to, pr)
	}
}

// handleSnapshotChunk is the follower side of a transfer.
func (r *raft) handleSnapshotChunk(m pb.Message) {
	if m.Snapshot == nil {
		return
	}
	meta := m.Snapshot.Metadata
	if meta.Index > maxIndex || meta.Term > m.Term {
		// No correct leader sends this; an index near 2^64 would wrap the
		// log's arithmetic.
		return
	}
	if meta.Index <= r.log.committed {
		// Already have everything it covers.
		r.snapRecv = nil
		r.send(pb.Message{Type: pb.MsgAppResp, To: m.From, Index: r.log.committed})
		return
	}
	rec := r.snapRecv
	if rec == nil || rec.meta.Index != meta.Index || rec.meta.Term != meta.Term ||
		rec.total != m.Total || rec.checksum != m.Checksum {
		rec = &snapReceive{meta: meta, total: m.Total, checksum: m.Checksum}
		r.snapRecv = rec
	}
	have := uint64(len(rec.buf))
	chunk := m.Snapshot.Data
	switch {
	case m.Offset > have:
		// A gap: a chunk was lost. Ask for what we miss.
		r.send(pb.Message{Type: pb.MsgSnapResp, To: m.From, Index: meta.Index, Offset: have, Reject: true})
		return
	case m.Offset+uint64(len(chunk)) <= have:
		// A duplicate: we have it already.
	default:
		chunk = chunk[have-m.Offset:]
		if have+uint64(len(chunk)) > rec.total {
			r.snapRecv = nil
			r.send(pb.Message{Type: pb.MsgSnapResp, To: m.From, Index: meta.Index, Reject: true})
			return
		}
		rec.buf = append(rec.buf, chunk...)
		have = uint64(len(rec.buf))
	}
	if have < rec.total {
		r.send(pb.Message{Type: pb.MsgSnapResp, To: m.From, Index: meta.Index, Offset: have})
		return
	}
	r.snapRecv = nil
	if crc32.Checksum(rec.buf, castagnoli) != rec.checksum {
		r.logf("%x dropped snapshot %d from %x: checksum mismatch", r.id, meta.Index, m.From)
		r.send(pb.Message{Type: pb.MsgSnapResp, To: m.From, Index: meta.Index, Reject: true})
		return
	}
	if r.restore(pb.Snapshot{Metadata: meta, Data: rec.buf}) {
		r.logf("%x restored snapshot %d (term %d) at term %d", r.id, meta.Index, meta.Term, r.term)
	}
	// Acknowledge the snapshot's index only: whatever our log holds after
	// it has not been checked against the leader's.
	r.send(pb.Message{Type: pb.MsgAppResp, To: m.From, Index: meta.Index})
}

// restore installs a snapshot received from the leader, unless the log
// already holds its last entry.
func (r *raft) restore(s pb.Snapshot) bool {
	idx, term := s.Metadata.Index, s.Metadata.Term
	if idx <= r.log.committed {
		return false
	}
	if r.log.matchTerm(idx, term) {
		// Our log has it: just move the commit forward (thesis §5.3 step 6).
		r.log.commitTo(idx)
		return false
	}
	r.log.restore(s)
	r.voters, r.learners = nil, nil
	r.prs = map[uint64]*progress{}
	for _, id := range s.Metadata.ConfState.Voters {
		r.addNode(id, false)
	}
	for _, id := range s.Metadata.ConfState.Learners {
		r.addNode(id, true)
	}
	return true
}
