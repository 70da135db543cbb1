package grpcnet

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"google.golang.org/grpc"

	"github.com/puddlestore/puddlestore/transport"
	"github.com/puddlestore/puddlestore/transport/transportpb"
)

// Config describes a Transport.
type Config struct {
	// Listen is the "host:port" to serve on; port 0 picks a free one, and
	// Transport.Addr reports the address actually bound.
	Listen string
	// Handler receives every incoming message. Required.
	Handler transport.Handler
	// Latency, when set, delays each outgoing message by
	// Latency.Delay(self, peer).
	Latency transport.LatencyModel
	// QueueSize bounds the messages waiting for one peer; default 1024.
	QueueSize int
	// MaxPayload bounds one message's payload in bytes, both ways; default
	// transport.DefaultMaxPayload (16 MiB, room for Raft snapshot chunks).
	MaxPayload int
	// BackoffMin and BackoffMax bound the wait before reconnecting to a peer;
	// defaults 10ms and 1s.
	BackoffMin, BackoffMax time.Duration
	// Logger gets connection events at debug level; nil discards.
	Logger *slog.Logger
	// Register, when set, is called with the transport's gRPC server
	// before it starts serving, to add services that share the
	// transport's port (a node's admin service), so a node needs one
	// port. Their handlers must return once Close is called: Close waits
	// for every handler.
	Register func(s *grpc.Server)
	// ServerOptions are added to the gRPC server's (interceptors for the
	// services added by Register, say).
	ServerOptions []grpc.ServerOption
}

// DefaultQueueSize is the default Config.QueueSize.
const DefaultQueueSize = 1024

// envelopeOverhead is room for an envelope's fields besides its payload.
const envelopeOverhead = 64 << 10

// Transport is a gRPC transport.Transport.
type Transport struct {
	cfg    Config
	log    *slog.Logger
	addr   transport.Addr
	lis    net.Listener
	srv    *grpc.Server
	ctx    context.Context // cancelled by Close; parent of every peer stream
	cancel context.CancelFunc
	wg     sync.WaitGroup // peer goroutines and the serve goroutine

	sent, delivered, dropped, bytes atomic.Uint64

	mu struct {
		sync.Mutex
		closed bool           // guarded by mu
		peers  map[lane]*peer // guarded by mu
	}
}

var (
	_ transport.Transport     = (*Transport)(nil)
	_ transport.StatsReporter = (*Transport)(nil)
)

// Listen validates cfg, binds cfg.Listen and starts serving. ctx bounds only
// the bind; Close stops the Transport.
func Listen(ctx context.Context, cfg Config) (*Transport, error) {
	if cfg.Handler == nil {
		return nil, errors.New("grpcnet: Config.Handler is nil")
	}
	if cfg.QueueSize <= 0 {
		cfg.QueueSize = DefaultQueueSize
	}
	if cfg.MaxPayload <= 0 {
		cfg.MaxPayload = transport.DefaultMaxPayload
	}
	if cfg.BackoffMin <= 0 {
		cfg.BackoffMin = 10 * time.Millisecond
	}
	if cfg.BackoffMax < cfg.BackoffMin {
		cfg.BackoffMax = max(time.Second, cfg.BackoffMin)
	}
	var lc net.ListenConfig
	lis, err := lc.Listen(ctx, "tcp", cfg.Listen)
	if err != nil {
		return nil, fmt.Errorf("grpcnet: listen %s: %w", cfg.Listen, err)
	}
	t := &Transport{cfg: cfg, log: cfg.Logger, addr: transport.Addr(lis.Addr().String()), lis: lis}
	if t.log == nil {
		t.log = slog.New(slog.DiscardHandler)
	}
	t.ctx, t.cancel = context.WithCancel(context.Background())
	t.mu.peers = make(map[lane]*peer)
	t.srv = grpc.NewServer(append([]grpc.ServerOption{
		grpc.MaxRecvMsgSize(cfg.MaxPayload + envelopeOverhead),
		grpc.WaitForHandlers(true), // so no handler runs after Close returns
	}, cfg.ServerOptions...)...)
	transportpb.RegisterTransportServer(t.srv, &server{t: t})
	if cfg.Register != nil {
		cfg.Register(t.srv)
	}
	t.wg.Add(1)
	go func() {
		defer t.wg.Done()
		// Serve returns when Close stops the server; any other error also
		// means we no longer receive, which peers see as a dead node.
		if err := t.srv.Serve(lis); err != nil && !errors.Is(err, grpc.ErrServerStopped) {
			t.log.Error("grpcnet: serve stopped", "addr", t.addr, "err", err)
		}
	}()
	return t, nil
}

