package blocks

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/puddlestore/puddlestore/blockstore"
	"github.com/puddlestore/puddlestore/id"
	"github.com/puddlestore/puddlestore/overlay"
)

// Get returns the block's bytes, verified against ref: from the local
// store, else the cache, else from the holders the overlay locates
// (nearest first), falling back to the nodes that place ref. A remote
// block is cached and its cached copy published. A local copy found
// damaged is left for the scrub to repair; the read is served remotely.
func (s *Service) Get(ctx context.Context, ref blockstore.Ref) ([]byte, error) {
	data, err := s.cfg.Store.Get(ctx, ref)
	switch {
	case err == nil:
		return data, nil
	case errors.Is(err, blockstore.ErrCorrupt):
		s.verifyFailures.Add(1)
		s.log.Warn("local block damaged; reading a replica", "ref", ref.String()[:12])
		return s.fetchRemote(ctx, ref, false)
	case !errors.Is(err, blockstore.ErrNotFound):
		return nil, fmt.Errorf("blocks: get %s: %w", ref.String()[:12], err)
	}
	if s.cache != nil {
		if data, ok := s.cache.lookup(ref); ok {
			return slices.Clone(data), nil
		}
	}
	return s.fetchRemote(ctx, ref, s.cache != nil)
}

// GetRange returns up to n bytes from off of the block. A block not held
// here is fetched whole, so that every byte is verified, and cached.
func (s *Service) GetRange(ctx context.Context, ref blockstore.Ref, off, n int64) ([]byte, error) {
	data, err := s.cfg.Store.GetRange(ctx, ref, off, n)
	if err == nil || errors.Is(err, blockstore.ErrInvalid) {
		return data, err
	}
	if s.cache != nil {
		if data, ok := s.cache.lookup(ref); ok {
			part, err := sliceRange(ref, data, off, n)
			return slices.Clone(part), err
		}
	}
	data, err = s.Get(ctx, ref)
	if err != nil {
		return nil, err
	}
	return sliceRange(ref, data, off, n)
}

// fetchRemote reads ref from other nodes and, with cache, caches and
// publishes it. While no holder can be reached (not: every holder asked
// says it lacks the block), it tries again (retrying).
func (s *Service) fetchRemote(ctx context.Context, ref blockstore.Ref, cache bool) (data []byte, err error) {
	err = s.retrying(ctx, ref, func() error {
		data, err = s.fetchOnce(ctx, ref, cache)
		return err
	})
	return data, err
}

// retrying runs f until it succeeds or fails otherwise than Unavailable,
// with backoff (100ms doubling to 1s), for up to RetryFor. Right after
// nodes die, overlay routes through them are lost until the failure is
// detected and routed around; reads and writes wait that out.
func (s *Service) retrying(ctx context.Context, ref blockstore.Ref, f func() error) error {
	var until time.Time
	wait := 100 * time.Millisecond
	for {
		err := f()
		if err == nil || !errors.Is(err, ErrUnavailable) || s.cfg.RetryFor < 0 || ctx.Err() != nil {
			return err
		}
		if until.IsZero() {
			until = time.Now().Add(s.cfg.RetryFor)
		}
		if time.Now().Add(wait).After(until) {
			return err
		}
		s.log.Debug("no holder reachable; retrying", "ref", ref.String()[:12], "in", wait, "err", err)
		t := time.NewTimer(wait)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			return err
		case <-s.base.Done():
			t.Stop()
			return err
		}
		wait = min(2*wait, time.Second)
	}
}

// lastResortPeers bounds the known nodes a read asks when neither the
// located holders nor the placement have the block.
const lastResortPeers = 8

