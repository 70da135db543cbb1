package rafttest

import (
	"fmt"
	"testing"

	pb "github.com/puddlestore/puddlestore/raft/raftpb"
)

// The snapshot tests of the MIT 6.824 Raft lab (2D): nodes snapshot every
// snapInterval applied entries; a follower that falls behind the leader's
// compacted log must be caught up with InstallSnapshot (MsgSnap).

const snapInterval = 10

func snapConfig(n int, unreliable bool) Config {
	return Config{Nodes: n, Unreliable: unreliable, SnapshotEvery: snapInterval - 1, SnapshotKeep: 2}
}

// checkLogSize fails if some server's disk holds far more entries than
// snapshots should leave.
func (c *Cluster) checkLogSize() {
	c.t.Helper()
	for _, id := range c.ids {
		if k := len(c.srv[id].Disk.cur.ents); k > 4*snapInterval {
			c.Fatalf("server %d keeps %d log entries despite snapshots", id, k)
		}
	}
}

func TestSnapshotBasic(t *testing.T) { snapCommon(t, false, true, false) }

func TestSnapshotInstall(t *testing.T) { snapCommon(t, true, true, false) }

func TestSnapshotInstallUnreliable(t *testing.T) { snapCommon(t, true, false, false) }

func TestSnapshotInstallCrash(t *testing.T) { snapCommon(t, false, true, true) }

func TestSnapshotInstallUnCrash(t *testing.T) { snapCommon(t, false, false, true) }

func snapCommon(t *testing.T, disconnect, reliable, crash bool) {
	const n = 3
	c := newCluster(t, snapConfig(n, !reliable))
	rng := c.Rand()
	rnd := func() string { return fmt.Sprint(rng.IntN(1 << 20)) }
	c.One(rnd(), n, true)
	leader1 := c.CheckOneLeader(10 * et)
	for i := range 30 {
		victim, sender := leader1%n+1, leader1
		if i%3 == 1 {
			sender, victim = victim, sender
		}
		if disconnect {
			c.Disconnect(victim)
			c.One(rnd(), n-1, true)
		}
		if crash {
			c.Crash(victim)
			c.One(rnd(), n-1, true)
		}
		// Enough entries to cause a snapshot; sender may not lead.
		for range snapInterval/2 + rng.IntN(snapInterval) {
			c.StartCmd(sender, rnd())
		}
		if !disconnect && !crash {
			c.One(rnd(), n, true)
		} else {
			c.One(rnd(), n-1, true)
		}
		c.checkLogSize()
		if disconnect {
			// The victim is behind the leader's snapshot.
			c.Connect(victim)
			c.One(rnd(), n, true)
			leader1 = c.CheckOneLeader(10 * et)
		}
		if crash {
			c.Start(victim)
			c.One(rnd(), n, true)
			leader1 = c.CheckOneLeader(10 * et)
		}
	}
	if (disconnect || crash) && c.SentOf(pb.MsgSnap) == 0 {
		c.Fatalf("no snapshot was ever sent")
	}
	for _, id := range c.IDs() {
		if c.Server(id).Node.Status().SnapshotIndex == 0 {
			c.Fatalf("server %d never snapshotted", id)
		}
	}
}

// TestSnapshotAllCrash crashes every server after it snapshotted; each
// restarts from its snapshot and the log continues after it.
func TestSnapshotAllCrash(t *testing.T) {
	const n = 3
	c := newCluster(t, snapConfig(n, false))
	rng := c.Rand()
	rnd := func() string { return fmt.Sprint(rng.IntN(1 << 20)) }
	c.One(rnd(), n, true)
	for range 5 {
		for range snapInterval/2 + rng.IntN(snapInterval) {
			c.One(rnd(), n, true)
		}
		index1 := c.One(rnd(), n, true)
		for _, id := range c.IDs() {
			c.Crash(id)
		}
		for _, id := range c.IDs() {
			c.Start(id)
		}
		if index2 := c.One(rnd(), n, true); index2 < index1+1 {
			c.Fatalf("index decreased from %d to %d", index1, index2)
		}
	}
}

// TestSnapshotInit restarts servers from a snapshot twice in a row: the
// second restart must find the snapshot it restored from.
func TestSnapshotInit(t *testing.T) {
	const n = 3
	c := newCluster(t, snapConfig(n, false))
	rng := c.Rand()
	rnd := func() string { return fmt.Sprint(rng.IntN(1 << 20)) }
	c.One(rnd(), n, true)
	for range snapInterval + 1 {
		c.One(rnd(), n, true)
	}
	for range 2 {
		for _, id := range c.IDs() {
			c.Crash(id)
		}
		for _, id := range c.IDs() {
			c.Start(id)
		}
		c.One(rnd(), n, true)
	}
}
