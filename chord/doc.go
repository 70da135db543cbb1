// Package chord is PuddleStore's second overlay: the Chord lookup protocol
// of Stoica, Morris, Karger, Kaashoek and Balakrishnan ("Chord: A Scalable
// Peer-to-peer Lookup Service for Internet Applications", SIGCOMM 2001),
// as a pure core that a driver runs over the transport (chordtest.Mesh in
// simulations).
//
// A Node is a state machine: Step takes a peer's message, Tick advances
// logical time, Ready hands over messages to send and results for local
// callers. It reads no clock, does no I/O and takes its randomness from
// Config.Seed, so a simulation of thousands of nodes is deterministic.
// Nothing is persisted: the ring state is soft and rebuilt. A driver's
// loop:
//
//	for {
//		select {
//		case <-ticker.C:
//			n.Tick()
//		case m := <-incoming: // decoded with Message.Unmarshal
//			if m.Type == chord.MsgPong {
//				m.RTT = time.Since(pingSent[m.Seq]) // measured by the driver
//			}
//			_ = n.Step(m)
//		case c := <-calls:
//			n.Lookup(c.req, c.key)
//		}
//		rd := n.Ready()
//		for _, m := range rd.Messages {
//			tr.Send(m.To.Addr, transport.ServiceChord, m.Marshal())
//		}
//		for _, r := range rd.Results {
//			deliver(r)
//		}
//	}
//
// Virtual nodes: a host that runs several ring positions runs one Node per
// position, all with the same Addr. Every message names its receiver's id
// (To.ID), and the driver hands it to that Node; Step refuses a message
// for another id (ErrWrongNode). A zero To.ID (a joiner that knows only an
// address) goes to any of them.
//
// What it implements, by section of the paper:
//
//   - §4.1–4.2 the ring of 2^160 ids and finger tables: finger i (0-based)
//     is the successor of self + 2^i (FingerTarget), zero until known.
//   - §4.3 lookups, done recursively: a lookup is passed hop by hop to the
//     closest live finger or successor-list entry preceding the key, and
//     the node whose successor is the key's answers the origin directly
//     with its successor list (the key's first r successors). A node that
//     is itself the key's successor, by its predecessor, answers at once.
//     Result.Hops counts forwards: the paper's path length counts one
//     more, the step from the key's predecessor to its successor, so the
//     mean here is a little under ½·log2 N (the simulations measure it).
//     The origin times out after RequestTicks and sends the lookup again
//     once, through its successor list only, then reports ErrTimeout.
//     With Config.Proximity, among next hops leaving at most twice the best
//     one's remaining distance the one with the smallest measured
//     round-trip time is taken (proximity route selection, a later
//     refinement of Chord's; off by default).
//   - §4.4 join and stabilization: a joiner looks up its own id through a
//     known node and takes the answer as its successor list
//     (ResultJoined); stabilize (every StabilizeTicks) asks the successor
//     for its predecessor and successor list, adopts a closer successor
//     and notifies; fix_fingers looks up one finger at a time (every
//     FixFingerTicks), and one answer fills every following finger whose
//     start precedes the node found, so a round costs about log2 N
//     lookups, not 160.
//   - §5.3 failures: the successor list (r entries: the successor and its
//     list); check_predecessor is extended to the successor list and the
//     fingers: they are pinged every CheckPredTicks, and a peer that leaves
//     a ping or stabilize request unanswered for FailureTicks is declared
//     dead and removed everywhere; the next live successor takes over at
//     once. Routing already passes over a peer whose answer is a few ticks
//     late. Dead peers are not taken back from others' stale lists for a
//     while.
//   - voluntary departure (§4.4's note, developed in the journal version):
//     Leave tells the predecessor the leaver's successor list and the
//     successor the leaver's predecessor; they link to each other at once.
//
// Keys and their data are not this package's: the block layer above places
// blocks on a key's successors, repairs them there after joins and
// failures, and hands a leaving node's blocks off (blocks.Service.HandOff,
// puddle blocks drain).
//
// Not done: a lookup lost at a hop that
// died moments before is not retransmitted hop by hop (the origin's retry
// covers it); nodes that join concurrently at the same place are sorted
// out by stabilize, not by any locking; there is no defence against
// malicious nodes beyond refusing malformed messages.
package chord
