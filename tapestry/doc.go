// Package tapestry is PuddleStore's default overlay: the Tapestry location
// and routing infrastructure of Zhao, Huang, Stribling, Rhea, Joseph and
// Kubiatowicz ("Tapestry: A Resilient Global-Scale Overlay for Service
// Deployment", IEEE JSAC 2004), as a pure core that a driver runs over the
// transport (overlay.StartTapestry; tapestrytest.Mesh in simulations).
//
// A Node is a state machine: Step takes a peer's message, Tick advances
// logical time, Ready hands over messages to send and results for local
// callers. It reads no clock, does no I/O and takes its randomness from
// Config.Seed, so a simulation of 10,000 nodes is deterministic. Nothing is
// persisted: routing state and object pointers are soft and rebuilt.
//
// What it implements, by section of the paper:
//
//   - §3.1 routing table: 40 levels of 16 slots, up to SlotSize entries per
//     slot ordered by round-trip time, and backpointers. Round-trip times
//     are measured by the driver, which times each MsgPing and fills
//     MsgPong.RTT: the core never sees a clock.
//   - §3.2 prefix routing with surrogate routing: a missing digit is
//     replaced by the next non-empty one, wrapping, so every key has one
//     root on any membership whose tables are consistent. Within a slot the
//     nearest entry is taken, unless a backup at most twice as far also
//     matches the key's next digit (a hop saved).
//   - §3.3 publish and locate: publish leaves a pointer at every hop toward
//     each of k salted roots (SaltedKeys), and, with PublishBackups, a copy
//     on the backups of each slot it passes. Locate goes toward all k roots
//     at once and the first node with a pointer answers; routes from nodes
//     near a holder meet its publish paths early, which keeps location
//     stretch low. Pointers record where the publish went next, and
//     unpublish follows that path: the route may have changed since.
//     Pointers expire unless republished every RepublishTicks.
//   - §4.1 join: routed to the root of the joiner's id, which runs an
//     acknowledged multicast over every node sharing the joiner's longest
//     prefix (they fill their hole with it and send on the pointers it is
//     now root for); the joiner then fills its table level by level with a
//     nearest-neighbour search over its candidates' backpointers and rows.
//     A node told it is held (a backpointer) measures the holder too, so
//     tables fill with near nodes. A join with no answer is retried and
//     fails after three attempts.
//   - §4.3 leave and failure: a leaving node unpublishes its objects, gives
//     every neighbour and backpointer nodes that can take its slot, and
//     hands the pointers it was root for to the new root (MsgHandoff,
//     stored only there). Heartbeats (pings every HeartbeatTicks) find a
//     neighbour silent for FailureTicks: it is removed, its slot repaired
//     by asking neighbours that share the prefix, the pointers routed
//     through it sent on, and the pointers naming it as holder dropped.
//     Until then, routing passes over a neighbour that missed a
//     heartbeat's answer when its slot has another entry. Periodic
//     maintenance asks a neighbour for a row, filling holes left by
//     concurrent joins and failures.
//
// Not (yet) done: routed messages are not retransmitted hop by hop, so a
// message sent to a neighbour that died moments before is lost and the
// request times out at its origin (locates are sent to every root at once,
// so they rarely fail); concurrent joins that share a new prefix may
// miss each other until maintenance finds them (the paper's locking is not
// implemented).
package tapestry
