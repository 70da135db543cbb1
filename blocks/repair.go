package blocks

import (
	"context"
	"errors"
	"time"

	"github.com/puddlestore/puddlestore/blockstore"
	"github.com/puddlestore/puddlestore/overlay"
	"github.com/puddlestore/puddlestore/transport"
)

// Status describes a Service.
type Status struct {
	Blocks, Bytes             int64 // durable blocks held here, and their bytes
	CachedBlocks, CachedBytes int64 // remote blocks in the cache
	// UnderReplicated: blocks held here that the last repair pass could
	// not bring to R verified holders (too few nodes, or holders that
	// did not answer).
	UnderReplicated int
	// UnderReplicatedPuts: Puts that found fewer than R nodes to place on.
	UnderReplicatedPuts int64
	// Repairs: copies stored on holders that lacked them, plus local
	// copies replaced after failing verification.
	Repairs int64
	// VerifyFailures: local blocks found damaged by reads or the scrub.
	VerifyFailures int64
	// Passes: repair passes completed.
	Passes int64
}

// Status returns the Service's counters.
func (s *Service) Status() Status {
	st := s.cfg.Store.Stats()
	out := Status{
		Blocks: st.Blocks, Bytes: st.Bytes,
		UnderReplicatedPuts: s.underPuts.Load(),
		Repairs:             s.repairs.Load(),
		VerifyFailures:      s.verifyFailures.Load(),
		Passes:              s.passes.Load(),
	}
	if s.cache != nil {
		out.CachedBlocks, out.CachedBytes = s.cache.stats()
	}
	s.mu.Lock()
	out.UnderReplicated = s.mu.under
	s.mu.Unlock()
	return out
}

func (s *Service) repairLoop() {
	t := time.NewTicker(s.cfg.RepairInterval)
	defer t.Stop()
	for {
		select {
		case <-s.base.Done():
			return
		case <-t.C:
			// A pass is bounded by the interval, so passes never pile up.
			ctx, cancel := context.WithTimeout(s.base, max(s.cfg.RepairInterval, 4*s.cfg.AttemptTimeout))
			if err := s.Repair(ctx); err != nil && s.base.Err() == nil {
				s.log.Warn("repair pass failed", "err", err)
			}
			cancel()
		}
	}
}

// Repair runs one pass over the blocks this node holds durably:
//
//  1. scrub: re-read and verify each block; a damaged one is fetched from
//     another holder and put again (the store rewrites it);
//  2. replicate: ask each node that places the block (batched Has, one
//     request per node) and Store it to those that lack it;
//  3. announce: publish every held block not yet published.
//
// It returns only errors that stopped the pass (the store failing, ctx
// ending); per-block failures are counted in Status.
func (s *Service) Repair(ctx context.Context) error {
	s.repairMu.Lock()
	defer s.repairMu.Unlock()
	var refs []blockstore.Ref
	if err := s.cfg.Store.Enumerate(ctx, func(ref blockstore.Ref, _ int64) error {
		refs = append(refs, ref)
		return nil
	}); err != nil {
		return err
	}

	s.scrub(ctx, refs)

	under := map[blockstore.Ref]bool{}
	want := map[transport.Addr][]blockstore.Ref{} // refs each other holder should have
	for _, ref := range refs {
		holders, err := s.placement(ctx, ref)
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			under[ref] = true
			continue
		}
		if len(holders) < s.cfg.Replicas {
			under[ref] = true
		}
		for _, h := range holders {
			if h.ID != s.self.ID {
				want[h.Addr] = append(want[h.Addr], ref)
			}
		}
	}
	for addr, rs := range want {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		s.replicateTo(ctx, addr, rs, under)
	}

	for _, ref := range refs {
		key := keyOf(ref)
		s.mu.Lock()
		done := s.mu.published[key]
		s.mu.Unlock()
		if !done {
			s.enqueue(pubOp{key: key})
		}
	}
	s.mu.Lock()
	s.mu.under = len(under)
	s.mu.Unlock()
	s.passes.Add(1)
	return nil
}

