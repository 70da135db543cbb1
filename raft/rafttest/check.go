package rafttest

import (
	"bytes"
	"hash/fnv"

	"github.com/puddlestore/puddlestore/raft"
	pb "github.com/puddlestore/puddlestore/raft/raftpb"
)

// checker verifies the Raft safety properties (Raft paper, Figure 3) as the
// cluster runs, from what the drivers see: Ready contents, disks and state
// machines. It never looks inside package raft.
type checker struct {
	c *Cluster
	// Election Safety: term -> the one leader of that term.
	leaders map[uint64]uint64
	// Log Matching, checked inductively: every entry ever written under
	// (index, term) has the same data and follows an entry of the same
	// term. Two logs that agree on (index, term) then agree on every
	// earlier entry.
	written map[entryKey]entryID
	// State Machine Safety: index -> the entry applied there, by anyone.
	committed map[uint64]entryID
	// maxCommitted: the highest index anyone applied.
	maxCommitted uint64
	// data of every applied entry, for NCommitted.
	data map[uint64][]byte
}

type entryKey struct{ index, term uint64 }

type entryID struct {
	term     uint64
	prevTerm uint64
	sum      uint64 // hash of type and data
}

func entrySum(e pb.Entry) uint64 {
	h := fnv.New64a()
	h.Write([]byte{byte(e.Type)})
	h.Write(e.Data)
	return h.Sum64()
}

func newChecker(c *Cluster) *checker {
	return &checker{c: c, leaders: map[uint64]uint64{}, written: map[entryKey]entryID{}, committed: map[uint64]entryID{}, data: map[uint64][]byte{}}
}

// saved checks the entries of a Ready once written to s's disk.
func (k *checker) saved(s *Server, rd raft.Ready) {
	for _, e := range rd.Entries {
		prev, ok := s.Disk.term(e.Index - 1)
		if !ok {
			k.c.Fatalf("server %d wrote entry %d without entry %d before it", s.ID, e.Index, e.Index-1)
		}
		id := entryID{term: e.Term, prevTerm: prev, sum: entrySum(e)}
		key := entryKey{e.Index, e.Term}
		if old, ok := k.written[key]; ok && old != id {
			k.c.Fatalf("Log Matching: server %d wrote entry %d term %d as %+v, earlier written as %+v", s.ID, e.Index, e.Term, id, old)
		}
		k.written[key] = id
	}
}

// leader checks Election Safety and Leader Completeness when s has just
// become leader and persisted the Ready that says so.
func (k *checker) leader(s *Server) {
	term := s.Node.Status().Term
	if other, ok := k.leaders[term]; ok && other != s.ID {
		k.c.Fatalf("Election Safety: %d and %d both lead term %d", other, s.ID, term)
	}
	k.leaders[term] = s.ID
	snap := s.Disk.cur.snap.Metadata.Index
	for i := snap + 1; i <= k.maxCommitted; i++ {
		want := k.committed[i]
		e, ok := s.Disk.entry(i)
		if !ok {
			k.c.Fatalf("Leader Completeness: %d leads term %d without committed entry %d (its log ends at %d)", s.ID, term, i, s.Node.Status().LastIndex)
		}
		if e.Term != want.term || entrySum(e) != want.sum {
			k.c.Fatalf("Leader Completeness: %d leads term %d with entry %d term %d, but term %d was committed there", s.ID, term, i, e.Term, want.term)
		}
	}
}

// applied checks State Machine Safety: no two servers apply different
// entries at one index.
func (k *checker) applied(s *Server, e pb.Entry) {
	id := entryID{term: e.Term, sum: entrySum(e)}
	if old, ok := k.committed[e.Index]; ok {
		if old.term != id.term || old.sum != id.sum {
			k.c.Fatalf("State Machine Safety: server %d applies entry %d term %d, another server applied term %d there", s.ID, e.Index, e.Term, old.term)
		}
		return
	}
	k.committed[e.Index] = id
	k.data[e.Index] = e.Data
	k.maxCommitted = max(k.maxCommitted, e.Index)
}

// restored checks that a snapshot covers committed entries only.
func (k *checker) restored(s *Server, snap pb.Snapshot) {
	m := snap.Metadata
	if old, ok := k.committed[m.Index]; ok && old.term != m.Term {
		k.c.Fatalf("server %d installs snapshot at %d term %d, but term %d was committed there", s.ID, m.Index, m.Term, old.term)
	}
}

func (k *checker) crashed(*Server) {}

// periodic compares the state machines of servers that applied the same
// prefix: they must be identical.
func (k *checker) periodic() {
	if k.c.ticks%8 != 0 {
		return
	}
	seen := map[uint64]*Server{}
	for _, id := range k.c.ids {
		s := k.c.srv[id]
		if !s.up {
			continue
		}
		o := seen[s.applied]
		if o == nil {
			seen[s.applied] = s
			continue
		}
		if !bytes.Equal(o.KV.Snapshot(), s.KV.Snapshot()) {
			k.c.Fatalf("State Machine Safety: servers %d and %d applied up to %d but differ:\n%d: %s\n%d: %s", o.ID, s.ID, s.applied, o.ID, o.KV, s.ID, s.KV)
		}
	}
}
