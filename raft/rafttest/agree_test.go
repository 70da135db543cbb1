package rafttest

import (
	"fmt"
	"strings"
	"testing"

	pb "github.com/puddlestore/puddlestore/raft/raftpb"
)

// The agreement tests of the MIT 6.824 Raft lab (2B). Our logs start with
// the bootstrap configuration entries and each leader's no-op, so indexes
// are checked relative to each other rather than as 1, 2, 3.

func TestBasicAgree(t *testing.T) {
	const n = 3
	c := newCluster(t, Config{Nodes: n})
	c.CheckOneLeader(10 * et)
	var prev uint64
	for i := 1; i <= 3; i++ {
		index := c.One(fmt.Sprint(i*100), n, false)
		if prev != 0 && index != prev+1 {
			c.Fatalf("got index %d, expected %d", index, prev+1)
		}
		prev = index
	}
}

func TestRPCBytes(t *testing.T) {
	const n = 3
	c := newCluster(t, Config{Nodes: n})
	c.One("99", n, false)
	_, bytes0 := c.Sent()
	const iters, size = 10, 5000
	var sent uint64
	for i := range iters {
		cmd := strings.Repeat(string(rune('a'+i)), size)
		c.One(cmd, n, false)
		sent += uint64(len(Cmd(cmd)))
	}
	_, bytes1 := c.Sent()
	// Each command goes to each follower once, plus small change.
	if got, want := bytes1-bytes0, sent*(n-1)+50000; got > want {
		c.Fatalf("too many bytes for %d commands: %d > %d", iters, got, want)
	}
}

func TestFailAgree(t *testing.T) {
	const n = 3
	c := newCluster(t, Config{Nodes: n})
	c.One("101", n, false)
	leader := c.CheckOneLeader(10 * et)
	c.Disconnect(leader%n + 1)
	// The leader and the other follower agree.
	for _, cmd := range []string{"102", "103"} {
		c.One(cmd, n-1, false)
	}
	c.Run(et)
	for _, cmd := range []string{"104", "105"} {
		c.One(cmd, n-1, false)
	}
	c.Connect(leader%n + 1)
	c.One("106", n, true)
	c.Run(et)
	c.One("107", n, true)
}

func TestFailNoAgree(t *testing.T) {
	const n = 5
	c := newCluster(t, Config{Nodes: n})
	c.One("10", n, false)
	leader := c.CheckOneLeader(10 * et)
	for k := uint64(1); k <= 3; k++ {
		c.Disconnect((leader+k-1)%n + 1)
	}
	index, _, ok := c.StartCmd(leader, "20")
	if !ok {
		c.Fatalf("leader %d rejected a command", leader)
	}
	c.Run(2 * 2 * et)
	if got, _ := c.NCommitted(index); got > 0 {
		c.Fatalf("%d committed without a majority", got)
	}
	for k := uint64(1); k <= 3; k++ {
		c.Connect((leader+k-1)%n + 1)
	}
	// The disconnected majority may have chosen a new leader; either way
	// the cluster agrees again.
	leader2 := c.CheckOneLeader(10 * et)
	index2, _, ok := c.StartCmd(leader2, "30")
	if !ok {
		c.Fatalf("leader %d rejected a command", leader2)
	}
	if index2 < index || index2 > index+2 {
		c.Fatalf("unexpected index %d (uncommitted command was at %d)", index2, index)
	}
	c.One("1000", n, true)
}

func TestConcurrentStarts(t *testing.T) {
	const n = 3
	c := newCluster(t, Config{Nodes: n})
	for try := 0; ; try++ {
		if try == 5 {
			c.Fatalf("term changed too often")
		}
		leader := c.CheckOneLeader(10 * et)
		_, term, ok := c.StartCmd(leader, "1")
		if !ok {
			continue
		}
		// Five starts before any message moves.
		var idx []uint64
		var cmds []string
		s := c.Server(leader)
		for i := range 5 {
			cmd := fmt.Sprint(100 + i)
			index, term1, err := s.Node.Propose(Cmd(cmd))
			if err != nil || term1 != term {
				break
			}
			idx, cmds = append(idx, index), append(cmds, cmd)
		}
		c.Process(leader)
		if !c.RunUntil(5*et, func() bool {
			for _, i := range idx {
				if got, _ := c.NCommitted(i); got < n {
					return false
				}
			}
			return true
		}) {
			if c.CheckTerms() != term {
				continue // a term change may lose starts; try again
			}
			c.Fatalf("starts not all committed")
		}
		for k, i := range idx {
			if _, data := c.NCommitted(i); string(data) != string(Cmd(cmds[k])) {
				c.Fatalf("index %d holds %q, want command %s", i, data, cmds[k])
			}
		}
		return
	}
}

