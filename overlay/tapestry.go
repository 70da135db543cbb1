package overlay

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"google.golang.org/grpc"

	"github.com/puddlestore/puddlestore/id"
	"github.com/puddlestore/puddlestore/tapestry"
	"github.com/puddlestore/puddlestore/transport"
)

// TapestryConfig configures a Tapestry node. Timeouts of the core are in
// ticks; Tick says how long one is.
type TapestryConfig struct {
	// ID of the node; zero picks a random one.
	ID id.ID

	// Listen is where the node serves, with gRPC (grpcnet), when
	// Transport is nil: "host:port", port 0 picks a free one. The node
	// owns that transport, serves the admin service (overlay/overlaypb)
	// on the same port, and closes it on Close.
	Listen string
	// Register, with Listen, adds further gRPC services to the node's
	// port.
	Register func(*grpc.Server)
	// Latency, with Listen, delays outgoing messages (grpcnet.Config).
	Latency transport.LatencyModel

	// Transport, when set, is used instead of Listen and not closed by
	// the node. Mux must then be the transport's handler: the node
	// registers for transport.ServiceTapestry on it.
	Transport transport.Transport
	Mux       *transport.Mux

	// Join is the address of any node of the mesh to join; empty starts a
	// new mesh.
	Join transport.Addr

	// Tick is the length of the core's tick (default 100ms).
	Tick time.Duration
	// Core knobs, in ticks; zero takes the core's defaults (see
	// tapestry.Config): HeartbeatTicks 10, FailureTicks 5 heartbeats,
	// RepublishTicks 300, RequestTicks 20, MaintainTicks 10 heartbeats.
	HeartbeatTicks, FailureTicks, RepublishTicks, RequestTicks, MaintainTicks int
	// SlotSize: neighbours per routing-table slot (default
	// tapestry.DefaultSlotSize).
	SlotSize int
	// Salts is k, the number of roots per object (default DefaultSalts).
	Salts int
	// Seed of the core's randomness; zero picks one.
	Seed uint64
	// LeaveGrace is how long Close keeps an owned transport open after
	// the leave messages are queued, so that they go out before the
	// transport drops its queues (default 200ms; negative: not at all).
	LeaveGrace time.Duration
	// Logger; nil discards.
	Logger *slog.Logger
}

// DefaultSalts is the default TapestryConfig.Salts.
const DefaultSalts = 3

// Tapestry is a node of a Tapestry mesh: one goroutine (the loop) owns the
// pure core, ticks it, steps the messages the transport delivers, starts
// local requests and routes their results back to the callers. It
// implements Overlay.
type Tapestry struct {
	*loop[tapestry.Message, tapestry.Result]
	cfg       TapestryConfig
	log       *slog.Logger
	tr        transport.Transport
	ownTr     bool
	mux       *transport.Mux
	self      Peer
	closeOnce sync.Once
	dropped   atomic.Uint64 // incoming messages dropped: malformed or the loop behind

	// Owned by the loop.
	node  *tapestry.Node
	pings pings
}

var _ Overlay = (*Tapestry)(nil)

