package overlay

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/puddlestore/puddlestore/id"
	"github.com/puddlestore/puddlestore/transport"
)

// Kinds of overlay a node can run.
const (
	KindTapestry = "tapestry"
	KindChord    = "chord"
)

// Kinds lists the overlays, the default first.
var Kinds = []string{KindTapestry, KindChord}

// Options chooses an overlay and tunes it, for code that assembles a node
// (node.StartStorage): Start sets the id, transport, join address and
// logger of the chosen config.
type Options struct {
	// Kind is KindTapestry (the default when empty) or KindChord.
	Kind     string
	Tapestry TapestryConfig
	Chord    ChordConfig
}

// Check reports an unknown kind.
func (o Options) Check() error {
	switch o.Kind {
	case "", KindTapestry, KindChord:
		return nil
	}
	return fmt.Errorf("%w: overlay %q (want %s or %s)", ErrInvalid, o.Kind, KindTapestry, KindChord)
}

// WithTick sets the tick of both configs.
func (o Options) WithTick(d time.Duration) Options {
	o.Tapestry.Tick, o.Chord.Tick = d, d
	return o
}

// Start starts the chosen overlay as node x on a transport shared with
// other services (mux is its handler), joining the node at join (empty:
// a new mesh or ring).
func Start(ctx context.Context, o Options, x id.ID, tr transport.Transport, mux *transport.Mux, join transport.Addr, log *slog.Logger) (Admin, error) {
	if err := o.Check(); err != nil {
		return nil, err
	}
	if o.Kind == KindChord {
		c := o.Chord
		c.ID, c.Listen, c.Transport, c.Mux, c.Join, c.Logger = x, "", tr, mux, join, log
		return StartChord(ctx, c)
	}
	t := o.Tapestry
	t.ID, t.Listen, t.Transport, t.Mux, t.Join, t.Logger = x, "", tr, mux, join, log
	return StartTapestry(ctx, t)
}
