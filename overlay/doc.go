// Package overlay is what the block layer needs from a peer-to-peer
// overlay: which nodes are responsible for a key, and where copies of an
// object are (DESIGN.md, "The overlay locates blocks"). One interface,
// Overlay, with one implementation per protocol: Tapestry now (this
// package's Tapestry driver), Chord later.
//
// A driver runs a pure protocol core (package tapestry) on one goroutine,
// which owns the core and does all its I/O:
//
//	for {
//		select {
//		case <-ticker.C:      core.Tick()          // one per Tick of wall time
//		case m := <-inbox:    core.Step(m)         // decoded from the transport; a pong gets its RTT
//		case c := <-calls:    core.Publish(req, k) // Locate, Route, ... with a fresh req
//		}
//		for core.HasReady() {
//			rd := core.Ready()
//			send rd.Messages; hand rd.Results to the waiters of their Req
//		}
//	}
//
// Round-trip times are measured here, not in the core: the driver notes
// when it sends each ping and fills in the RTT of the matching pong.
//
// A Tapestry node started with a listen address serves the admin service
// of overlay/overlaypb on its transport's port; Dial is its client (the
// puddle CLI's `tapestry` commands).
package overlay
