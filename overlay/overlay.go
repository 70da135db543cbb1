package overlay

import (
	"context"
	"errors"
	"fmt"

	"github.com/puddlestore/puddlestore/id"
	"github.com/puddlestore/puddlestore/transport"
)

// Peer is a node of the overlay.
type Peer struct {
	ID   id.ID
	Addr transport.Addr
}

// Overlay maps keys to the nodes responsible for them and finds the nodes
// that hold an object. Its methods are safe for concurrent use.
type Overlay interface {
	// Self returns this node.
	Self() Peer
	// Responsible returns the nodes responsible for key: in Tapestry the
	// roots of the key and its salted keys, in salt order, without
	// duplicates; in Chord the successor list.
	Responsible(ctx context.Context, key id.ID) ([]Peer, error)
	// Publish announces that this node holds key and waits until the
	// responsible nodes acknowledge it. The announcement is kept up
	// (republished) until Unpublish, even when Publish returns an error.
	Publish(ctx context.Context, key id.ID) error
	// Unpublish withdraws the announcement.
	Unpublish(ctx context.Context, key id.ID) error
	// Locate returns nodes that hold key, nearest first, leaving out
	// those in exclude (found dead by the caller).
	Locate(ctx context.Context, key id.ID, exclude ...id.ID) ([]Peer, error)
	// Neighbours returns the nodes this node knows directly (Tapestry:
	// its routing table; Chord: fingers and successors), each once.
	// Layers above use them where the overlay names too few nodes, as
	// the block layer does in small clusters.
	Neighbours(ctx context.Context) ([]Peer, error)
	// Close leaves the overlay gracefully and stops the node.
	Close() error
}

// Errors returned by overlays; test with errors.Is.
var (
	// ErrNotFound: no node is known to hold the object.
	ErrNotFound = errors.New("overlay: not found")
	// ErrUnavailable: no answer in time (nodes on the way failed or are
	// slow, or ctx ended first), or the node cannot be reached. Retrying
	// later may succeed.
	ErrUnavailable = errors.New("overlay: unavailable")
	// ErrClosed: the node has left the overlay.
	ErrClosed = errors.New("overlay: closed")
	// ErrInvalid: a malformed request (a bad key or address).
	ErrInvalid = errors.New("overlay: invalid request")
)

// ctxErr reports why ctx ended: a deadline is ErrUnavailable (and still
// context.DeadlineExceeded), a cancellation only context.Canceled.
func ctxErr(ctx context.Context, what string) error {
	if errors.Is(ctx.Err(), context.DeadlineExceeded) {
		return fmt.Errorf("%w: %s: %w", ErrUnavailable, what, ctx.Err())
	}
	return fmt.Errorf("overlay: %s: %w", what, ctx.Err())
}
