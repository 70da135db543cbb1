package rafttest

import (
	"errors"
	"fmt"
	"slices"
	"testing"

	"github.com/puddlestore/puddlestore/raft"
	pb "github.com/puddlestore/puddlestore/raft/raftpb"
)

// Tests of what PuddleStore's raft adds to the 6.824 lab: leadership
// transfer, learners, removing the leader, ReadIndex, pre-vote and
// check-quorum.

func TestLeadershipTransfer(t *testing.T) {
	const n = 3
	c := newCluster(t, Config{Nodes: n})
	c.One("1", n, true)
	leader := c.CheckOneLeader(10 * et)
	target := leader%n + 1
	if err := c.Server(leader).Node.TransferLeadership(target); err != nil {
		c.Fatalf("transfer %d -> %d: %v", leader, target, err)
	}
	c.Process(leader)
	// A transfer takes a round trip or two, well within an election
	// timeout.
	if !c.RunUntil(et, func() bool { return c.Leader() == target }) {
		c.Fatalf("leadership did not move from %d to %d (leader now %d)", leader, target, c.Leader())
	}
	c.One("2", n, true)
}

func TestLearnerAddAndPromote(t *testing.T) {
	const n = 3
	c := newCluster(t, Config{Nodes: n})
	c.One("1", n, true)
	leader := c.CheckOneLeader(10 * et)
	const learner = 4
	c.proposeConf(leader, pb.ConfChange{Type: pb.ConfAddLearner, NodeID: learner})
	c.AddServer(learner)
	for i := range 5 {
		c.One(fmt.Sprint(10+i), n, true)
	}
	s := c.Server(learner)
	if !c.RunUntil(10*et, func() bool { return s.Applied() >= c.maxApplied() }) {
		c.Fatalf("learner applied %d, cluster %d", s.Applied(), c.maxApplied())
	}
	cs := s.Node.Members()
	if !slices.Contains(cs.Learners, learner) || slices.Contains(cs.Voters, learner) {
		c.Fatalf("learner sees membership %+v", cs)
	}
	// A learner never campaigns: cut off, it stays a follower.
	c.Disconnect(learner)
	c.Run(4 * et)
	if st := s.Node.Status(); st.State != raft.StateFollower {
		c.Fatalf("isolated learner is %s at term %d", st.State, st.Term)
	}
	// While it lags far behind, promotion is refused.
	for i := range 80 {
		c.One(fmt.Sprint(100+i), n, true)
	}
	leader = c.CheckOneLeader(10 * et)
	if _, _, err := c.Server(leader).Node.ProposeConfChange(pb.ConfChange{Type: pb.ConfAddVoter, NodeID: learner}); !errors.Is(err, raft.ErrLearnerNotCaughtUp) {
		c.Fatalf("promoting a lagging learner: got %v, want ErrLearnerNotCaughtUp", err)
	}
	c.Connect(learner)
	if !c.RunUntil(10*et, func() bool { return s.Applied() >= c.maxApplied() }) {
		c.Fatalf("learner did not catch up")
	}
	c.Run(2)
	leader = c.CheckOneLeader(10 * et)
	c.proposeConf(leader, pb.ConfChange{Type: pb.ConfAddVoter, NodeID: learner})
	if !c.RunUntil(10*et, func() bool { return slices.Contains(c.Server(leader).Node.Members().Voters, learner) }) {
		c.Fatalf("learner %d not promoted", learner)
	}
	c.One("promoted", n+1, true)
	// Four voters: the promoted node counts toward the quorum of three.
	c.Disconnect(leader)
	c.Disconnect(leader%n + 1)
	c.Run(4 * et)
	c.CheckNoLeader()
	c.Connect(leader)
	c.One("quorum of three", 3, true)
	c.Connect(leader%n + 1)
	c.One("all", n+1, true)
}

func TestRemoveLeader(t *testing.T) {
	const n = 3
	c := newCluster(t, Config{Nodes: n})
	c.One("1", n, true)
	leader := c.CheckOneLeader(10 * et)
	c.proposeConf(leader, pb.ConfChange{Type: pb.ConfRemoveNode, NodeID: leader})
	s := c.Server(leader)
	if !c.RunUntil(10*et, func() bool { return s.Node.Status().State != raft.StateLeader }) {
		c.Fatalf("removed leader %d did not step down", leader)
	}
	if slices.Contains(s.Node.Members().Voters, leader) {
		c.Fatalf("removed leader still a voter: %+v", s.Node.Members())
	}
	// The others elect a leader among themselves and go on.
	if !c.RunUntil(10*et, func() bool { l := c.Leader(); return l != 0 && l != leader }) {
		c.Fatalf("no new leader after removing %d", leader)
	}
	c.One("2", n-1, true)
	// The removed node cannot disrupt them, even as it times out.
	term := c.Server(c.Leader()).Node.Status().Term
	c.Run(10 * et)
	if l := c.Leader(); l == leader || c.Server(l).Node.Status().Term != term {
		c.Fatalf("removed node disrupted the cluster: leader %d term %d (was term %d)", l, c.Server(l).Node.Status().Term, term)
	}
}

