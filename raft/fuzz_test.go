package raft

import (
	"encoding/binary"
	"fmt"
	"math"
	"testing"

	pb "github.com/puddlestore/puddlestore/raft/raftpb"
)

// FuzzStep feeds a node, built in one of a few fixed states, a sequence of
// messages decoded from the fuzz input as a peer would send them, driving
// Ready/Advance after each. Properties: nothing panics; malformed input and
// local message types are refused with an error; the node only ever sends
// messages that pass Validate; and the core invariants hold throughout:
// term and commit never decrease, applied <= commit <= last index, stabled
// <= last index, and an entry seen committed at an index keeps its term
// while it stays in the log.
//
// Input: a state selector, then records of (uvarint length, encoded
// Message); a zero length is a Tick.
func FuzzStep(f *testing.F) {
	for _, seed := range fuzzSeeds() {
		f.Add(seed.state, seed.data)
	}
	f.Fuzz(func(t *testing.T, state uint8, data []byte) {
		n := fuzzNode(t, state)
		c := newInvariantChecker(n)
		c.drain(t)
		for steps := 0; len(data) > 0 && steps < 16; steps++ {
			l, k := binary.Uvarint(data)
			if k <= 0 {
				return
			}
			data = data[k:]
			if l == 0 {
				n.Tick()
				c.drain(t)
				continue
			}
			l = min(l, uint64(len(data)))
			rec := data[:l]
			data = data[l:]
			var m pb.Message
			if err := m.Unmarshal(rec); err != nil {
				continue
			}
			m.To = n.r.id
			err := n.Step(m)
			if m.Type.IsLocal() && err == nil {
				t.Fatalf("local %s from the wire accepted", m.Type)
			}
			if verr := m.Validate(); verr != nil && err == nil {
				t.Fatalf("invalid message accepted (%v): %s", verr, describeMessage(m))
			}
			c.drain(t)
		}
	})
}

// invariantChecker drives Ready/Advance and checks the core's invariants.
type invariantChecker struct {
	n         *Node
	term      uint64
	commit    uint64
	committed map[uint64]uint64 // index -> term of entries seen committed
}

func newInvariantChecker(n *Node) *invariantChecker {
	return &invariantChecker{n: n, term: n.r.term, commit: n.r.log.committed, committed: map[uint64]uint64{}}
}

func (c *invariantChecker) drain(t *testing.T) {
	t.Helper()
	for i := 0; c.n.HasReady(); i++ {
		if i > 100 {
			t.Fatal("HasReady never turns false")
		}
		rd := c.n.Ready()
		for _, m := range rd.Messages {
			if err := m.Validate(); err != nil {
				t.Fatalf("node sent an invalid message (%v): %s", err, describeMessage(m))
			}
			if m.From != c.n.r.id {
				t.Fatalf("node sent a message from %d: %s", m.From, describeMessage(m))
			}
		}
		prev := c.n.r.log.applied
		for _, e := range rd.CommittedEntries {
			if e.Index <= prev {
				t.Fatalf("committed entry %d handed out again (applied %d)", e.Index, prev)
			}
			prev = e.Index
		}
		c.n.Advance(rd)
		c.check(t)
	}
	c.check(t)
}

func (c *invariantChecker) check(t *testing.T) {
	t.Helper()
	r := c.n.r
	l := r.log
	switch {
	case r.term < c.term:
		t.Fatalf("term went back from %d to %d", c.term, r.term)
	case l.committed < c.commit:
		t.Fatalf("commit went back from %d to %d", c.commit, l.committed)
	case l.committed > l.lastIndex():
		t.Fatalf("commit %d beyond last index %d", l.committed, l.lastIndex())
	case l.applied > l.committed:
		t.Fatalf("applied %d beyond commit %d", l.applied, l.committed)
	case l.stabled > l.lastIndex():
		t.Fatalf("stabled %d beyond last index %d", l.stabled, l.lastIndex())
	case l.first == 0:
		t.Fatalf("first index 0")
	}
	c.term, c.commit = r.term, l.committed
	for i := max(l.first, 1); i <= l.committed && i <= l.lastIndex(); i++ {
		tt, _ := l.term(i)
		if old, ok := c.committed[i]; ok && old != tt {
			t.Fatalf("committed entry %d changed term from %d to %d", i, old, tt)
		}
		c.committed[i] = tt
	}
	_ = c.n.Status()
}