// StartTapestry starts a node and, with cfg.Join, waits until it has
// joined the mesh (or ctx ends).
func StartTapestry(ctx context.Context, cfg TapestryConfig) (*Tapestry, error) {
	if cfg.Tick <= 0 {
		cfg.Tick = 100 * time.Millisecond
	}
	if cfg.Salts <= 0 {
		cfg.Salts = DefaultSalts
	}
	if cfg.LeaveGrace == 0 {
		cfg.LeaveGrace = 200 * time.Millisecond
	}
	if err := randomize(&cfg.ID, &cfg.Seed); err != nil {
		return nil, err
	}
	t := &Tapestry{
		cfg:   cfg,
		log:   cfg.Logger,
		pings: newPings(),
		loop: newLoop[tapestry.Message](cfg.Tick, func(req uint64, err error) tapestry.Result {
			return tapestry.Result{Req: req, Err: err}
		}),
	}
	t.loop.core = t
	if t.log == nil {
		t.log = slog.New(slog.DiscardHandler)
	}
	nw := network{listen: cfg.Listen, register: cfg.Register, latency: cfg.Latency, tr: cfg.Transport, mux: cfg.Mux, log: cfg.Logger}
	var err error
	if t.tr, t.mux, t.ownTr, err = nw.open(ctx, "TapestryConfig", t); err != nil {
		return nil, err
	}
	if t.ownTr {
		t.loop.grace = cfg.LeaveGrace
	}
	t.self = Peer{ID: cfg.ID, Addr: t.tr.Addr()}
	n, err := tapestry.New(tapestry.Config{
		ID: cfg.ID, Addr: t.tr.Addr(), SlotSize: cfg.SlotSize, Salts: cfg.Salts,
		HeartbeatTicks: cfg.HeartbeatTicks, FailureTicks: cfg.FailureTicks,
		RepublishTicks: cfg.RepublishTicks, RequestTicks: cfg.RequestTicks, MaintainTicks: cfg.MaintainTicks,
		Seed: cfg.Seed,
	})
	if err != nil {
		t.abort()
		return nil, fmt.Errorf("%w: %w", ErrInvalid, err)
	}
	t.node = n
	if cfg.Join == "" {
		if err := n.Bootstrap(); err != nil {
			t.abort()
			return nil, fmt.Errorf("overlay: %w", err)
		}
	}
	t.mux.Handle(transport.ServiceTapestry, t.deliver)
	go t.run()
	if cfg.Join != "" {
		r, err := t.do(ctx, "join", func(n *tapestry.Node, req uint64) (bool, error) {
			return true, n.Join(req, cfg.Join)
		})
		if err == nil {
			err = r.Err
		}
		if err != nil {
			t.shutdown(false)
			return nil, coreErr(err, fmt.Sprintf("%s joining via %s", cfg.ID.Short(8), cfg.Join))
		}
	}
	t.log.Info("tapestry node joined", "id", cfg.ID.String(), "addr", string(t.self.Addr))
	return t, nil
}

// deliver is the transport's handler for ServiceTapestry: it decodes the
// message on the transport's goroutine and hands it to the loop, never
// blocking (a full inbox drops it).
func (t *Tapestry) deliver(from transport.Addr, payload []byte) {
	var m tapestry.Message
	if err := m.Unmarshal(payload); err != nil {
		t.dropped.Add(1)
		t.log.Debug("dropped a malformed tapestry message", "from", string(from), "err", err)
		return
	}
	if !t.offer(m) {
		t.dropped.Add(1)
	}
}

// do runs start on the loop with the core and a fresh req, and waits for
// its result.
func (t *Tapestry) do(ctx context.Context, what string, start func(n *tapestry.Node, req uint64) (bool, error)) (tapestry.Result, error) {
	return t.loop.do(ctx, what, func(req uint64) (bool, error) { return start(t.node, req) })
}

// inspect runs f on the loop and waits; it reports false when the node is
// closed.
func (t *Tapestry) inspect(f func(n *tapestry.Node)) bool {
	return t.loop.inspect(func() { f(t.node) })
}

// coreErr maps the core's errors to the overlay's; what says which call
// failed.
func coreErr(err error, what string) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, tapestry.ErrNotFound):
		return fmt.Errorf("%w: %s", ErrNotFound, what)
	case errors.Is(err, tapestry.ErrTimeout):
		return fmt.Errorf("%w: %s: %w", ErrUnavailable, what, err)
	case errors.Is(err, tapestry.ErrLeft):
		return fmt.Errorf("%w: %s", ErrClosed, what)
	}
	return fmt.Errorf("overlay: %s: %w", what, err)
}

func peers(es []tapestry.Entry) []Peer {
	out := make([]Peer, len(es))
	for i, e := range es {
		out[i] = Peer{ID: e.ID, Addr: e.Addr}
	}
	return out
}

// Self returns this node.
func (t *Tapestry) Self() Peer { return t.self }

