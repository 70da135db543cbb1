// Package transport is how PuddleStore nodes send each other messages.
//
// Protocol cores (raft, tapestry, chord) are pure state machines that only
// exchange messages; a driver hands their outgoing messages to a [Transport]
// and feeds incoming ones back in. Messages are one-way, best-effort and
// opaque: a transport may drop them (a peer is slow, down or unreachable), and
// the protocols above already tolerate loss, duplication and reordering, so
// Send never blocks and never retries. Several protocols share one listener;
// each message carries a small [Service] tag, and a [Mux] dispatches on it.
//
// Implementations:
//
//   - transport/memnet: a seeded, deterministic in-memory network with logical
//     time, drops, duplicates, reordering, partitions and crashes; every
//     simulation and most tests use it.
//   - transport/grpcnet: the real thing, one gRPC client stream per peer,
//     defined by transport/transportpb/transport.proto.
//
// Both can add latency from a [LatencyModel]; [Coordinates] places each
// address on a plane so that locality (near and far peers) is visible even
// on loopback, where the kernel here offers no netem.
//
// A driver typically wires things up like this:
//
//	mux := transport.NewMux()
//	mux.Handle(transport.ServiceRaft, func(from transport.Addr, p []byte) {
//		inbox <- raftMessage{from, p} // hand off; never block long here
//	})
//	tr, err := grpcnet.Listen(ctx, grpcnet.Config{Listen: "127.0.0.1:0", Handler: mux.Deliver})
//	...
//	err = tr.Send(peer, transport.ServiceRaft, payload) // queued; ErrQueueFull means dropped
//
// This package imports neither net nor any RPC library, so cores may depend
// on it for [Addr] and [Service] without pulling in I/O.
package transport