// TestReadIndex: a ReadIndex read returns the latest committed value, and
// a deposed leader cut off from the majority never answers one.
func TestReadIndex(t *testing.T) {
	const n = 3
	c := newCluster(t, Config{Nodes: n})
	w, r := c.NewClerk(), c.NewClerk()
	r.ReadIndexGets = 1
	do := func(k *Clerk, kind OpKind, value string) string {
		k.Invoke(kind, "x", value)
		if !c.RunUntil(20*et, func() bool { return !k.Busy() }) {
			c.Fatalf("%s did not complete", kind)
		}
		h := c.History()
		return h[len(h)-1].Value
	}
	do(w, OpPut, "1")
	if got := do(r, OpGet, ""); got != "1" {
		c.Fatalf("read %q after put 1", got)
	}
	// The old leader is cut off; a new one commits x=2.
	// A read at the old leader, asked just after it was cut off, cannot be
	// confirmed by a quorum: it must never be answered.
	old := c.CheckOneLeader(10 * et)
	c.Disconnect(old)
	stale, err := c.ReadIndex(old, "stale-read", "x")
	if err != nil {
		c.Fatalf("read index at the leader: %v", err)
	}
	c.CheckOneLeader(10 * et)
	do(w, OpPut, "2")
	c.Run(3 * et)
	if stale.Done {
		c.Fatalf("isolated old leader answered a read at index %d: x=%q", stale.Index, stale.Value)
	}
	if got := do(r, OpGet, ""); got != "2" {
		c.Fatalf("read %q after put 2", got)
	}
	c.Connect(old)
	do(w, OpAppend, "3")
	if got := do(r, OpGet, ""); got != "23" {
		c.Fatalf("read %q after append 3", got)
	}
	c.CheckLinearizable(0)
}

// TestPreVoteRejoin: a follower partitioned for many election timeouts
// does not raise its term (pre-vote fails), so rejoining does not depose
// the leader.
func TestPreVoteRejoin(t *testing.T) {
	const n = 3
	c := newCluster(t, Config{Nodes: n})
	c.One("1", n, true)
	leader := c.CheckOneLeader(10 * et)
	term := c.Server(leader).Node.Status().Term
	f := leader%n + 1
	c.Disconnect(f)
	c.Run(10 * et)
	if got := c.Server(f).Node.Status().Term; got != term {
		c.Fatalf("partitioned follower's term went from %d to %d", term, got)
	}
	c.Connect(f)
	c.Run(4 * et)
	if l := c.Leader(); l != leader || c.Server(l).Node.Status().Term != term {
		c.Fatalf("rejoin disrupted the leader: leader %d term %d, was %d term %d", l, c.Server(l).Node.Status().Term, leader, term)
	}
	c.One("2", n, true)
}

// TestNoPreVoteDisrupts is the control for TestPreVoteRejoin: without
// pre-vote (and check-quorum) the rejoining node forces a new term.
func TestNoPreVoteDisrupts(t *testing.T) {
	const n = 3
	c := newCluster(t, Config{Nodes: n, DisablePreVote: true, DisableCheckQuorum: true})
	c.One("1", n, true)
	leader := c.CheckOneLeader(10 * et)
	term := c.Server(leader).Node.Status().Term
	f := leader%n + 1
	c.Disconnect(f)
	c.Run(10 * et)
	c.Connect(f)
	c.Run(4 * et)
	if l := c.CheckOneLeader(10 * et); c.Server(l).Node.Status().Term == term {
		c.Fatalf("without pre-vote the term stayed %d: the control is broken", term)
	}
}

// TestCheckQuorum: a leader that hears from no quorum for an election
// timeout steps down.
func TestCheckQuorum(t *testing.T) {
	const n = 3
	c := newCluster(t, Config{Nodes: n})
	c.One("1", n, true)
	leader := c.CheckOneLeader(10 * et)
	c.Disconnect(leader)
	s := c.Server(leader)
	if !c.RunUntil(2*et+1, func() bool { return s.Node.Status().State != raft.StateLeader }) {
		c.Fatalf("isolated leader %d still leads after %d ticks", leader, 2*et+1)
	}
	// Without check-quorum it would lead on forever.
	c2 := New(t, Config{Nodes: n, Seed: c.Seed(), DisableCheckQuorum: true})
	c2.One("1", n, true)
	leader = c2.CheckOneLeader(10 * et)
	c2.Disconnect(leader)
	c2.Run(4 * et)
	if c2.Server(leader).Node.Status().State != raft.StateLeader {
		c2.Fatalf("without check-quorum the isolated leader stepped down: the control is broken")
	}
}

// proposeConf proposes cc on leader and waits until it is applied there.
func (c *Cluster) proposeConf(leader uint64, cc pb.ConfChange) {
	c.t.Helper()
	s := c.Server(leader)
	var index uint64
	if !c.RunUntil(10*et, func() bool {
		i, _, err := s.Node.ProposeConfChange(cc)
		if err == nil && i != 0 {
			index = i
			return true
		}
		return false
	}) {
		c.Fatalf("leader %d refused %+v", leader, cc)
	}
	c.Process(leader)
	if !c.RunUntil(10*et, func() bool { return s.Applied() >= index }) {
		c.Fatalf("configuration change %+v at %d not applied", cc, index)
	}
}
