// Package kvclient is the Go client of the key-value front (node/kvpb): it
// finds the Raft leader itself, follows leader hints, and retries what is
// safe to retry. Writes are exactly-once: each carries a session id and a
// sequence number that a retry reuses, so a write whose answer was lost is
// not applied twice.
package kvclient

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"sync"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/puddlestore/puddlestore/node/kvpb"
)

// Errors a caller can test with errors.Is.
var (
	ErrInvalid     = errors.New("kvclient: invalid request")
	ErrUnavailable = errors.New("kvclient: cluster unavailable")
	ErrNoAddrs     = errors.New("kvclient: no addresses")
)

// Client talks to one cluster. It is safe for concurrent use.
type Client struct {
	mu struct {
		sync.Mutex
		conns  map[string]*grpc.ClientConn // guarded by mu
		addrs  []string                    // guarded by mu; known client addresses
		leader string                      // guarded by mu; "" = unknown
		free   []*session                  // guarded by mu; idle write sessions
	}
}

// session is an exactly-once write stream: one request in flight at a time.
type session struct {
	id  uint64
	seq uint64
}

// Dial returns a client for the cluster reachable at addrs. It does not
// contact the cluster until the first request.
func Dial(addrs ...string) (*Client, error) {
	if len(addrs) == 0 {
		return nil, ErrNoAddrs
	}
	c := &Client{}
	c.mu.conns = map[string]*grpc.ClientConn{}
	c.mu.addrs = append([]string(nil), addrs...)
	return c, nil
}

// Close closes every connection.
func (c *Client) Close() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	var errs []error
	for _, cc := range c.mu.conns {
		errs = append(errs, cc.Close())
	}
	c.mu.conns = map[string]*grpc.ClientConn{}
	return errors.Join(errs...)
}

func (c *Client) conn(addr string) (kvpb.KVClient, error) {
	cc, err := c.grpcConn(addr)
	if err != nil {
		return nil, err
	}
	return kvpb.NewKVClient(cc), nil
}

func (c *Client) grpcConn(addr string) (*grpc.ClientConn, error) {
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

func (c *Client) takeSession() *session {
	c.mu.Lock()
	defer c.mu.Unlock()
	if n := len(c.mu.free); n > 0 {
		s := c.mu.free[n-1]
		c.mu.free = c.mu.free[:n-1]
		return s
	}
	var b [8]byte
	_, _ = rand.Read(b[:])
	return &session{id: binary.BigEndian.Uint64(b[:]) | 1}
}

func (c *Client) putSession(s *session) {
	c.mu.Lock()
	c.mu.free = append(c.mu.free, s)
	c.mu.Unlock()
}

// target returns the address to try: the known leader, else the next one.
func (c *Client) target(attempt int) string {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.mu.leader != "" {
		return c.mu.leader
	}
	return c.mu.addrs[attempt%len(c.mu.addrs)]
}

func (c *Client) noteLeader(addr string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.mu.leader = addr
	if addr == "" {
		return
	}
	for _, a := range c.mu.addrs {
		if a == addr {
			return
		}
	}
	c.mu.addrs = append(c.mu.addrs, addr)
}

// do runs call against the leader until it succeeds, fails for good, or
// ctx ends. call returns the response's error, if any.
func (c *Client) do(ctx context.Context, call func(context.Context, kvpb.KVClient, string) (*kvpb.Error, error)) error {
	backoff := 10 * time.Millisecond
	var last error
	for attempt := 0; ; attempt++ {
		addr := c.target(attempt)
		kc, err := c.conn(addr)
		if err != nil {
			return err
		}
		perr, err := call(ctx, kc, addr)
		switch {
		case err != nil:
			if ctx.Err() != nil {
				return fmt.Errorf("%w: %w (last error: %v)", ErrUnavailable, ctx.Err(), err)
			}
			last = err
			c.noteLeader("")
		case perr == nil || perr.Kind == kvpb.ErrorKind_OK:
			c.noteLeader(addr)
			return nil
		case perr.Kind == kvpb.ErrorKind_INVALID:
			return fmt.Errorf("%w: %s", ErrInvalid, perr.Message)
		case perr.Kind == kvpb.ErrorKind_NOT_LEADER && perr.LeaderHint != "" && perr.LeaderHint != addr:
			c.noteLeader(perr.LeaderHint)
			continue // go straight there
		default:
			last = errors.New(perr.Message)
			c.noteLeader("")
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%w: %w (last error: %v)", ErrUnavailable, ctx.Err(), last)
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, 500*time.Millisecond)
	}
}

// Put stores value under key, exactly once.
func (c *Client) Put(ctx context.Context, key string, value []byte) error {
	s := c.takeSession()
	defer c.putSession(s)
	s.seq++
	req := &kvpb.PutRequest{Key: key, Value: value, ClientId: s.id, Seq: s.seq}
	return c.do(ctx, func(ctx context.Context, kc kvpb.KVClient, _ string) (*kvpb.Error, error) {
		resp, err := kc.Put(ctx, req)
		if err != nil {
			return nil, err
		}
		return resp.Error, nil
	})
}

// Delete removes key, exactly once, and reports whether it existed.
func (c *Client) Delete(ctx context.Context, key string) (bool, error) {
	s := c.takeSession()
	defer c.putSession(s)
	s.seq++
	req := &kvpb.DeleteRequest{Key: key, ClientId: s.id, Seq: s.seq}
	var existed bool
	err := c.do(ctx, func(ctx context.Context, kc kvpb.KVClient, _ string) (*kvpb.Error, error) {
		resp, err := kc.Delete(ctx, req)
		if err != nil {
			return nil, err
		}
		existed = resp.Existed
		return resp.Error, nil
	})
	return existed, err
}

// Get reads key, linearizably.
func (c *Client) Get(ctx context.Context, key string) (value []byte, found bool, err error) {
	err = c.do(ctx, func(ctx context.Context, kc kvpb.KVClient, _ string) (*kvpb.Error, error) {
		resp, err := kc.Get(ctx, &kvpb.GetRequest{Key: key})
		if err != nil {
			return nil, err
		}
		value, found = resp.Value, resp.Found
		return resp.Error, nil
	})
	return value, found, err
}

// Status asks the node at addr for its state.
func (c *Client) Status(ctx context.Context, addr string) (*kvpb.StatusResponse, error) {
	kc, err := c.conn(addr)
	if err != nil {
		return nil, err
	}
	return kc.Status(ctx, &kvpb.StatusRequest{})
}

// Addrs returns the client addresses this client knows.
func (c *Client) Addrs() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]string(nil), c.mu.addrs...)
}
