// Package kvclient is the Go client of the key-value front (node/kvpb): it
// finds the Raft leader itself, follows leader hints, and retries what is
// safe to retry. Writes are exactly-once: each carries a session id and a
// sequence number that a retry reuses, so a write whose answer was lost is
// not applied twice.
package kvclient

import (
	"context"
	"errors"
	"fmt"

	"google.golang.org/grpc"

	"github.com/puddlestore/puddlestore/node/follow"
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
	cl       *follow.Cluster
	sessions follow.Sessions
}

// Dial returns a client for the cluster reachable at addrs. It does not
// contact the cluster until the first request.
func Dial(addrs ...string) (*Client, error) {
	if len(addrs) == 0 {
		return nil, ErrNoAddrs
	}
	cl, err := follow.New(ErrUnavailable, addrs...)
	if err != nil {
		return nil, err
	}
	return &Client{cl: cl}, nil
}

// Close closes every connection.
func (c *Client) Close() error { return c.cl.Close() }

func (c *Client) conn(addr string) (kvpb.KVClient, error) {
	cc, err := c.cl.Conn(addr)
	if err != nil {
		return nil, err
	}
	return kvpb.NewKVClient(cc), nil
}

// do runs call against the leader until it succeeds, fails for good, or
// ctx ends. call returns the response's error, if any.
func (c *Client) do(ctx context.Context, call func(context.Context, kvpb.KVClient, string) (*kvpb.Error, error)) error {
	return c.cl.Do(ctx, func(ctx context.Context, cc *grpc.ClientConn, addr string) (follow.Verdict, error) {
		perr, err := call(ctx, kvpb.NewKVClient(cc), addr)
		switch {
		case err != nil:
			return follow.Verdict{}, err
		case perr == nil || perr.Kind == kvpb.ErrorKind_OK:
			return follow.Done(), nil
		case perr.Kind == kvpb.ErrorKind_INVALID:
			return follow.Final(fmt.Errorf("%w: %s", ErrInvalid, perr.Message)), nil
		case perr.Kind == kvpb.ErrorKind_NOT_LEADER:
			return follow.NotLeader(perr.LeaderHint, errors.New(perr.Message)), nil
		}
		return follow.Retry(errors.New(perr.Message)), nil
	})
}

// Put stores value under key, exactly once.
func (c *Client) Put(ctx context.Context, key string, value []byte) error {
	s := c.sessions.Take()
	defer c.sessions.Put(s)
	s.Seq++
	req := &kvpb.PutRequest{Key: key, Value: value, ClientId: s.ID, Seq: s.Seq}
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
	s := c.sessions.Take()
	defer c.sessions.Put(s)
	s.Seq++
	req := &kvpb.DeleteRequest{Key: key, ClientId: s.ID, Seq: s.Seq}
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
func (c *Client) Addrs() []string { return c.cl.Addrs() }
