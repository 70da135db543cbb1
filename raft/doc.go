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
//     time; a configuration takes effect as soon as it is in a server's log
//     (see Membership below); the known hole in single-server changes is
//     closed the standard way: a new leader accepts no change until an
//     entry of its term commits. Learners (non-voting members) catch up before promotion;
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
// # Membership
//
// A server uses the latest configuration in its log, committed or not, and
// when a conflicting leader truncates its log it falls back to the
// configuration of the latest remaining entry (thesis §4.1): the
// membership is always the snapshot's ConfState plus every configuration
// change in the log after it (raft.syncConf, on every append or truncation
// that involves one). Consequences: the leader replicates to a new learner
// from the moment it appends the change; a leader that removes itself
// stops counting its own copy at once, keeps leading and steps down when
// the change commits (§4.2.2); a removed follower stops getting appends
// when the change is appended, so it may never hear of its removal
// (pre-vote and check-quorum keep it from disturbing the others, §4.2.3);
// SnapshotMetadata describes the membership at the applied index, not the
// current one.
//
// We first made changes take effect when committed (etcd style), with the
// membership rebuilt at restart from the committed prefix. That is unsafe,
// because a server's commit index may lag the log it holds, arbitrarily:
// commitIndex is volatile state (paper, Figure 2), a power cut can lose the
// HardState write that advanced it, and even a running follower learns it
// only from a leader, a new one of which starts with a stale commit index.
// Such a server uses a configuration two or more changes behind the one
// the cluster uses, and majorities of configurations two changes apart
// need not overlap: a node bootstrapped alone, grown to three voters, then
// restarted with its bootstrap commit index thought itself the only voter
// and led a term beside the real leader (rafttest's
// TestRestartWithStaleCommitAfterGrowth). Taking the latest configuration at restart only
// (and committed ones afterwards) would fix that restart but not the
// running follower that receives changes with a stale commit index, and it
// mixes two rules no proof covers. The thesis rule has the published
// argument: every server's configuration is a function of its log, a leader
// appends a change only once the previous one is committed and once an
// entry of its own term is committed (the 2015 fix, see becomeLeader), so
// any two configurations in use differ by at most one server and their
// majorities overlap. The campaign guard (no election while committed
// changes are unapplied) is no longer needed for safety; it stays, as it
// only delays an election until the node has applied what it knows.
//
// Exactly-once client commands (client id + sequence number) are the state
// machine's business, not the log's: see package node.
package raft