// replicateTo stores on addr those of refs it lacks; refs it could not
// make sure of are added to under.
func (s *Service) replicateTo(ctx context.Context, addr transport.Addr, refs []blockstore.Ref, under map[blockstore.Ref]bool) {
	hctx, cancel := context.WithTimeout(ctx, s.cfg.AttemptTimeout)
	have, err := s.cli.Has(hctx, addr, refs)
	cancel()
	if err != nil {
		s.log.Debug("repair: has failed", "peer", string(addr), "err", err)
		for _, r := range refs {
			under[r] = true
		}
		return
	}
	for i, ref := range refs {
		if have[i] {
			continue
		}
		data, err := s.cfg.Store.Get(ctx, ref)
		if err != nil { // damaged and not repaired by the scrub: nothing good to send
			under[ref] = true
			continue
		}
		sctx, cancel := context.WithTimeout(ctx, s.cfg.AttemptTimeout)
		err = s.cli.Store(sctx, addr, ref, data)
		cancel()
		if err != nil {
			s.log.Debug("repair: store failed", "peer", string(addr), "ref", ref.String()[:12], "err", err)
			under[ref] = true
			continue
		}
		s.repairs.Add(1)
		s.log.Info("repaired a replica", "peer", string(addr), "ref", ref.String()[:12])
	}
}

// scrub verifies every block in refs and replaces damaged ones with a
// verified copy from another node.
func (s *Service) scrub(ctx context.Context, refs []blockstore.Ref) {
	for _, ref := range refs {
		_, err := s.cfg.Store.Get(ctx, ref)
		if !errors.Is(err, blockstore.ErrCorrupt) {
			continue
		}
		s.verifyFailures.Add(1)
		data, err := s.fetchRemote(ctx, ref, false)
		if err != nil {
			s.log.Warn("scrub: no good copy of a damaged block", "ref", ref.String()[:12], "err", err)
			continue
		}
		if err := s.cfg.Store.Put(ctx, ref, data); err != nil {
			s.log.Warn("scrub: rewriting a damaged block", "ref", ref.String()[:12], "err", err)
			continue
		}
		s.repairs.Add(1)
		s.log.Info("scrub replaced a damaged block", "ref", ref.String()[:12])
	}
}

// HandOffStatus counts what HandOff did.
type HandOffStatus struct {
	Blocks int // durable blocks held here
	Copied int // copies stored on other nodes that lacked them
	// Failed: blocks not brought to R copies on other nodes (too few
	// nodes, or holders that did not answer); their copy here is still
	// needed.
	Failed int
}

// HandOff makes sure every block this node holds has R copies on other
// nodes, where placement puts them once this node is gone: the graceful
// hand-off of a node about to leave (puddle blocks drain). The node keeps
// serving and keeps its copies; stop it once Failed is 0. Without it, the
// other holders' repair restores R copies after the node has gone, which
// needs them to be alive (with R=1, nothing would).
func (s *Service) HandOff(ctx context.Context) (HandOffStatus, error) {
	s.repairMu.Lock()
	defer s.repairMu.Unlock()
	var refs []blockstore.Ref
	if err := s.cfg.Store.Enumerate(ctx, func(ref blockstore.Ref, _ int64) error {
		refs = append(refs, ref)
		return nil
	}); err != nil {
		return HandOffStatus{}, err
	}
	failed := map[blockstore.Ref]bool{}
	want := map[transport.Addr][]blockstore.Ref{}
	for _, ref := range refs {
		holders, err := s.placementWithout(ctx, ref, s.self.ID)
		if err != nil {
			if ctx.Err() != nil {
				return HandOffStatus{}, ctx.Err()
			}
			failed[ref] = true
			continue
		}
		if len(holders) < s.cfg.Replicas {
			failed[ref] = true
		}
		for _, h := range holders {
			want[h.Addr] = append(want[h.Addr], ref)
		}
	}
	before := s.repairs.Load()
	for addr, rs := range want {
		if ctx.Err() != nil {
			return HandOffStatus{}, ctx.Err()
		}
		s.replicateTo(ctx, addr, rs, failed)
	}
	return HandOffStatus{Blocks: len(refs), Copied: int(s.repairs.Load() - before), Failed: len(failed)}, nil
}

// Placement returns the nodes that should hold ref (at most R), as Put
// and Repair compute it.
func (s *Service) Placement(ctx context.Context, ref blockstore.Ref) ([]overlay.Peer, error) {
	return s.placement(ctx, ref)
}

// Self returns this node's overlay identity.
func (s *Service) Self() overlay.Peer { return s.self }
