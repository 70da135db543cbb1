// Package node assembles a PuddleStore node and holds the drivers that run
// the pure protocol cores.
//
// Raft is the driver of one raft.Node: a single goroutine that ticks the
// core, feeds it peers' messages, persists what it asks to the wal before
// sending what depends on it, applies committed entries to a StateMachine,
// and answers waiting proposals and reads. Proposals and reads queued while
// the loop was busy are taken together, so one fsync covers a whole batch
// (group commit) and one heartbeat round confirms a whole batch of reads.
//
// KV is the small replicated key-value state machine that exercises Raft
// until the metadata service replaces it. Its writes are exactly-once: each
// carries a client session id and sequence number, and the state machine
// answers a retry from its session table instead of applying it twice.
//
// Node (Start) wires a Raft group member to the gRPC peer transport and
// serves the KV and Cluster APIs (node/kvpb) to clients.
package node
