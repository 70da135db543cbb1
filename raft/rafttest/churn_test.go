package rafttest

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

// The churn tests of the MIT 6.824 Raft lab (2C): clients keep writing while
// servers are disconnected, crashed and restarted at random. Our clients
// are Clerks (exactly-once Appends, Gets through the log and ReadIndex), so
// beyond agreement the tests check that every acknowledged Append is in
// the store exactly once, and that the history is linearizable.

func TestReliableChurn(t *testing.T) { churn(t, false) }

func TestUnreliableChurn(t *testing.T) { churn(t, true) }

func churn(t *testing.T, unreliable bool) {
	const n = 5
	c := newCluster(t, Config{Nodes: n, Unreliable: unreliable})
	rng := c.Rand()
	clerks := []*Clerk{c.NewClerk(), c.NewClerk(), c.NewClerk()}
	for _, k := range clerks {
		k.ReadIndexGets = 0.5
	}
	next := 0
	work := func() {
		for _, k := range clerks {
			if k.Busy() {
				continue
			}
			if rng.IntN(4) == 0 {
				k.Invoke(OpGet, "churn", "")
			} else {
				next++
				k.Invoke(OpAppend, "churn", fmt.Sprintf("%d.%d;", k.ID, next))
			}
		}
	}
	for range 20 {
		if rng.IntN(1000) < 200 {
			c.Disconnect(uint64(rng.IntN(n) + 1))
		}
		if rng.IntN(1000) < 500 {
			id := uint64(rng.IntN(n) + 1)
			c.Start(id)
			c.Connect(id)
		}
		if rng.IntN(1000) < 200 {
			c.Crash(uint64(rng.IntN(n) + 1))
		}
		// 0.7 election timeouts of client traffic.
		for range 7 * et / 10 {
			work()
			c.Tick()
		}
	}
	c.Run(et)
	c.SetReliable()
	for _, id := range c.IDs() {
		c.Start(id)
		c.Connect(id)
	}
	c.Run(2 * et)
	if !c.RunUntil(40*et, func() bool {
		for _, k := range clerks {
			if k.Busy() {
				return false
			}
		}
		return true
	}) {
		c.Fatalf("clients did not finish after the cluster healed")
	}
	done := 0
	for _, k := range clerks {
		done += k.Done()
	}
	t.Logf("%d client operations completed", done)
	if done < 10 {
		c.Fatalf("only %d client operations completed", done)
	}
	c.One(fmt.Sprint(rng.IntN(10000)), n, true)
	c.CheckExactlyOnce("churn")
	c.CheckLinearizable(10 * time.Second)
}

// CheckExactlyOnce checks that every Append to key acknowledged to a client
// occurs exactly once in the value of key on the leader, and that each
// client's appends occur in the order it made them.
func (c *Cluster) CheckExactlyOnce(key string) {
	c.t.Helper()
	lead := c.Leader()
	if lead == 0 {
		c.Fatalf("no leader to read %q from", key)
	}
	s := c.Server(lead)
	if !c.RunUntil(10*et, func() bool { return s.Up() && s.applied >= s.Node.Status().Commit }) {
		c.Fatalf("leader %d does not apply its log", lead)
	}
	value := s.KV.Get(key)
	last := map[int]int{}
	for _, e := range c.history {
		if e.Op.Kind != OpAppend || e.Op.Key != key {
			continue
		}
		if k := strings.Count(value, e.Op.Value); k != 1 {
			c.Fatalf("acknowledged %v occurs %d times in %q", e.Op, k, value)
		}
		at := strings.Index(value, e.Op.Value)
		if at < last[e.Client] {
			c.Fatalf("client %d's appends out of order in %q", e.Client, value)
		}
		last[e.Client] = at
	}
}
