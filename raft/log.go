package raft

import (
	"fmt"
	"hash/crc32"

	pb "github.com/puddlestore/puddlestore/raft/raftpb"
)

// maxIndex bounds every log index a peer may name: far beyond any real log
// (2^62 entries), far enough from 2^64 that index arithmetic never wraps.
const maxIndex = 1 << 62

// raftLog is a node's log, held in memory: entries after the last snapshot,
// with marks for what is durable (stabled), committed and applied. The driver
// persists what Ready reports and says so in Advance; the core never touches
// the disk. Invariant: snap.Index <= applied <= committed, and
// stabled <= lastIndex().
type raftLog struct {
	// snap is the latest snapshot: its metadata always, its data when the
	// node has it (for sending to lagging followers).
	snap pb.Snapshot
	// first is the index of ents[0]; entries before it are covered by snap
	// or were compacted. first-1 >= snap.Metadata.Index is not required: a
	// node may keep entries that its snapshot also covers.
	first uint64
	// prevTerm is the term of entry first-1 (snap's term when first-1 is
	// the snapshot index).
	prevTerm uint64
	ents     []pb.Entry

	committed uint64
	applied   uint64
	// applying is the last index handed to the driver in a Ready and not yet
	// acknowledged by Advance.
	applying uint64
	// stabled is the last index the driver has made durable.
	stabled uint64
	// unstableSnap is a snapshot received from the leader and not yet
	// persisted by the driver.
	unstableSnap *pb.Snapshot
	// snapSum caches the CRC-32C of snap.Data for snapshot transfers;
	// snapSumOK says it is current.
	snapSum   uint32
	snapSumOK bool
	// confDirty: an append added or truncated a configuration change since
	// the owner last looked; its membership must be read again.
	confDirty bool
}

func hasConfChange(ents []pb.Entry) bool {
	for i := range ents {
		if ents[i].Type == pb.EntryConfChange {
			return true
		}
	}
	return false
}

// setSnap replaces the node's snapshot.
func (l *raftLog) setSnap(s pb.Snapshot) {
	l.snap = s
	l.snapSumOK = false
}

// snapChecksum returns the CRC-32C of the snapshot's data, computed once.
func (l *raftLog) snapChecksum() uint32 {
	if !l.snapSumOK {
		l.snapSum = crc32.Checksum(l.snap.Data, castagnoli)
		l.snapSumOK = true
	}
	return l.snapSum
}

func newLog(snap pb.Snapshot, ents []pb.Entry, commit, applied uint64) (*raftLog, error) {
	l := &raftLog{snap: snap, first: snap.Metadata.Index + 1, prevTerm: snap.Metadata.Term}
	if len(ents) > 0 {
		if ents[0].Index > l.first {
			return nil, fmt.Errorf("raft: restored log starts at %d, after snapshot %d", ents[0].Index, snap.Metadata.Index)
		}
		// Drop entries the snapshot covers.
		for len(ents) > 0 && ents[0].Index < l.first {
			ents = ents[1:]
		}
		for i := range ents {
			if ents[i].Index != l.first+uint64(i) {
				return nil, fmt.Errorf("raft: restored log has a gap at %d", ents[i].Index)
			}
		}
		l.ents = append([]pb.Entry(nil), ents...)
	}
	l.stabled = l.lastIndex()
	if commit < snap.Metadata.Index {
		commit = snap.Metadata.Index
	}
	if commit > l.lastIndex() {
		return nil, fmt.Errorf("raft: commit %d is after the last index %d", commit, l.lastIndex())
	}
	l.committed = commit
	if applied < snap.Metadata.Index {
		applied = snap.Metadata.Index
	}
	if applied > commit {
		return nil, fmt.Errorf("raft: applied %d is after commit %d", applied, commit)
	}
	l.applied, l.applying = applied, applied
	return l, nil
}

func (l *raftLog) firstIndex() uint64 { return l.first }

func (l *raftLog) lastIndex() uint64 { return l.first + uint64(len(l.ents)) - 1 }

func (l *raftLog) lastTerm() uint64 {
	t, _ := l.term(l.lastIndex())
	return t
}

// term returns the term of entry i; ok is false when i is compacted away
// or beyond the end of the log.
func (l *raftLog) term(i uint64) (uint64, bool) {
	switch {
	case i == l.first-1:
		return l.prevTerm, true
	case i < l.first || i > l.lastIndex():
		return 0, false
	}
	return l.ents[i-l.first].Term, true
}

func (l *raftLog) matchTerm(i, t uint64) bool {
	tt, ok := l.term(i)
	return ok && tt == t
}

// isUpToDate reports whether a log ending at (lastIdx, lastT) is at least as
// up to date as ours (Raft §5.4.1).
func (l *raftLog) isUpToDate(lastIdx, lastT uint64) bool {
	lt := l.lastTerm()
	return lastT > lt || (lastT == lt && lastIdx >= l.lastIndex())
}

// slice returns entries [lo, hi) limited to maxBytes (at least one entry).
// The result aliases the log; callers must not modify it.
func (l *raftLog) slice(lo, hi uint64, maxBytes uint64) []pb.Entry {
	if lo < l.first || lo >= hi {
		return nil
	}
	if hi > l.lastIndex()+1 {
		hi = l.lastIndex() + 1
	}
	ents := l.ents[lo-l.first : hi-l.first]
	if maxBytes == 0 {
		return ents
	}
	var size uint64
	for i := range ents {
		size += entrySize(ents[i])
		if size > maxBytes && i > 0 {
			return ents[:i]
		}
	}
	return ents
}