// Publish announces that this node holds key and waits until every root
// (of key and its salted keys) has acknowledged. On ErrUnavailable the
// announcement stands and is republished every RepublishTicks.
func (t *Tapestry) Publish(ctx context.Context, key id.ID) error {
	what := "publish " + key.Short(8)
	r, err := t.do(ctx, what, func(n *tapestry.Node, req uint64) (bool, error) {
		n.Publish(req, key)
		return true, nil
	})
	if err != nil {
		return err
	}
	if r.Err != nil {
		return coreErr(r.Err, what)
	}
	return nil
}

// Unpublish withdraws this node's announcement of key. It does not wait
// for the roots.
func (t *Tapestry) Unpublish(ctx context.Context, key id.ID) error {
	_, err := t.do(ctx, "unpublish "+key.Short(8), func(n *tapestry.Node, _ uint64) (bool, error) {
		n.Unpublish(key)
		return false, nil
	})
	return err
}

// Locate returns holders of key, nearest first, leaving out exclude.
func (t *Tapestry) Locate(ctx context.Context, key id.ID, exclude ...id.ID) ([]Peer, error) {
	what := "locate " + key.Short(8)
	exclude = slices.Clone(exclude)
	r, err := t.do(ctx, what, func(n *tapestry.Node, req uint64) (bool, error) {
		n.Locate(req, key, exclude)
		return true, nil
	})
	if err == nil && r.Err != nil {
		err = coreErr(r.Err, what)
	}
	if err != nil {
		observeLookup(KindTapestry, t.self, "locate", -1, err)
		return nil, err
	}
	return peers(r.Holders), nil
}

// Route traces the route from this node to key's root: every hop, this
// node first, the root last.
func (t *Tapestry) Route(ctx context.Context, key id.ID) ([]Peer, error) {
	what := "route " + key.Short(8)
	r, err := t.do(ctx, what, func(n *tapestry.Node, req uint64) (bool, error) {
		n.Route(req, key)
		return true, nil
	})
	if err == nil && r.Err != nil {
		err = coreErr(r.Err, what)
	}
	if err == nil && len(r.Path) == 0 {
		err = fmt.Errorf("%w: %s: empty path", ErrUnavailable, what)
	}
	observeLookup(KindTapestry, t.self, "route", len(r.Path)-1, err)
	if err != nil {
		return nil, err
	}
	return peers(r.Path), nil
}

// Responsible returns the roots of key and its salted keys
// (tapestry.SaltedKeys), in salt order, without duplicates. The routes are
// traced concurrently.
func (t *Tapestry) Responsible(ctx context.Context, key id.ID) ([]Peer, error) {
	keys := tapestry.SaltedKeys(key, t.cfg.Salts)
	roots := make([]Peer, len(keys))
	errs := make([]error, len(keys))
	var wg sync.WaitGroup
	for i, k := range keys {
		wg.Go(func() {
			path, err := t.Route(ctx, k)
			if err != nil {
				errs[i] = err
				return
			}
			roots[i] = path[len(path)-1]
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	var out []Peer
	for _, p := range roots {
		if !slices.Contains(out, p) {
			out = append(out, p)
		}
	}
	return out, nil
}

// Close leaves the mesh gracefully (the core tells its neighbours and
// hands over the pointers it was root for) and stops the node; pending
// calls fail with ErrClosed. It closes the transport if the node opened
// it.
func (t *Tapestry) Close() error {
	t.shutdown(true)
	return nil
}

func (t *Tapestry) shutdown(leave bool) {
	t.closeOnce.Do(func() {
		t.loop.leave = leave // read by the loop after <-stop
		close(t.loop.stop)
		<-t.loop.done
		t.mux.Handle(transport.ServiceTapestry, nil)
		t.closeTransport()
	})
}

// abort undoes a start that failed before the loop ran: admin calls that
// came in meanwhile are answered ErrClosed, so closing the transport (which
// waits for them) cannot hang.
func (t *Tapestry) abort() {
	close(t.loop.done)
	t.closeTransport()
}

func (t *Tapestry) closeTransport() {
	if t.ownTr {
		if err := t.tr.Close(); err != nil {
			t.log.Warn("closing the transport", "err", err)
		}
	}
}
