package rafttest

import (
	"testing"
)

// The election tests of the MIT 6.824 Raft lab (2A), in ticks. An election
// timeout is ElectionTick (10) to 2*ElectionTick ticks.

const et = 10 // election timeout, in ticks

func TestInitialElection(t *testing.T) {
	c := newCluster(t, Config{Nodes: 3})
	c.CheckOneLeader(10 * et)
	c.Run(5)
	term1 := c.CheckTerms()
	if term1 < 1 {
		c.Fatalf("term is %d, expected at least 1", term1)
	}
	// With no failure, the leader keeps its term.
	c.Run(2 * 2 * et)
	if term2 := c.CheckTerms(); term2 != term1 {
		c.Fatalf("term changed from %d to %d with no failures", term1, term2)
	}
	c.CheckOneLeader(10 * et)
}

func TestReElection(t *testing.T) {
	const n = 3
	c := newCluster(t, Config{Nodes: n})
	leader1 := c.CheckOneLeader(10 * et)

	// The leader disconnects: a new one is elected.
	c.Disconnect(leader1)
	c.CheckOneLeader(10 * et)

	// The old leader rejoins: it must not disturb the new one.
	c.Connect(leader1)
	leader2 := c.CheckOneLeader(10 * et)

	// No quorum: no leader.
	other := leader2%n + 1
	c.Disconnect(leader2)
	c.Disconnect(other)
	c.Run(4 * et)
	c.CheckNoLeader()

	// A quorum comes back: a leader.
	c.Connect(other)
	c.CheckOneLeader(10 * et)

	// The last node rejoins: still one leader.
	c.Connect(leader2)
	c.CheckOneLeader(10 * et)
}

func TestManyElections(t *testing.T) {
	const n = 7
	c := newCluster(t, Config{Nodes: n})
	c.CheckOneLeader(10 * et)
	rng := c.Rand()
	for range 10 {
		// Disconnect three random nodes (possibly the same one twice).
		var cut []uint64
		for range 3 {
			id := uint64(rng.IntN(n) + 1)
			cut = append(cut, id)
			c.Disconnect(id)
		}
		// Either the current leader survived or the rest elect one.
		c.CheckOneLeader(10 * et)
		for _, id := range cut {
			c.Connect(id)
		}
	}
	c.CheckOneLeader(10 * et)
}