func entrySize(e pb.Entry) uint64 { return uint64(len(e.Data)) + 24 }

// append adds entries at their indexes, truncating any conflicting suffix.
// The caller has checked that ents[0].Index-1 matches.
func (l *raftLog) append(ents ...pb.Entry) error {
	if len(ents) == 0 {
		return nil
	}
	after := ents[0].Index - 1
	if after < l.committed {
		// Only a faulty or forged leader asks this; refuse, never lose a
		// committed entry.
		return fmt.Errorf("%w: append at %d would truncate committed entry (committed %d)", ErrMalformed, after+1, l.committed)
	}
	if after > l.lastIndex() || after+1 < l.first {
		return fmt.Errorf("%w: append at %d leaves a gap (log %d..%d)", ErrMalformed, after+1, l.first, l.lastIndex())
	}
	if after < l.lastIndex() {
		// Cut the capacity so that the new entries never overwrite the
		// backing array that earlier Ready entries or messages still see.
		k := int(after + 1 - l.first)
		if hasConfChange(l.ents[k:]) {
			l.confDirty = true
		}
		l.ents = l.ents[:k:k]
		if l.stabled > after {
			l.stabled = after
		}
	}
	if hasConfChange(ents) {
		l.confDirty = true
	}
	l.ents = append(l.ents, ents...)
	return nil
}

// maybeAppend handles a leader's MsgApp: if the entry at prevIndex has
// prevTerm, it appends the new entries (skipping those already present) and
// advances commit. It returns the last new index and true, or false on a
// mismatch.
func (l *raftLog) maybeAppend(prevIndex, prevTerm, commit uint64, ents []pb.Entry) (uint64, bool, error) {
	if !l.matchTerm(prevIndex, prevTerm) {
		return 0, false, nil
	}
	if prevIndex+uint64(len(ents)) > maxIndex {
		return 0, false, fmt.Errorf("%w: append beyond index %d", ErrMalformed, uint64(maxIndex))
	}
	for i, e := range ents {
		if e.Index != prevIndex+1+uint64(i) {
			return 0, false, fmt.Errorf("%w: entry %d of an append after %d has index %d", ErrMalformed, i, prevIndex, e.Index)
		}
	}
	lastNew := prevIndex + uint64(len(ents))
	// Find the first entry that is not already in the log.
	start := 0
	for start < len(ents) {
		e := ents[start]
		if t, ok := l.term(e.Index); ok && t == e.Term {
			start++
			continue
		} else if !ok && e.Index < l.first {
			start++ // compacted: covered by our snapshot
			continue
		}
		break
	}
	if start < len(ents) {
		if err := l.append(ents[start:]...); err != nil {
			return 0, false, err
		}
	}
	l.commitTo(min(commit, lastNew))
	return lastNew, true, nil
}

func (l *raftLog) commitTo(c uint64) {
	if c > l.committed {
		if c > l.lastIndex() {
			panic(fmt.Sprintf("raft: commit %d beyond last index %d", c, l.lastIndex()))
		}
		l.committed = c
	}
}

// findConflictByTerm returns the largest index <= i whose term is <= t, and
// that term: the fast-backtracking probe of Raft §5.3 (the optimisation the
// paper sketches, as etcd-io/raft implements it).
func (l *raftLog) findConflictByTerm(i, t uint64) (uint64, uint64) {
	if li := l.lastIndex(); i > li {
		i = li
	}
	for {
		tt, ok := l.term(i)
		if !ok {
			return i, 0
		}
		if tt <= t {
			return i, tt
		}
		i--
	}
}

// unstable returns the entries not yet persisted.
func (l *raftLog) unstable() []pb.Entry {
	if l.stabled >= l.lastIndex() {
		return nil
	}
	lo := l.stabled + 1
	if lo < l.first {
		lo = l.first
	}
	return l.ents[lo-l.first:]
}

func (l *raftLog) stableTo(i, t uint64) {
	if l.matchTerm(i, t) && i > l.stabled {
		l.stabled = i
	}
}

// nextApply returns committed entries not yet handed out, limited in bytes.
// Only durable entries are applied on this node: an entry must be stable
// here before this node's state machine acts on it.
func (l *raftLog) nextApply(maxBytes uint64) []pb.Entry {
	hi := min(l.committed, l.stabled)
	if l.applying >= hi {
		return nil
	}
	return l.slice(max(l.applying+1, l.first), hi+1, maxBytes)
}

// restore replaces the log by a snapshot.
func (l *raftLog) restore(s pb.Snapshot) {
	idx := s.Metadata.Index
	l.setSnap(s)
	l.first = idx + 1
	l.prevTerm = s.Metadata.Term
	l.ents = nil
	l.confDirty = false // the owner takes the snapshot's membership
	l.committed = idx
	l.stabled = idx
	l.applied, l.applying = idx, idx
	l.unstableSnap = &s
}

// compact drops entries up to and including i (i <= applied).
func (l *raftLog) compact(i uint64) {
	if i < l.first || i > l.applied {
		return
	}
	t, _ := l.term(i)
	l.ents = append([]pb.Entry(nil), l.ents[i+1-l.first:]...)
	l.first = i + 1
	l.prevTerm = t
}
