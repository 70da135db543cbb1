package rafttest

import (
	"testing"

	"github.com/puddlestore/puddlestore/raft"
)

// TestLeaseReadAfterTransfer: with lease-based reads, a leader that has
// handed leadership over (MsgTimeoutNow sent) must stop answering reads
// from its lease: the transferee's election bypasses the followers'
// leases, so a new leader can commit writes while the old leader's lease
// still runs. Here the old leader hears nothing back after the transfer.
//
// Found by this test: serveReadIndex used to answer from the lease after
// MsgTimeoutNow went out.
func TestLeaseReadAfterTransfer(t *testing.T) {
	const n = 3
	c := newCluster(t, Config{Nodes: n, Raft: func(rc *raft.Config) { rc.ReadOnlyOption = raft.ReadOnlyLeaseBased }})
	w := c.NewClerk()
	w.Invoke(OpPut, "x", "1")
	if !c.RunUntil(20*et, func() bool { return !w.Busy() }) {
		c.Fatalf("put x=1 did not complete")
	}
	old := c.CheckOneLeader(10 * et)
	target := old%n + 1
	other := target%n + 1
	c.Run(2) // everyone applied x=1
	if err := c.Server(old).Node.TransferLeadership(target); err != nil {
		c.Fatalf("transfer: %v", err)
	}
	c.Process(old)
	// The old leader can still send (MsgTimeoutNow goes out) but hears
	// nothing more.
	c.Cut(target, old)
	c.Cut(other, old)
	if !c.RunUntil(et, func() bool {
		s := c.Server(target)
		return s.Node.Status().State == raft.StateLeader
	}) {
		c.Fatalf("transferee %d did not become leader", target)
	}
	// The new leader commits x=2.
	ts := c.Server(target)
	index, _, err := ts.Node.Propose(Op{Kind: OpPut, Key: "x", Value: "2", Client: 99, Seq: 1}.Marshal())
	if err != nil {
		c.Fatalf("propose at new leader: %v", err)
	}
	c.Process(target)
	if !c.RunUntil(et, func() bool { return ts.Applied() >= index }) {
		c.Fatalf("x=2 not applied at the new leader")
	}
	// A read at the old leader now must not return x=1.
	olds := c.Server(old)
	if olds.Node.Status().State != raft.StateLeader {
		t.Skipf("old leader already stepped down at tick %d: nothing to check", c.Ticks())
	}
	r, err := c.ReadIndex(old, "late-read", "x")
	if err != nil {
		t.Logf("old leader refused the read: %v", err)
		return
	}
	c.Run(1)
	if r.Done && r.Value != "2" {
		c.Fatalf("stale lease read: old leader %d (term %d) answered read index %d with x=%q after new leader %d (term %d) committed x=2 at %d",
			old, olds.Node.Status().Term, r.Index, r.Value, target, ts.Node.Status().Term, index)
	}
}
