// Package memnet is a seeded, deterministic in-memory network for tests and
// simulations.
//
// A [Network] holds every message in flight in one queue ordered by delivery
// time, then by send sequence. Time is logical: nothing is delivered until the
// caller runs the clock with [Network.Step] or [Network.Advance], which call
// handlers synchronously in the caller's goroutine. Faults come from the seed
// and from explicit calls: random drop, duplication and delay (so messages to
// one peer can overtake each other unless Config.FIFO is set), partitions,
// blocked links and crashed endpoints. The same seed and the same calls in
// the same order give exactly the same deliveries, which is what makes a
// failing randomized test replayable from its seed.
//
// A simulation drives it single-threaded:
//
//	net, _ := memnet.New(memnet.Config{Seed: seed, DropRate: 0.01, MaxDelay: 20 * time.Millisecond})
//	a, _ := net.Endpoint("a", handlerA)
//	b, _ := net.Endpoint("b", handlerB)
//	a.Send("b", transport.ServiceRaft, msg)
//	for net.Now() < limit {
//		net.Advance(time.Millisecond) // deliver what is due
//		tickEveryone()
//	}
//
// For an in-process cluster whose drivers are goroutines, [Network.Start]
// instead delivers messages from a goroutine of its own as wall-clock time
// passes, until [Network.Stop]. Determinism is then lost, faults are not.
package memnet
