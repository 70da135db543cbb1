package client

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/puddlestore/puddlestore/blocks"
	"github.com/puddlestore/puddlestore/blockstore"
	"github.com/puddlestore/puddlestore/meta"
)

// storage puts and gets blocks through the cluster's storage nodes (their
// gRPC block service), which it finds in the metadata registry. Calls are
// spread over the nodes round-robin; a node that does not answer is
// skipped for the next one. Safe for concurrent use.
type storage struct {
	meta *Meta
	next atomic.Uint64
	mu   struct {
		sync.Mutex
		remotes map[string]*blocks.Remote // by address, guarded by mu
		addrs   []string                  // storage nodes, guarded by mu
	}
}

func newStorage(m *Meta) *storage {
	s := &storage{meta: m}
	s.mu.remotes = map[string]*blocks.Remote{}
	return s
}

// refresh reads the storage nodes from the registry.
func (s *storage) refresh(ctx context.Context) error {
	nodes, err := s.meta.Nodes(ctx)
	if err != nil {
		return err
	}
	var addrs []string
	for _, n := range nodes {
		if n.Roles&meta.RoleBlocks != 0 {
			addrs = append(addrs, n.Addr)
		}
	}
	if len(addrs) == 0 {
		return fmt.Errorf("%w: the cluster has no storage nodes registered", ErrUnavailable)
	}
	s.mu.Lock()
	s.mu.addrs = addrs
	s.mu.Unlock()
	return nil
}

// nodes returns the storage nodes to try, starting at the next in turn.
func (s *storage) nodes(ctx context.Context) ([]*blocks.Remote, error) {
	s.mu.Lock()
	empty := len(s.mu.addrs) == 0
	s.mu.Unlock()
	if empty {
		if err := s.refresh(ctx); err != nil {
			return nil, err
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	start := int(s.next.Add(1))
	out := make([]*blocks.Remote, 0, len(s.mu.addrs))
	for i := range s.mu.addrs {
		a := s.mu.addrs[(start+i)%len(s.mu.addrs)]
		r, ok := s.mu.remotes[a]
		if !ok {
			var err error
			if r, err = blocks.Dial(a); err != nil {
				return nil, err
			}
			s.mu.remotes[a] = r
		}
		out = append(out, r)
	}
	return out, nil
}

// try runs f on the storage nodes in turn until one does not fail with
// Unavailable; a NotFound, Corrupt or Invalid answer is final.
func (s *storage) try(ctx context.Context, f func(r *blocks.Remote) error) error {
	rs, err := s.nodes(ctx)
	if err != nil {
		return err
	}
	var errs []error
	for _, r := range rs {
		err := f(r)
		if err == nil || !errors.Is(err, blocks.ErrUnavailable) || ctx.Err() != nil {
			return err
		}
		errs = append(errs, err)
	}
	_ = s.refresh(ctx) // the membership may have changed
	return fmt.Errorf("%w: no storage node answered: %w", ErrUnavailable, errors.Join(errs...))
}

// Put stores data as a block and returns its ref.
func (s *storage) Put(ctx context.Context, data []byte) (ref blockstore.Ref, err error) {
	defer observe("block_put", time.Now(), &err)
	err = s.try(ctx, func(r *blocks.Remote) error {
		ref, err = r.Put(ctx, data)
		return err
	})
	return ref, err
}

// Get returns the block ref, verified.
func (s *storage) Get(ctx context.Context, ref blockstore.Ref) (data []byte, err error) {
	defer observe("block_get", time.Now(), &err)
	err = s.try(ctx, func(r *blocks.Remote) error {
		data, err = r.Get(ctx, ref)
		return err
	})
	return data, err
}

// Close closes the connections to the storage nodes.
func (s *storage) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	var errs []error
	for _, r := range s.mu.remotes {
		errs = append(errs, r.Close())
	}
	s.mu.remotes = map[string]*blocks.Remote{}
	return errors.Join(errs...)
}
