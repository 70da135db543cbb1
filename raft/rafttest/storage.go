package rafttest

import (
	"fmt"
	"slices"

	pb "github.com/puddlestore/puddlestore/raft/raftpb"
)

// state is what a node has written: hard state, latest snapshot, and the
// log entries after (or overlapping) the snapshot.
type state struct {
	hs   pb.HardState
	snap pb.Snapshot
	ents []pb.Entry
}

// storageOp is one write waiting for an fsync.
type storageOp struct {
	hs       pb.HardState // non-empty: replaces the hard state
	ents     []pb.Entry   // replace the log from ents[0].Index on
	snap     pb.Snapshot  // non-empty: a new snapshot
	received bool         // snap came from the leader: it replaces the whole log
}

// Storage is a node's simulated disk. Writes land in the page cache (what a
// running node reads back) and become durable only at Sync; Crash keeps only
// what was synced, as a power failure does. It stands in for package wal
// behind the same three calls (Save, SaveSnapshot, sync), so the cluster can
// model a crash at any point of the driver loop.
type Storage struct {
	cur     state       // what the running process sees
	durable state       // what survives a crash
	pending []storageOp // written since the last Sync, in order
	syncs   int
}

// NewStorage returns an empty disk.
func NewStorage() *Storage { return &Storage{} }

// Save writes a hard state (if non-empty) and entries, unsynced. It fails
// if the entries would leave a hole in the log, which a correct core never
// asks for.
func (s *Storage) Save(hs pb.HardState, ents []pb.Entry) error {
	if hs.IsEmpty() && len(ents) == 0 {
		return nil
	}
	if len(ents) > 0 {
		next := s.cur.snap.Metadata.Index + 1
		if n := len(s.cur.ents); n > 0 {
			next = s.cur.ents[n-1].Index + 1
		}
		if first := ents[0].Index; first > next {
			return fmt.Errorf("rafttest: entries from %d leave a hole after %d", first, next-1)
		}
	}
	op := storageOp{hs: hs, ents: slices.Clone(ents)}
	s.pending = append(s.pending, op)
	op.apply(&s.cur)
	return nil
}

// SaveSnapshot writes a snapshot, unsynced. A snapshot received from the
// leader replaces the log; one taken locally (Compact) only drops the
// entries it covers.
func (s *Storage) SaveSnapshot(snap pb.Snapshot, received bool) {
	op := storageOp{snap: snap, received: received}
	s.pending = append(s.pending, op)
	op.apply(&s.cur)
}

// Sync makes every earlier write durable.
func (s *Storage) Sync() {
	for _, op := range s.pending {
		op.apply(&s.durable)
	}
	s.pending = nil
	s.syncs++
}

// Crash drops every unsynced write.
func (s *Storage) Crash() {
	s.pending = nil
	s.cur = state{hs: s.durable.hs, snap: s.durable.snap, ents: slices.Clone(s.durable.ents)}
}

// Syncs reports how many fsyncs the node has done.
func (s *Storage) Syncs() int { return s.syncs }

// Load returns what a restarting node reads back.
func (s *Storage) Load() (pb.HardState, pb.Snapshot, []pb.Entry) {
	return s.cur.hs, s.cur.snap, slices.Clone(s.cur.ents)
}

// term returns the term of entry i as written, if held.
func (s *Storage) term(i uint64) (uint64, bool) {
	st := &s.cur
	if i == st.snap.Metadata.Index {
		return st.snap.Metadata.Term, true
	}
	if len(st.ents) == 0 || i < st.ents[0].Index || i > st.ents[len(st.ents)-1].Index {
		return 0, false
	}
	return st.ents[i-st.ents[0].Index].Term, true
}

// entry returns entry i as written, if held.
func (s *Storage) entry(i uint64) (pb.Entry, bool) {
	st := &s.cur
	if len(st.ents) == 0 || i < st.ents[0].Index || i > st.ents[len(st.ents)-1].Index {
		return pb.Entry{}, false
	}
	return st.ents[i-st.ents[0].Index], true
}

func (op storageOp) apply(st *state) {
	if !op.snap.IsEmpty() {
		idx := op.snap.Metadata.Index
		if idx > st.snap.Metadata.Index {
			st.snap = op.snap
			if op.received {
				st.ents = nil
			} else {
				k := 0
				for k < len(st.ents) && st.ents[k].Index <= idx {
					k++
				}
				st.ents = slices.Clone(st.ents[k:])
			}
			if st.hs.Commit < idx {
				st.hs.Commit = idx
			}
		}
	}
	if !op.hs.IsEmpty() {
		st.hs = op.hs
	}
	if len(op.ents) > 0 {
		first := op.ents[0].Index
		k := 0
		for k < len(st.ents) && st.ents[k].Index < first {
			k++
		}
		st.ents = append(st.ents[:k], op.ents...) // cur and durable never share an array
	}
}
