package rafttest

import (
	"fmt"
	"testing"
)

// The persistence tests of the MIT 6.824 Raft lab (2C). Crash loses what
// was not fsynced; Start rebuilds the node from its disk.

func TestPersist1(t *testing.T) {
	const n = 3
	c := newCluster(t, Config{Nodes: n})
	c.One("11", n, true)
	// Crash and restart everyone.
	for _, id := range c.IDs() {
		c.Crash(id)
	}
	for _, id := range c.IDs() {
		c.Start(id)
	}
	c.One("12", n, true)

	leader1 := c.CheckOneLeader(10 * et)
	c.Crash(leader1)
	c.Start(leader1)
	c.One("13", n, true)

	leader2 := c.CheckOneLeader(10 * et)
	c.Crash(leader2)
	c.One("14", n-1, true)
	c.Start(leader2)
	if !c.RunUntil(10*et, func() bool { return c.Server(leader2).Applied() >= c.maxApplied() }) {
		c.Fatalf("restarted %d did not catch up", leader2)
	}

	i3 := c.CheckOneLeader(10*et)%n + 1
	c.Crash(i3)
	c.One("15", n-1, true)
	c.Start(i3)
	c.One("16", n, true)
}

// maxApplied is the highest index any server applied.
func (c *Cluster) maxApplied() uint64 { return c.check.maxCommitted }

func TestPersist2(t *testing.T) {
	const n = 5
	c := newCluster(t, Config{Nodes: n})
	index := 1
	for iters := 0; iters < 5; iters++ {
		c.One(fmt.Sprint(10+index), n, true)
		index++
		leader1 := c.CheckOneLeader(10 * et)
		id := func(k uint64) uint64 { return (leader1+k-1)%n + 1 }

		c.Crash(id(1))
		c.Crash(id(2))
		c.One(fmt.Sprint(10+index), n-2, true)
		index++

		c.Crash(id(0))
		c.Crash(id(3))
		c.Crash(id(4))

		c.Start(id(1))
		c.Start(id(2))
		c.Run(2 * et)
		c.Start(id(3))
		c.One(fmt.Sprint(10+index), n-2, true)
		index++

		c.Start(id(4))
		c.Start(id(0))
	}
	c.One("1000", n, true)
}

func TestPersist3(t *testing.T) {
	const n = 3
	c := newCluster(t, Config{Nodes: n})
	c.One("101", n, true)
	leader := c.CheckOneLeader(10 * et)
	id := func(k uint64) uint64 { return (leader+k-1)%n + 1 }
	// A follower is partitioned; the two others agree, then crash.
	c.Disconnect(id(2))
	c.One("102", 2, true)
	c.Crash(id(0))
	c.Crash(id(1))
	// The partitioned follower, with a stale log, and the old leader.
	c.Connect(id(2))
	c.Start(id(0))
	c.One("103", 2, true)
	c.Start(id(1))
	c.One("104", n, true)
}

// TestFigure8 plays the scenario of Raft paper Figure 8: leaders crash just
// after appending, so that entries of old terms sit on a majority without
// being committed; a later leader must not commit them by counting
// replicas.
func TestFigure8(t *testing.T) {
	const n = 5
	c := newCluster(t, Config{Nodes: n})
	rng := c.Rand()
	c.One(fmt.Sprint(rng.IntN(1<<20)), 1, true)
	nup := n
	for range 1000 {
		var leader uint64
		for _, id := range c.IDs() {
			if _, _, ok := c.StartCmd(id, fmt.Sprint(rng.IntN(1<<20))); ok {
				leader = id
			}
		}
		if rng.IntN(1000) < 100 {
			c.Run(rng.IntN(et/2) + 1)
		} else {
			c.Run(rng.IntN(2) + 1)
		}
		if leader != 0 {
			// Half the time the crash comes mid-Ready: the leader's appends
			// are out, its own copy not yet on disk.
			if rng.IntN(2) == 0 {
				c.CrashDuringNextReady(leader)
				c.Tick()
			}
			c.Crash(leader)
			nup--
		}
		if nup < 3 {
			s := uint64(rng.IntN(n) + 1)
			if !c.Server(s).Up() {
				c.Start(s)
				nup++
			}
		}
	}
	for _, id := range c.IDs() {
		c.Start(id)
	}
	c.One(fmt.Sprint(rng.IntN(1<<20)), n, true)
}

func TestUnreliableAgree(t *testing.T) {
	const n = 5
	c := newCluster(t, Config{Nodes: n, Unreliable: true})
	for iters := 1; iters < 50; iters++ {
		// Four commands in flight at once, then one more through One.
		for j := range 4 {
			if l := c.Leader(); l != 0 {
				c.StartCmd(l, fmt.Sprint(100*iters+j))
			}
		}
		c.One(fmt.Sprint(iters), 1, true)
	}
	c.SetReliable()
	c.One("100", n, true)
}

func TestFigure8Unreliable(t *testing.T) {
	const n = 5
	c := newCluster(t, Config{Nodes: n, Unreliable: true})
	rng := c.Rand()
	c.One(fmt.Sprint(rng.IntN(10000)), 1, true)
	nup := n
	for iters := range 1000 {
		if iters == 200 {
			c.SetLongReordering(true)
		}
		var leader uint64
		for _, id := range c.IDs() {
			if !c.Connected(id) {
				continue
			}
			if _, _, ok := c.StartCmd(id, fmt.Sprint(rng.IntN(10000))); ok {
				leader = id
			}
		}
		if rng.IntN(1000) < 100 {
			c.Run(rng.IntN(et/2) + 1)
		} else {
			c.Run(rng.IntN(2) + 1)
		}
		if leader != 0 && rng.IntN(1000) < n/2 {
			c.Disconnect(leader)
			nup--
		}
		if nup < 3 {
			s := uint64(rng.IntN(n) + 1)
			if !c.Connected(s) {
				c.Connect(s)
				nup++
			}
		}
	}
	c.SetLongReordering(false)
	for _, id := range c.IDs() {
		c.Connect(id)
	}
	c.One(fmt.Sprint(rng.IntN(10000)), n, true)
}