// fetchOnce is one attempt of fetchRemote: the located holders, then the
// placement, then the known nodes nearest the key.
func (s *Service) fetchOnce(ctx context.Context, ref blockstore.Ref, cache bool) ([]byte, error) {
	key := keyOf(ref)
	tried := []id.ID{s.self.ID}
	var errs []error
	// Located holders first (nearest first); then the placement, which
	// names the holders even before their publishes have landed.
	lctx, cancel := context.WithTimeout(ctx, s.cfg.AttemptTimeout)
	located, err := s.cfg.Overlay.Locate(lctx, key, s.self.ID)
	cancel()
	if err != nil && !errors.Is(err, overlay.ErrNotFound) {
		errs = append(errs, err)
	}
	data, tried, err := s.fetchHedged(ctx, ref, located, tried)
	if err != nil {
		errs = append(errs, err)
		holders, perr := s.placement(ctx, ref)
		if perr != nil {
			errs = append(errs, perr)
		} else {
			data, tried, err = s.fetchHedged(ctx, ref, holders, tried)
			if err != nil {
				errs = append(errs, err)
			}
		}
	}
	if data == nil && s.cfg.Peers != nil {
		// Last, the known nodes nearest the key: right after the
		// membership changed, a block put moments before may be on
		// holders that today's placement no longer names, before their
		// publishes have landed (or before repair has moved it).
		known := s.cfg.Peers()
		slices.SortFunc(known, func(a, b overlay.Peer) int { return xorCmp(key, a.ID, b.ID) })
		data, _, err = s.fetchHedged(ctx, ref, known[:min(len(known), lastResortPeers)], tried)
		if err != nil {
			errs = append(errs, err)
		}
	}
	if data == nil {
		if ctx.Err() != nil {
			return nil, fmt.Errorf("%w: get %s: %w", ErrUnavailable, ref.String()[:12], ctx.Err())
		}
		return nil, fmt.Errorf("blocks: get %s: %w", ref.String()[:12], summarize(errs))
	}
	if cache {
		added, evicted := s.cache.add(ref, data)
		if added {
			s.enqueue(pubOp{key: key})
		}
		for _, r := range evicted {
			s.enqueue(pubOp{key: keyOf(r), unpublish: true})
		}
		data = slices.Clone(data) // the cache's copy is shared with the server
	}
	return data, nil
}

// summarize makes one error of the failed attempts: ErrNotFound when
// every attempt said so (or there was no one to ask), else ErrUnavailable
// or ErrCorrupt, wrapping them all.
func summarize(errs []error) error {
	notFound := true
	for _, e := range errs {
		notFound = notFound && (errors.Is(e, ErrNotFound) || errors.Is(e, overlay.ErrNotFound))
	}
	all := attempts(errs)
	switch {
	case notFound:
		// Which nodes lacked it is noise to the reader of the error.
		return fmt.Errorf("%w: no node asked has it", ErrNotFound)
	case errors.Is(all, ErrCorrupt) && !errors.Is(all, ErrUnavailable):
		return fmt.Errorf("%w: %w", ErrCorrupt, all)
	}
	return fmt.Errorf("%w: %w", ErrUnavailable, all)
}

// attempts is the errors of several attempts, on one line.
type attempts []error

func (a attempts) Error() string {
	msgs := make([]string, len(a))
	for i, e := range a {
		msgs[i] = e.Error()
	}
	return strings.Join(msgs, "; ")
}

func (a attempts) Unwrap() []error { return a }

type fetchResult struct {
	data []byte
	err  error
}

// fetchHedged asks the candidates not in tried, one at a time: the next is
// asked when the previous fails, or also when it has not answered within
// HedgeDelay. The first verified answer wins; the others are cancelled.
// It returns tried with the candidates it asked added.
func (s *Service) fetchHedged(ctx context.Context, ref blockstore.Ref, cands []overlay.Peer, tried []id.ID) ([]byte, []id.ID, error) {
	var todo []overlay.Peer
	for _, p := range cands {
		if !slices.Contains(tried, p.ID) {
			todo = append(todo, p)
			tried = append(tried, p.ID)
		}
	}
	if len(todo) == 0 {
		return nil, tried, fmt.Errorf("%w: no other holder", ErrNotFound)
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel() // ends the attempts still running
	results := make(chan fetchResult, len(todo))
	next, running := 0, 0
	launch := func() {
		p := todo[next]
		next++
		running++
		go func() {
			actx, acancel := context.WithTimeout(ctx, s.cfg.AttemptTimeout)
			defer acancel()
			data, err := s.cli.Fetch(actx, p.Addr, ref)
			results <- fetchResult{data, err}
		}()
	}
	launch()
	hedge := time.NewTimer(s.cfg.HedgeDelay)
	defer hedge.Stop()
	var errs []error
	for running > 0 {
		select {
		case r := <-results:
			running--
			if r.err == nil {
				return r.data, tried, nil
			}
			errs = append(errs, r.err)
			if next < len(todo) {
				launch()
				hedge.Reset(s.cfg.HedgeDelay)
			}
		case <-hedge.C:
			if next < len(todo) {
				launch()
				hedge.Reset(s.cfg.HedgeDelay)
			}
		case <-ctx.Done():
			return nil, tried, fmt.Errorf("%w: %w", ErrUnavailable, ctx.Err())
		}
	}
	return nil, tried, summarize(errs)
}
