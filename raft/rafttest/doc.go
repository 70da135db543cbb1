// Package rafttest is a deterministic simulated cluster for testing package
// raft: N nodes, their disks, a replicated key-value store and its clients,
// all on the caller's goroutine, in logical time. A run is a function of
// its seed: the same seed replays the same run, message for message.
//
// # The cluster
//
// New(t, Config) builds a Cluster. Each Server is a raft.Node with
//
//   - a Storage: a simulated disk where writes become durable only at
//     Sync, so Crash loses exactly what an unsynced page cache would
//     (package wal's MemFS models the same for the real WAL; the layering
//     rules keep raft/... from importing wal, hence this small model);
//   - a KV state machine: Put, Append and Get, with a client id and
//     sequence number that make Put and Append exactly-once (MIT 6.824 lab
//     3); its snapshot is the encoded map and dedup table, taken every
//     Config.SnapshotEvery applied entries (raft's Compact);
//   - a memnet endpoint: messages are encoded with raftpb's Marshal and
//     decoded on delivery; memnet delays and reorders them and models
//     partitions and crashes; the cluster adds loss, duplication and 6.824's
//     "long reordering" on top, switchable mid-run.
//
// Each node runs the driver loop of package raft's doc, one Ready at a
// time: send the messages SendBeforePersist allows, write HardState,
// Entries and Snapshot and fsync if MustSync, send the rest, restore the
// snapshot and apply CommittedEntries, serve ReadStates, Advance, then
// snapshot if due. Crash(i) drops unsynced writes and in-flight messages;
// CrashDuringNextReady(i) crashes in the middle of the next Ready that must
// sync, after the leader's appends went out and before the fsync; Start(i)
// rebuilds the node from its disk through raft.Config{HardState, Snapshot,
// Entries, Applied: snapshot index}. Tick advances time by one raft tick
// (Tick of network time); nothing sleeps.
//
// # Invariants
//
// The cluster checks the properties of the Raft paper's Figure 3 as it
// runs, from what drivers see, and fails the test at the first violation:
// Election Safety (one leader per term), Log Matching (checked
// inductively on every entry written: an (index, term) always carries the
// same data and follows the same term), Leader Completeness (a new leader
// holds every entry anyone applied), and State Machine Safety (no two
// servers apply different entries at an index; servers at the same
// applied index have identical stores). Clerks record each operation's
// call and return in a History, which CheckLinearizable checks with
// porcupine, one partition per key.
//
// # Tests
//
// The tests are the MIT 6.824 Raft lab (2A-2D) in ticks (TestInitialElection
// through TestSnapshotInit), tests of what PuddleStore's raft adds
// (leadership transfer, learners, removing the leader, ReadIndex, pre-vote,
// check-quorum), and TestRandomized: hundreds of seeds, each mixing
// partitions, crashes and restarts, loss, duplication and reordering with
// concurrent clerks, then repairing everything and requiring every
// operation to finish, exactly once, linearizably. TestDeterminism replays
// seeds and compares hashes of their message traces.
//
// # Replaying a seed
//
// A failure prints its seed and the command that replays it:
//
//	go test ./raft/rafttest -run TestRandomized -seed 1234 -v
//
// With -seed and -v, TestRandomized logs the run's faults and role changes.
// -seed (or PUDDLE_RAFT_SEED) sets the seed of every test; -seeds N (or
// PUDDLE_RAFT_SEEDS) sets how many seeds TestRandomized runs (default 1000,
// about 15 s of CPU under -race):
//
//	PUDDLE_RAFT_SEEDS=5000 go test ./raft/rafttest -run TestRandomized
package rafttest