// fuzzNode builds node 1 of a cluster (1,2,3) in one of a few states.
func fuzzNode(t testing.TB, state uint8) *Node {
	t.Helper()
	cs := pb.ConfState{Voters: []uint64{1, 2, 3}}
	var ents []pb.Entry
	for i, term := range []uint64{1, 2, 2, 3, 3, 3} {
		ents = append(ents, pb.Entry{Term: term, Index: uint64(i + 3), Data: fmt.Appendf(nil, "e%d", i+3)})
	}
	restored := Config{
		ID:                1,
		HardState:         pb.HardState{Term: 3, Vote: 2, Commit: 6},
		Snapshot:          pb.Snapshot{Metadata: pb.SnapshotMetadata{Index: 2, Term: 1, ConfState: cs}, Data: []byte("snap@2")},
		Entries:           ents,
		Applied:           4,
		SnapshotChunkSize: 4,
		MaxInflightMsgs:   2,
		Seed:              1,
	}
	mustNew := func(cfg Config) *Node {
		n, err := New(cfg)
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	step := func(n *Node, m pb.Message) {
		m.To = 1
		if err := n.Step(m); err != nil {
			t.Fatalf("building state %d: %v", state, err)
		}
	}
	advance := func(n *Node) {
		for n.HasReady() {
			n.Advance(n.Ready())
		}
	}
	switch state % 5 {
	case 0: // follower of leader 2 at term 3
		n := mustNew(restored)
		step(n, pb.Message{Type: pb.MsgHeartbeat, From: 2, Term: 3, Commit: 6})
		advance(n)
		return n
	case 1: // leader at term 4: 2 replicating, 3 probing, log compacted
		cfg := restored
		cfg.DisablePreVote = true
		n := mustNew(cfg)
		if err := n.Campaign(); err != nil {
			t.Fatal(err)
		}
		advance(n)
		step(n, pb.Message{Type: pb.MsgVoteResp, From: 2, Term: 4})
		advance(n)
		step(n, pb.Message{Type: pb.MsgAppResp, From: 2, Term: 4, Index: 9})
		advance(n)
		if _, err := n.Compact(n.r.log.applied, []byte("state-machine-image"), 0); err != nil {
			t.Fatal(err)
		}
		return n
	case 2: // pre-candidate
		n := mustNew(restored)
		if err := n.Campaign(); err != nil {
			t.Fatal(err)
		}
		advance(n)
		return n
	case 3: // empty node waiting to join, lease reads and forwarding on
		return mustNew(Config{ID: 1, ReadOnlyOption: ReadOnlyLeaseBased, ForwardProposals: true, Seed: 1})
	default: // freshly bootstrapped follower, nothing persisted yet
		return mustNew(Config{ID: 1, Peers: []uint64{1, 2, 3}, Learners: []uint64{4}, Seed: 1})
	}
}

type fuzzSeed struct {
	state uint8
	data  []byte
}

func fuzzRecord(dst []byte, ms ...pb.Message) []byte {
	for _, m := range ms {
		b := m.Marshal()
		dst = binary.AppendUvarint(dst, uint64(len(b)))
		dst = append(dst, b...)
	}
	return dst
}

func fuzzSeeds() []fuzzSeed {
	app := pb.Message{Type: pb.MsgApp, From: 2, To: 1, Term: 3, LogTerm: 3, Index: 8, Commit: 9,
		Entries: []pb.Entry{{Term: 3, Index: 9, Data: []byte("x")}}}
	conflict := pb.Message{Type: pb.MsgApp, From: 2, To: 1, Term: 4, LogTerm: 2, Index: 4, Commit: 5,
		Entries: []pb.Entry{{Term: 4, Index: 5}, {Term: 4, Index: 6, Type: pb.EntryConfChange,
			Data: (&pb.ConfChange{Type: pb.ConfAddLearner, NodeID: 4}).Marshal()}}}
	hb := pb.Message{Type: pb.MsgHeartbeat, From: 2, To: 1, Term: 3, Commit: 8, Context: []byte("rd")}
	snap := func(off uint64, data string, done bool) pb.Message {
		return pb.Message{Type: pb.MsgSnap, From: 2, To: 1, Term: 3,
			Snapshot: &pb.Snapshot{Metadata: pb.SnapshotMetadata{Index: 20, Term: 3,
				ConfState: pb.ConfState{Voters: []uint64{1, 2, 3}}}, Data: []byte(data)},
			Offset: off, Total: 8, Checksum: 0x1234, Done: done}
	}
	vote := pb.Message{Type: pb.MsgVote, From: 3, To: 1, Term: 5, LogTerm: 3, Index: 8}
	prevote := pb.Message{Type: pb.MsgPreVote, From: 3, To: 1, Term: 4, LogTerm: 3, Index: 8}
	appResp := pb.Message{Type: pb.MsgAppResp, From: 3, To: 1, Term: 4, Index: 9}
	rejResp := pb.Message{Type: pb.MsgAppResp, From: 3, To: 1, Term: 4, Index: 8, Reject: true, RejectHint: 5, LogTerm: 2}
	hbResp := pb.Message{Type: pb.MsgHeartbeatResp, From: 3, To: 1, Term: 4, Context: []byte("rd")}
	snapResp := pb.Message{Type: pb.MsgSnapResp, From: 3, To: 1, Term: 4, Index: 9, Offset: 4}
	voteResp := pb.Message{Type: pb.MsgPreVoteResp, From: 2, To: 1, Term: 4}
	prop := pb.Message{Type: pb.MsgProp, From: 2, To: 1, Entries: []pb.Entry{{Data: []byte("fwd")}}}
	read := pb.Message{Type: pb.MsgReadIndex, From: 2, To: 1, Context: []byte("r")}
	timeout := pb.Message{Type: pb.MsgTimeoutNow, From: 2, To: 1, Term: 3}
	readResp := pb.Message{Type: pb.MsgReadIndexResp, From: 2, To: 1, Term: 3, Index: 7, Context: []byte("r")}
	hup := pb.Message{Type: pb.MsgHup, From: 2, To: 1}
	return []fuzzSeed{
		{0, fuzzRecord(nil, app, hb, read)},
		{0, fuzzRecord(nil, conflict, hb)},
		{0, fuzzRecord(nil, snap(0, "abcd", false), snap(4, "efgh", true))},
		{0, fuzzRecord(nil, vote, prevote, timeout, readResp)},
		{1, fuzzRecord(nil, appResp, hbResp, rejResp, snapResp)},
		{1, fuzzRecord(nil, rejResp, hbResp, snapResp, snapResp)},
		{1, fuzzRecord(nil, prop, read, hbResp)},
		{1, append(fuzzRecord(nil, vote), 0, 0, 0)},
		{2, fuzzRecord(nil, voteResp, voteResp, app)},
		{3, fuzzRecord(nil, app, prop, read, snap(0, "abcdefgh", true))},
		{4, fuzzRecord(nil, hup, conflict, hb)},
	}
}

// TestStepSnapshotIndexOverflow: a peer's MsgSnap with Metadata.Index =
// MaxUint64 used to be restored, wrapping the log's first index to 0 and
// making the next Propose panic. Step must refuse such a snapshot.
func TestStepSnapshotIndexOverflow(t *testing.T) {
	n := fuzzNode(t, 0)
	c := newInvariantChecker(n)
	c.drain(t)
	huge := pb.Message{Type: pb.MsgSnap, From: 2, To: 1, Term: 9, Done: true,
		Snapshot: &pb.Snapshot{Metadata: pb.SnapshotMetadata{Index: math.MaxUint64, Term: 3,
			ConfState: pb.ConfState{Voters: []uint64{1, 2, 3}}}}}
	_ = n.Step(huge) // refusing it with an error is fine; accepting it must be harmless
	c.drain(t)
	for _, m := range []pb.Message{
		{Type: pb.MsgTimeoutNow, From: 2, To: 1, Term: 9},
		{Type: pb.MsgVoteResp, From: 2, To: 1, Term: 10},
	} {
		_ = n.Step(m)
		c.drain(t)
	}
	defer func() {
		if p := recover(); p != nil {
			t.Fatalf("Propose panicked after a hostile snapshot: %v", p)
		}
	}()
	_, _, _ = n.Propose([]byte("x"))
	c.drain(t)
}
