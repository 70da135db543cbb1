package raft

import (
	"fmt"
	"testing"

	pb "github.com/puddlestore/puddlestore/raft/raftpb"
)

// tiny in-process cluster for the core's own tests: messages are delivered
// in order, persistence is instant.
type smokeNet struct {
	nodes   map[uint64]*Node
	applied map[uint64][]string
	down    map[uint64]bool
}

func newSmokeNet(t *testing.T, n int) *smokeNet {
	t.Helper()
	s := &smokeNet{nodes: map[uint64]*Node{}, applied: map[uint64][]string{}, down: map[uint64]bool{}}
	var peers []uint64
	for i := 1; i <= n; i++ {
		peers = append(peers, uint64(i))
	}
	for _, id := range peers {
		nd, err := New(Config{ID: id, Peers: peers, Seed: int64(id)})
		if err != nil {
			t.Fatal(err)
		}
		s.nodes[id] = nd
	}
	return s
}

// pump runs Ready/Advance and delivers messages until quiet.
func (s *smokeNet) pump(t *testing.T) {
	t.Helper()
	for range 1000 {
		var msgs []pb.Message
		for id := uint64(1); id <= uint64(len(s.nodes)); id++ {
			nd := s.nodes[id]
			if !nd.HasReady() {
				continue
			}
			rd := nd.Ready()
			for _, e := range rd.CommittedEntries {
				if e.Type == pb.EntryNormal && len(e.Data) > 0 {
					s.applied[id] = append(s.applied[id], string(e.Data))
				}
			}
			msgs = append(msgs, rd.Messages...)
			nd.Advance(rd)
		}
		if len(msgs) == 0 {
			return
		}
		for _, m := range msgs {
			if s.down[m.To] || s.down[m.From] {
				continue
			}
			// Round-trip through the codec, as on the wire.
			var w pb.Message
			if err := w.Unmarshal(m.Marshal()); err != nil {
				t.Fatalf("codec: %v", err)
			}
			if err := s.nodes[w.To].Step(w); err != nil {
				t.Fatalf("step %s %d->%d: %v", w.Type, w.From, w.To, err)
			}
		}
	}
	t.Fatal("cluster did not quiesce")
}

func (s *smokeNet) leader() uint64 {
	for id, nd := range s.nodes {
		if nd.Status().State == StateLeader && !s.down[id] {
			return id
		}
	}
	return None
}

func TestSmokeElectAndReplicate(t *testing.T) {
	s := newSmokeNet(t, 3)
	s.pump(t)
	for tick := 0; tick < 100 && s.leader() == None; tick++ {
		for _, nd := range s.nodes {
			nd.Tick()
		}
		s.pump(t)
	}
	lead := s.leader()
	if lead == None {
		t.Fatal("no leader")
	}
	for i := range 10 {
		if _, _, err := s.nodes[lead].Propose([]byte(fmt.Sprint("cmd", i))); err != nil {
			t.Fatal(err)
		}
		s.pump(t)
	}
	// Heartbeats spread the last commit.
	for _, nd := range s.nodes {
		nd.Tick()
	}
	s.pump(t)
	for id := range s.nodes {
		if len(s.applied[id]) != 10 {
			t.Fatalf("node %d applied %d entries: %v", id, len(s.applied[id]), s.applied[id])
		}
	}
	// Leader fails; another takes over and the log continues.
	s.down[lead] = true
	var newLead uint64
	for tick := 0; tick < 200; tick++ {
		for id, nd := range s.nodes {
			if !s.down[id] {
				nd.Tick()
			}
		}
		s.pump(t)
		if l := s.leader(); l != None && l != lead {
			newLead = l
			break
		}
	}
	if newLead == None {
		t.Fatal("no new leader")
	}
	if _, _, err := s.nodes[newLead].Propose([]byte("after")); err != nil {
		t.Fatal(err)
	}
	s.pump(t)
	if got := s.applied[newLead]; len(got) != 11 || got[10] != "after" {
		t.Fatalf("new leader applied %v", got)
	}
}
