package transport

import (
	"errors"
	"fmt"
)

// Addr names an endpoint. For grpcnet it is a "host:port" that can be dialed;
// for memnet any non-empty string.
type Addr string

// Service tags a message with the protocol it belongs to, so several
// protocols can share one listener. Zero is not a valid service.
type Service uint8

// Services known to PuddleStore. Add new ones at the end; values go on the
// wire and must never be reused.
const (
	ServiceRaft     Service = 1
	ServiceTapestry Service = 2
	ServiceChord    Service = 3
	ServiceBlock    Service = 4 // block transfer between stores
)

// String returns a short name for logs ("raft", "tapestry", ... or "svc(9)").
func (s Service) String() string {
	switch s {
	case ServiceRaft:
		return "raft"
	case ServiceTapestry:
		return "tapestry"
	case ServiceChord:
		return "chord"
	case ServiceBlock:
		return "block"
	}
	return fmt.Sprintf("svc(%d)", uint8(s))
}

// Handler receives one message. It owns payload and may keep it.
//
// It is called from the transport's goroutines (grpcnet: one per incoming
// peer stream, so possibly concurrently; memnet: the goroutine that calls
// Step/Advance, or its real-time goroutine, one call at a time). It must not
// block long: hand the message off to the driver's event loop and return.
type Handler func(from Addr, svc Service, payload []byte)

// Transport sends one-way, best-effort messages to peers.
//
// Send does not block on the network and takes no context for that reason: it
// takes payload (the caller must not modify it afterwards: every caller
// marshals a fresh buffer per message, and a copy per message was a tenth
// of a 1 GiB put's memory traffic), queues it for the peer and returns. Messages to one peer leave in the order Send was called; grpcnet
// keeps that order while a connection lives, memnet can reorder on purpose.
// When a peer's queue is full (the peer is slow or down) Send drops the
// message and returns ErrQueueFull; the caller should not retry in a loop, as
// the protocol's own timeouts will resend what matters. A nil error only
// means "queued", never "delivered".
//
// Close stops the transport and waits for its goroutines; afterwards Send
// returns ErrClosed and the handler is not called again.
type Transport interface {
	Addr() Addr
	Send(to Addr, svc Service, payload []byte) error
	Close() error
}

// Errors returned by transports; test with errors.Is.
var (
	ErrClosed     = errors.New("transport: closed")
	ErrQueueFull  = errors.New("transport: queue full")
	ErrTooLarge   = errors.New("transport: message too large")
	ErrBadService = errors.New("transport: invalid service")
	ErrBadAddr    = errors.New("transport: invalid address")
	ErrAddrInUse  = errors.New("transport: address in use")
	ErrMalformed  = errors.New("transport: malformed message")
)

// DefaultMaxPayload bounds one message's payload: large enough for a Raft
// snapshot chunk, small enough that one message cannot exhaust memory.
const DefaultMaxPayload = 16 << 20

// Check validates what every Send must: a non-empty destination, a valid
// service and a payload no larger than maxPayload. Implementations call it
// first so that all of them reject bad input the same way.
func Check(to Addr, svc Service, payload []byte, maxPayload int) error {
	if to == "" {
		return fmt.Errorf("transport: send: empty destination: %w", ErrBadAddr)
	}
	if svc == 0 {
		return fmt.Errorf("transport: send to %s: service 0: %w", to, ErrBadService)
	}
	if len(payload) > maxPayload {
		return fmt.Errorf("transport: send to %s: %d bytes > %d: %w", to, len(payload), maxPayload, ErrTooLarge)
	}
	return nil
}

// Stats counts a transport's traffic. Counters only grow.
type Stats struct {
	Sent      uint64 // messages accepted by Send
	Delivered uint64 // messages handed to a handler
	Dropped   uint64 // messages lost: queue full, fault injected, peer down, send error
	Bytes     uint64 // payload bytes accepted by Send
}

// StatsReporter is implemented by transports that count their traffic.
type StatsReporter interface {
	Stats() Stats
}
