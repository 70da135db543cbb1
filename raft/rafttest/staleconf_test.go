package rafttest

import (
	"slices"
	"testing"

	"github.com/puddlestore/puddlestore/raft"
	pb "github.com/puddlestore/puddlestore/raft/raftpb"
)

// TestRestartWithStaleCommitAfterGrowth: a cluster grown from one bootstrap
// voter (add learner, promote, twice) whose bootstrap node restarts with a
// persisted commit index from before those changes. Raft's commitIndex is
// volatile state (paper, Figure 2): a restart may know less than was
// committed, e.g. after a power cut between a commit and the fsync of its
// HardState. The node's log still holds the changes; if it rebuilt its
// membership from the committed prefix only (voters = {itself}), it would
// elect itself alone, beside the leader of the real three voters: two
// leaders, and a write acknowledged by one lost on the other.
func TestRestartWithStaleCommitAfterGrowth(t *testing.T) {
	c := newCluster(t, Config{Nodes: 1})
	c.One("boot", 1, true)
	bootCommit := c.Server(1).Disk.durable.hs.Commit
	for _, id := range []uint64{2, 3} {
		c.proposeConf(1, pb.ConfChange{Type: pb.ConfAddLearner, NodeID: id})
		s := c.AddServer(id)
		if !c.RunUntil(10*et, func() bool { return s.Applied() >= c.maxApplied() }) {
			c.Fatalf("learner %d did not catch up", id)
		}
		c.proposeConf(1, pb.ConfChange{Type: pb.ConfAddVoter, NodeID: id})
	}
	if cs := c.Server(1).Node.Members(); !slices.Equal(cs.Voters, []uint64{1, 2, 3}) {
		c.Fatalf("membership after growth: %+v", cs)
	}
	acked := c.One("acked", 3, true)

	// Node 1 crashes; its disk keeps every entry but a commit index from
	// before the first configuration change.
	c.Crash(1)
	d := c.Server(1).Disk
	d.durable.hs.Commit = bootCommit
	d.cur.hs.Commit = bootCommit
	// It restarts cut off from the others: alone it must not be able to
	// lead (one voter of three).
	c.Disconnect(1)
	c.Start(1)
	c.Run(6 * et)
	if st := c.Server(1).Node.Status(); st.State == raft.StateLeader {
		c.Fatalf("restarted node 1 leads term %d alone (membership %+v)", st.Term, st.ConfState)
	}
	// Meanwhile 2 and 3 elect a leader and commit a write; had 1 elected
	// itself, the two sides would now apply different entries at the same
	// index (the cluster's State Machine Safety check).
	c.StartCmd(1, "lost")
	c.One("majority", 2, true)
	c.Connect(1)
	c.One("all", 3, true)
	// The acknowledged write is still there on every node.
	for _, id := range c.IDs() {
		s := c.Server(id)
		if s.Applied() < acked {
			c.Fatalf("server %d applied %d, before the acknowledged write at %d", id, s.Applied(), acked)
		}
	}
	if _, data := c.NCommitted(acked); string(data) != string(Cmd("acked")) {
		c.Fatalf("entry %d is %q, want the acknowledged write", acked, data)
	}
}
