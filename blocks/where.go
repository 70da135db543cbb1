package blocks

import (
	"context"
	"errors"

	"github.com/puddlestore/puddlestore/blockstore"
	"github.com/puddlestore/puddlestore/overlay"
)

// Holding says whether a node holds a block durably, as it answered.
type Holding struct {
	Peer overlay.Peer
	Has  bool
	Err  error // the node could not be asked; Has is then false
}

// Where reports where ref is: the nodes that should hold it (its
// placement), and the holders the overlay locates, nearest first, each
// with whether it holds the block durably (one batched Has per node).
// Located is empty, not an error, when the overlay knows no holder.
func (s *Service) Where(ctx context.Context, ref blockstore.Ref) (placement, located []Holding, err error) {
	holders, err := s.placement(ctx, ref)
	if err != nil {
		return nil, nil, err
	}
	found, err := s.cfg.Overlay.Locate(ctx, keyOf(ref))
	if err != nil && !errors.Is(err, overlay.ErrNotFound) {
		return nil, nil, err
	}
	ask := func(ps []overlay.Peer) []Holding {
		out := make([]Holding, len(ps))
		done := make(chan struct{}, len(ps))
		for i, p := range ps {
			out[i].Peer = p
			go func() {
				defer func() { done <- struct{}{} }()
				out[i].Has, out[i].Err = s.holds(ctx, p, ref)
			}()
		}
		for range ps {
			<-done
		}
		return out
	}
	return ask(holders), ask(found), nil
}

// holds asks p whether it holds ref durably (this node: its own store).
func (s *Service) holds(ctx context.Context, p overlay.Peer, ref blockstore.Ref) (bool, error) {
	if p.ID == s.self.ID {
		return s.cfg.Store.Has(ctx, ref)
	}
	actx, cancel := context.WithTimeout(ctx, s.cfg.AttemptTimeout)
	defer cancel()
	has, err := s.cli.Has(actx, p.Addr, []blockstore.Ref{ref})
	if err != nil {
		return false, err
	}
	return has[0], nil
}
