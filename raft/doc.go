// Package raft is PuddleStore's consensus core: the Raft algorithm of Ongaro
// and Ousterhout ("In Search of an Understandable Consensus Algorithm",
// extended version, and Ongaro's thesis "Consensus: Bridging Theory and
// Practice") as a pure state machine, in the style of etcd-io/raft.
//
// A Node imports no net, no os, never reads the clock and starts no
// goroutine. Time is ticks; randomness comes from Config.Seed. A driver owns
// all I/O:
//
//	for {
//		select {
//		case <-ticker.C:
//			n.Tick()
//		case m := <-fromPeers:
//			n.Step(m) // errors: malformed input, logged and dropped
//		case req := <-proposals:
//			index, term, err := n.Propose(req.data) // track (index, term)
//		}
//		for n.HasReady() {
//			rd := n.Ready()
//			send(leaderAppends(rd.Messages)) // optional: SendBeforePersist
//			wal.Save(rd.HardState, rd.Entries) // one fsync for the batch
//			send(theRest(rd.Messages))
//			apply(rd.Snapshot, rd.CommittedEntries, rd.ReadStates)
//			n.Advance(rd)
//		}
//	}
//
// What it implements, with the defaults production users need:
//
//   - leader election with randomized timeouts (§5.2); pre-vote (thesis
//     §9.6) and check-quorum (§6.2) on by default, so a partitioned or
//     removed node cannot disrupt a healthy leader;
//   - log replication (§5.3) with batching, pipelining, flow control by
//     messages and bytes in flight, and fast backtracking of a diverged
//     follower by term (the optimisation §5.3 sketches);
//   - snapshots and log compaction (§7, thesis §5), snapshots sent in
//     chunks and resumed after a broken transfer;
//   - membership changes one server at a time (thesis §4.1). We chose
//     single-server changes over joint consensus because they are simpler
//     to get right and cover every change an operator makes one node at a
//     time; the known hole in single-server changes is closed the standard
//     way: a new leader accepts no change until an entry of its term
//     commits. Learners (non-voting members) catch up before promotion;
//     promotion of a learner that lags is refused. A removed leader steps
//     down;
//   - leadership transfer (thesis §3.10);
//   - linearizable reads without a log write via ReadIndex (thesis §6.4),
//     and lease-based reads as an option (§6.4.1);
//   - clear errors: NotLeaderError carries the leader hint; a proposal that
//     cannot be appended returns ErrProposalDropped; a proposal overwritten
//     after a leader change is detected by the driver, which matches the
//     (index, term) that Propose returned against what is applied.
//
// Exactly-once client commands (client id + sequence number) are the state
// machine's business, not the log's: see package node.
package raft
