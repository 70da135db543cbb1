package overlay

import (
	"context"
	crand "crypto/rand"
	"encoding/binary"
	"fmt"
	"log/slog"
	"time"

	"google.golang.org/grpc"

	"github.com/puddlestore/puddlestore/id"
	"github.com/puddlestore/puddlestore/transport"
	"github.com/puddlestore/puddlestore/transport/grpcnet"
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

// network is how a driver reaches its peers: its own grpcnet transport on
// listen (serving the admin service of admin, and register's services),
// or a transport shared with other services (tr, with its handler mux).
type network struct {
	listen   string
	register func(*grpc.Server)
	latency  transport.LatencyModel
	tr       transport.Transport
	mux      *transport.Mux
	log      *slog.Logger
}

// open returns the transport, its mux, and whether the driver owns (and
// closes) it; what names the config in errors.
func (nw network) open(ctx context.Context, what string, admin Admin) (transport.Transport, *transport.Mux, bool, error) {
	switch {
	case nw.tr != nil:
		if nw.mux == nil {
			return nil, nil, false, fmt.Errorf("%w: %s.Transport without its Mux", ErrInvalid, what)
		}
		return nw.tr, nw.mux, false, nil
	case nw.listen != "":
		mux := transport.NewMux()
		tr, err := grpcnet.Listen(ctx, grpcnet.Config{
			Listen: nw.listen, Handler: mux.Deliver, Latency: nw.latency, Logger: nw.log,
			Register: func(s *grpc.Server) {
				RegisterAdmin(s, func() Admin { return admin })
				if nw.register != nil {
					nw.register(s)
				}
			},
		})
		if err != nil {
			return nil, nil, false, fmt.Errorf("overlay: %w", err)
		}
		return tr, mux, true, nil
	}
	return nil, nil, false, fmt.Errorf("%w: %s needs Listen or Transport", ErrInvalid, what)
}

// randomize fills a zero id and a zero seed with random ones.
func randomize(x *id.ID, seed *uint64) error {
	if *x == (id.ID{}) {
		if _, err := crand.Read(x[:]); err != nil {
			return fmt.Errorf("overlay: random id: %w", err)
		}
	}
	if *seed == 0 {
		var b [8]byte
		_, _ = crand.Read(b[:]) // never fails (Go 1.24+)
		*seed = binary.LittleEndian.Uint64(b[:])
	}
	return nil
}
