// Package overlay is what the block layer needs from a peer-to-peer
// overlay: which nodes are responsible for a key, and where copies of an
// object are (DESIGN.md, "The overlay locates blocks"). One interface,
// Overlay, with one driver per protocol: Tapestry (the default) and
// Chord, interchangeable under the block layer (Options, Start).
//
// A driver runs a pure protocol core (package tapestry or chord) on one
// goroutine, the loop (loop.go), which owns the core and does all its
// I/O:
//
//	for {
//		select {
//		case <-ticker.C:      core.Tick()          // one per Tick of wall time
//		case m := <-inbox:    core.Step(m)         // decoded from the transport; a pong gets its RTT
//		case c := <-calls:    core.Locate(req, k)  // Lookup, Route, ... with a fresh req
//		}
//		for core.HasReady() {
//			rd := core.Ready()
//			send rd.Messages; hand rd.Results to the waiters of their Req
//		}
//	}
//
// Round-trip times are measured here, not in the cores: the driver notes
// when it sends each ping and fills in the RTT of the matching pong.
//
// How the two differ under the Overlay interface:
//
//   - Tapestry: Responsible gives the roots of a key and its salted keys;
//     Publish leaves pointers toward them and Locate follows pointers to
//     the nearest holders, which need not be the roots.
//   - Chord: Responsible gives the distinct nodes among a key's successor
//     list; Locate gives the same nodes, nearest first by measured round
//     trip, and Publish has nothing to announce: Chord places data on the
//     successors, and the block layer's repair keeps it there. With
//     virtual nodes (ChordConfig.VirtualNodes) a node takes several ring
//     positions on one transport; its messages are demultiplexed by the
//     destination position's id.
//
// A node started with a listen address serves the admin service of
// overlay/overlaypb on its transport's port; Dial is its client (the
// puddle CLI's `tapestry` and `chord` commands).
package overlay