func TestRejoin(t *testing.T) {
	const n = 3
	c := newCluster(t, Config{Nodes: n})
	c.One("101", n, true)
	// The leader is partitioned with uncommitted entries.
	leader1 := c.CheckOneLeader(10 * et)
	c.Disconnect(leader1)
	for _, cmd := range []string{"102", "103", "104"} {
		c.StartCmd(leader1, cmd)
	}
	// The new leader commits, also for index 2.
	c.One("103", 2, true)
	// The new leader is partitioned; the old one returns.
	leader2 := c.CheckOneLeader(10 * et)
	c.Disconnect(leader2)
	c.Connect(leader1)
	c.One("104", 2, true)
	// Everyone.
	c.Connect(leader2)
	c.One("105", n, true)
}

func TestBackup(t *testing.T) {
	const n = 5
	c := newCluster(t, Config{Nodes: n})
	rng := c.Rand()
	rnd := func() string { return fmt.Sprint(rng.IntN(1 << 30)) }
	c.One(rnd(), n, true)
	id := func(l uint64, k uint64) uint64 { return (l+k-1)%n + 1 }

	// The leader and one follower in a partition.
	leader1 := c.CheckOneLeader(10 * et)
	c.Disconnect(id(leader1, 2))
	c.Disconnect(id(leader1, 3))
	c.Disconnect(id(leader1, 4))
	// Many commands that will not commit.
	for range 50 {
		c.StartCmd(leader1, rnd())
	}
	c.Run(et / 2)
	c.Disconnect(leader1)
	c.Disconnect(id(leader1, 1))
	// The other partition gets going.
	c.Connect(id(leader1, 2))
	c.Connect(id(leader1, 3))
	c.Connect(id(leader1, 4))
	for range 50 {
		c.One(rnd(), 3, true)
	}
	// Now another partitioned leader and one follower.
	leader2 := c.CheckOneLeader(10 * et)
	other := id(leader1, 2)
	if leader2 == other {
		other = id(leader2, 1)
	}
	c.Disconnect(other)
	// Lots more commands that will not commit.
	for range 50 {
		c.StartCmd(leader2, rnd())
	}
	c.Run(et / 2)
	// Bring the original leader back to life.
	for _, s := range c.IDs() {
		c.Disconnect(s)
	}
	c.Connect(leader1)
	c.Connect(id(leader1, 1))
	c.Connect(other)
	for range 50 {
		c.One(rnd(), 3, true)
	}
	for _, s := range c.IDs() {
		c.Connect(s)
	}
	c.One(rnd(), n, true)
}

// TestCount checks that Raft does not send more messages than it needs:
// to elect, to agree, and while idle. Counts are messages (a request and
// its response count two), not RPCs as in 6.824.
func TestCount(t *testing.T) {
	const n = 3
	c := newCluster(t, Config{Nodes: n})
	leader := c.CheckOneLeader(10 * et)
	electionMsgs, _ := c.Sent()
	// Pre-vote and vote rounds to and from each peer, the new leader's
	// first append and the heartbeats of the few ticks since: a handful of
	// rounds, not a storm.
	if electionMsgs < 2*(n-1) || electionMsgs > 40 {
		c.Fatalf("%d messages to elect the first leader", electionMsgs)
	}
	c.Run(2) // settle the first append
	for try := 0; ; try++ {
		if try == 5 {
			c.Fatalf("term changed too often")
		}
		leader = c.CheckOneLeader(10 * et)
		total1, _ := c.Sent()
		ticks1 := c.Ticks()
		_, term, ok := c.StartCmd(leader, "1")
		if !ok {
			continue
		}
		const iters = 10
		var last uint64
		changed := false
		for i := range iters {
			index, term1, ok := c.StartCmd(leader, fmt.Sprint(i+2))
			if !ok || term1 != term {
				changed = true
				break
			}
			last = index
		}
		if changed || !c.RunUntil(5*et, func() bool { k, _ := c.NCommitted(last); return k == n }) {
			continue
		}
		if c.CheckTerms() != term {
			continue
		}
		total2, _ := c.Sent()
		// 6.824's budget of (iters+1+3)*n RPCs, each a request and an
		// answer, plus at most one heartbeat round trip per follower per
		// tick spent waiting. (Appends that only carry a new commit index
		// to followers make up the difference to one append per entry.)
		hb := 2 * (n - 1) * (c.Ticks() - ticks1 + 1)
		if got, max := total2-total1, (iters+1+3)*n*2+hb; got > max {
			c.Fatalf("too many messages (%d > %d) for %d entries", got, max, iters)
		}
		break
	}
	// Idle: heartbeats only, one round trip per follower per heartbeat.
	total2, _ := c.Sent()
	c.Run(et)
	total3, _ := c.Sent()
	if got, max := total3-total2, 2*(n-1)*et+2*(n-1); got > max {
		c.Fatalf("too many messages (%d > %d) for %d idle ticks", got, max, et)
	}
	if c.SentOf(pb.MsgVote) > 4*(n-1) {
		c.Fatalf("%d vote requests in a failure-free run", c.SentOf(pb.MsgVote))
	}
}
