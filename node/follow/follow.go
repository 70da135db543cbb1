// Package follow is the part of a Raft cluster's clients that finds the
// leader: it keeps one gRPC connection per node, sends each request to
// the node it believes leads, follows leader hints, and retries with
// backoff what the caller says is safe to retry. kvclient and the file
// system's client are built on it.
package follow

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
)

// ErrNoAddrs: a cluster needs at least one address.
var ErrNoAddrs = errors.New("follow: no addresses")

// Verdict is what one attempt of a request came to.
type Verdict struct {
	kind verdictKind
	err  error
	hint string
}

type verdictKind uint8

const (
	kindDone verdictKind = iota
	kindFinal
	kindRedirect
	kindRetry
)

// Done: the request succeeded; the node that answered is the leader (or
// served a read it may serve).
func Done() Verdict { return Verdict{kind: kindDone} }

// Final: the request failed for good (bad input, a definitive answer);
// err is returned as it is.
func Final(err error) Verdict { return Verdict{kind: kindFinal, err: err} }

// NotLeader: the node does not lead; hint, if known, is the leader's
// address. err is kept as the last error, should the retries run out.
func NotLeader(hint string, err error) Verdict {
	return Verdict{kind: kindRedirect, hint: hint, err: err}
}

// Retry: the attempt failed in a way that is safe to retry (no leader,
// a timeout, a dropped proposal), after backoff, on another node.
func Retry(err error) Verdict { return Verdict{kind: kindRetry, err: err} }

// Cluster is a client's view of one cluster. Safe for concurrent use.
type Cluster struct {
	// Patience overrides DefaultPatience when positive. Set it before the
	// first request.
	Patience time.Duration

	unavailable error // wrapped into the error of a request that ran out of time
	mu          struct {
		sync.Mutex
		conns  map[string]*grpc.ClientConn // guarded by mu
		addrs  []string                    // guarded by mu; known client addresses
		leader string                      // guarded by mu; "" = unknown
	}
}

// New returns a Cluster reachable at addrs. A request that runs out of
// time fails with an error wrapping unavailable (the caller's sentinel)
// and the context's error. It does not connect until the first request.
func New(unavailable error, addrs ...string) (*Cluster, error) {
	if len(addrs) == 0 {
		return nil, ErrNoAddrs
	}
	c := &Cluster{unavailable: unavailable}
	c.mu.conns = map[string]*grpc.ClientConn{}
	c.mu.addrs = slices.Clone(addrs)
	return c, nil
}

// Close closes every connection.
func (c *Cluster) Close() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	var errs []error
	for _, cc := range c.mu.conns {
		errs = append(errs, cc.Close())
	}
	c.mu.conns = map[string]*grpc.ClientConn{}
	return errors.Join(errs...)
}

// Conn returns the connection to addr, made on first use.
func (c *Cluster) Conn(addr string) (*grpc.ClientConn, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	cc, ok := c.mu.conns[addr]
	if !ok {
		var err error
		cc, err = grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
		if err != nil {
			return nil, err
		}
		c.mu.conns[addr] = cc
	}
	return cc, nil
}

// Addrs returns the client addresses this client knows.
func (c *Cluster) Addrs() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.mu.addrs)
}

// target returns the address to try: the known leader, else the next one.
func (c *Cluster) target(attempt int) string {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.mu.leader != "" {
		return c.mu.leader
	}
	return c.mu.addrs[attempt%len(c.mu.addrs)]
}

func (c *Cluster) noteLeader(addr string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.mu.leader = addr
	if addr != "" && !slices.Contains(c.mu.addrs, addr) {
		c.mu.addrs = append(c.mu.addrs, addr)
	}
}

// DefaultPatience is how long Do keeps trying while no node answers at
// all (a cluster that is down, or a wrong address), before it fails with
// the unavailable error rather than waiting for the caller's deadline. A
// node that answers, even "not the leader", resets it; elections take
// about a second.
const DefaultPatience = 10 * time.Second

// Do runs call against the leader until it is Done or Final, or ctx
// ends, or no node has answered for its patience. call returns an error for
// a failed RPC (the node is unreachable: retried elsewhere) and otherwise
// its verdict on the reply.
func (c *Cluster) Do(ctx context.Context, call func(ctx context.Context, cc *grpc.ClientConn, addr string) (Verdict, error)) error {
	backoff := 10 * time.Millisecond
	var last error
	var silentSince time.Time // since when no node has answered
	patience := DefaultPatience
	if c.Patience > 0 {
		patience = c.Patience
	}
	for attempt := 0; ; attempt++ {
		addr := c.target(attempt)
		cc, err := c.Conn(addr)
		if err != nil {
			return err
		}
		v, err := call(ctx, cc, addr)
		if err == nil {
			silentSince = time.Time{}
		}
		switch {
		case err != nil:
			if ctx.Err() != nil {
				return fmt.Errorf("%w: %w (last error: %v)", c.unavailable, ctx.Err(), err)
			}
			if silentSince.IsZero() {
				silentSince = time.Now()
			} else if time.Since(silentSince) > patience {
				return fmt.Errorf("%w: no node of %v answered for %v (last error: %v)", c.unavailable, c.Addrs(), patience, err)
			}
			last = err
			c.noteLeader("")
		case v.kind == kindDone:
			c.noteLeader(addr)
			return nil
		case v.kind == kindFinal:
			return v.err
		case v.kind == kindRedirect && v.hint != "" && v.hint != addr:
			c.noteLeader(v.hint)
			continue // go straight there
		default:
			last = v.err
			c.noteLeader("")
		}
		t := time.NewTimer(backoff)
		select {
		case <-ctx.Done():
			t.Stop()
			return fmt.Errorf("%w: %w (last error: %v)", c.unavailable, ctx.Err(), last)
		case <-t.C:
		}
		backoff = min(2*backoff, 500*time.Millisecond)
	}
}

// Session is an exactly-once write stream (the Raft thesis §6.3): a
// random client id and the sequence number of its last command. One
// command is in flight per session; a retry reuses the number.
type Session struct {
	ID, Seq uint64
}

// Sessions is a pool of idle sessions, so that concurrent writers each
// hold one and a session's numbers stay in order. Safe for concurrent use.
type Sessions struct {
	mu   sync.Mutex
	free []*Session // guarded by mu
}

// Take returns an idle session, or a new one with a random id.
func (p *Sessions) Take() *Session {
	p.mu.Lock()
	defer p.mu.Unlock()
	if n := len(p.free); n > 0 {
		s := p.free[n-1]
		p.free = p.free[:n-1]
		return s
	}
	var b [8]byte
	_, _ = rand.Read(b[:]) // never fails (Go 1.24+)
	return &Session{ID: binary.BigEndian.Uint64(b[:]) | 1}
}

// Put returns a session to the pool once its command has an answer.
func (p *Sessions) Put(s *Session) {
	p.mu.Lock()
	p.free = append(p.free, s)
	p.mu.Unlock()
}