// Addr returns the address the Transport listens on.
func (t *Transport) Addr() transport.Addr { return t.addr }

// Send queues payload (copied) for to. It never waits for the network: when
// to's queue is full the message is dropped and ErrQueueFull returned.
func (t *Transport) Send(to transport.Addr, svc transport.Service, payload []byte) error {
	if err := transport.Check(to, svc, payload, t.cfg.MaxPayload); err != nil {
		return err
	}
	if _, _, err := net.SplitHostPort(string(to)); err != nil {
		return fmt.Errorf("grpcnet: send to %q: %w", to, transport.ErrBadAddr)
	}
	p, err := t.peer(lane{to: to, bulk: len(payload) > BulkBytes})
	if err != nil {
		return err
	}
	m := outMsg{
		env: &transportpb.Envelope{From: string(t.addr), Service: uint32(svc), Payload: payload}, // Send takes payload (transport.Transport)
	}
	if t.cfg.Latency != nil {
		m.due = time.Now().Add(t.cfg.Latency.Delay(t.addr, to))
	}
	select {
	case p.queue <- m:
		t.sent.Add(1)
		t.bytes.Add(uint64(len(payload)))
		return nil
	default:
		t.dropped.Add(1)
		return fmt.Errorf("grpcnet: send to %s: %w", to, transport.ErrQueueFull)
	}
}

// BulkBytes: a message with a larger payload goes to its peer on a second
// connection, the bulk lane, so that data (block chunks, snapshot chunks,
// large appends) never queues ahead of control messages (heartbeats,
// votes, overlay routing) to the same peer.
const BulkBytes = 64 << 10

// lane is one of the two connections to a peer.
type lane struct {
	to   transport.Addr
	bulk bool
}

// peer returns the sender for l, starting it on first use.
func (t *Transport) peer(l lane) (*peer, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.mu.closed {
		return nil, fmt.Errorf("grpcnet: send to %s: %w", l.to, transport.ErrClosed)
	}
	if p := t.mu.peers[l]; p != nil {
		return p, nil
	}
	p := &peer{t: t, addr: l.to, queue: make(chan outMsg, t.cfg.QueueSize)}
	t.mu.peers[l] = p
	t.wg.Add(1)
	go func() {
		defer t.wg.Done()
		p.run(t.ctx)
	}()
	return p, nil
}

// Stats returns the Transport's counters. Sent counts messages queued,
// Delivered messages handed to this Transport's handler.
func (t *Transport) Stats() transport.Stats {
	return transport.Stats{
		Sent:      t.sent.Load(),
		Delivered: t.delivered.Load(),
		Dropped:   t.dropped.Load(),
		Bytes:     t.bytes.Load(),
	}
}

// Close stops serving and sending, drops queued messages and waits for every
// goroutine the Transport started. After Close, Send returns ErrClosed and
// the handler is not called. Closing twice is a no-op.
func (t *Transport) Close() error {
	t.mu.Lock()
	if t.mu.closed {
		t.mu.Unlock()
		return nil
	}
	t.mu.closed = true
	t.mu.Unlock()
	t.cancel()
	t.srv.Stop() // closes the listener and connections, waits for handlers
	t.wg.Wait()
	return nil
}
