package blocks

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/puddlestore/puddlestore/blockstore"
	"github.com/puddlestore/puddlestore/transport"
)

// ServerConfig configures a Server.
type ServerConfig struct {
	// Store is the durable store served: Store puts into it, Has and
	// Enumerate report it. Required.
	Store blockstore.Store
	// Cache, if set, is also read by Fetch (cached copies are published,
	// so readers are sent to them), but never reported by Has or
	// Enumerate: a cached copy is not a replica.
	Cache Reader
	// Transport sends the replies. Required.
	Transport transport.Transport
	// MaxConcurrent bounds requests worked on at once (default 32);
	// beyond it a request is answered Unavailable at once.
	MaxConcurrent int
	// MaxPendingBytes bounds the bytes of partly received Store uploads
	// (default 256 MiB); beyond it a new upload is refused Unavailable.
	MaxPendingBytes int64
	// UploadTimeout drops a partly received upload whose chunks stopped
	// coming (default 30s).
	UploadTimeout time.Duration
	// OnStored, if set, is called (from the goroutine that stored it,
	// after the ack was sent) for each block a Store request made durable.
	// It must not block.
	OnStored func(ref blockstore.Ref)
	// Logger; nil discards.
	Logger *slog.Logger
}

// Reader is the part of a store that Fetch reads; a missing block is
// blockstore.ErrNotFound.
type Reader interface {
	Get(ctx context.Context, ref blockstore.Ref) ([]byte, error)
	GetRange(ctx context.Context, ref blockstore.Ref, off, n int64) ([]byte, error)
}

// Server answers block requests from peers out of a blockstore.Store.
// Install it on a Mux with Handle.
type Server struct {
	cfg ServerConfig
	log *slog.Logger
	sem chan struct{}  // one token per request being worked on
	wg  sync.WaitGroup // goroutines serving requests; Add only under mu while open

	base   context.Context // ends when the server closes
	cancel context.CancelFunc

	mu struct {
		sync.Mutex
		uploads map[uploadKey]*upload // partly received Store requests, guarded by mu
		pending int64                 // bytes allocated by uploads, guarded by mu
		closed  bool                  // guarded by mu
	}
}

type uploadKey struct {
	from transport.Addr
	id   uint64
}

// upload is a Store request whose chunks are arriving, in any order.
type upload struct {
	ref     blockstore.Ref
	buf     []byte
	got     map[int64]bool // chunk offsets received (duplicates are ignored)
	recv    int64
	started time.Time
}

// NewServer validates cfg and returns a Server.
func NewServer(cfg ServerConfig) (*Server, error) {
	if cfg.Store == nil || cfg.Transport == nil {
		return nil, fmt.Errorf("%w: ServerConfig needs Store and Transport", ErrInvalid)
	}
	if cfg.MaxConcurrent <= 0 {
		cfg.MaxConcurrent = 32
	}
	if cfg.MaxPendingBytes <= 0 {
		cfg.MaxPendingBytes = 256 << 20
	}
	if cfg.UploadTimeout <= 0 {
		cfg.UploadTimeout = 30 * time.Second
	}
	s := &Server{cfg: cfg, log: cfg.Logger, sem: make(chan struct{}, cfg.MaxConcurrent)}
	s.base, s.cancel = context.WithCancel(context.Background())
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	s.mu.uploads = map[uploadKey]*upload{}
	return s, nil
}

// Close stops answering and waits for requests in progress.
func (s *Server) Close() error {
	s.mu.Lock()
	if s.mu.closed {
		s.mu.Unlock()
		return nil
	}
	s.mu.closed = true
	s.mu.uploads = map[uploadKey]*upload{}
	s.mu.pending = 0
	s.mu.Unlock()
	s.cancel()
	s.wg.Wait()
	return nil
}

// spawn runs f on a goroutine of its own unless the server is closed.
func (s *Server) spawn(f func()) bool { return goUnlessClosed(&s.mu.Mutex, &s.mu.closed, &s.wg, f) }

// Handle installs on mux the handler for transport.ServiceBlock: requests
// go to s, responses to c. Either may be nil (their messages are dropped).
func Handle(mux *transport.Mux, s *Server, c *Client) {
	mux.Handle(transport.ServiceBlock, func(from transport.Addr, payload []byte) {
		m, err := decode(payload)
		if m.isResponse() {
			if c != nil {
				c.deliver(from, m, err)
			}
			return
		}
		if s != nil {
			s.deliver(from, m, err)
		}
	})
}

// reply sends m to a peer; a failure is only logged (the peer times out).
func (s *Server) reply(to transport.Addr, m *msg) {
	if err := s.cfg.Transport.Send(to, transport.ServiceBlock, m.encode(nil)); err != nil {
		s.log.Debug("block reply not sent", "to", string(to), "err", err)
	}
}

func (s *Server) replyErr(to transport.Addr, id uint64, err error) {
	s.reply(to, &msg{typ: tErrReply, id: id, kind: kindOf(err), text: err.Error()})
}

// deliver runs on the transport's goroutine: it must not block.
func (s *Server) deliver(from transport.Addr, m msg, err error) {
	if err != nil {
		// The id may still be right if only a later field was bad.
		s.replyErr(from, m.id, err)
		return
	}
	if m.typ == tStoreChunk {
		s.chunk(from, m)
		return
	}
	select {
	case s.sem <- struct{}{}:
	default:
		s.replyErr(from, m.id, fmt.Errorf("%w: server busy", ErrUnavailable))
		return
	}
	// m's slices alias payload, which the handler owns: the goroutine may
	// keep them.
	if !s.spawn(func() {
		defer func() { <-s.sem }()
		s.serve(from, m)
	}) {
		<-s.sem
	}
}

// ctx bounds the work on one request; it ends when the server closes.
func (s *Server) ctx() (context.Context, context.CancelFunc) {
	return context.WithTimeout(s.base, s.cfg.UploadTimeout)
}

func (s *Server) serve(from transport.Addr, m msg) {
	ctx, cancel := s.ctx()
	defer cancel()
	switch m.typ {
	case tFetch:
		s.fetch(ctx, from, m)
	case tHas:
		have := make([]bool, len(m.refs))
		for i, r := range m.refs {
			ok, err := s.cfg.Store.Has(ctx, r)
			if err != nil {
				s.replyErr(from, m.id, err)
				return
			}
			have[i] = ok
		}
		s.reply(from, &msg{typ: tHasReply, id: m.id, have: have})
	case tEnumerate:
		s.enumerate(ctx, from, m)
	default:
		s.replyErr(from, m.id, fmt.Errorf("%w: message type %#x is not a request", ErrInvalid, m.typ))
	}
}

func (s *Server) fetch(ctx context.Context, from transport.Addr, m msg) {
	read := func(st Reader) ([]byte, error) {
		if m.whole {
			return st.Get(ctx, m.ref)
		}
		return st.GetRange(ctx, m.ref, m.off, m.n)
	}
	data, err := read(s.cfg.Store)
	if errors.Is(err, blockstore.ErrNotFound) && s.cfg.Cache != nil {
		data, err = read(s.cfg.Cache)
	}
	if err != nil {
		s.replyErr(from, m.id, err)
		return
	}
	total := int64(len(data))
	for off := int64(0); ; off += MaxChunk {
		end := min(off+MaxChunk, total)
		s.reply(from, &msg{typ: tFetchChunk, id: m.id, size: total, off: off, data: data[off:end]})
		if end == total {
			return
		}
	}
}

// errPageFull stops Enumerate once a page is full.
var errPageFull = errors.New("page full")

func (s *Server) enumerate(ctx context.Context, from transport.Addr, m msg) {
	limit := m.limit
	if limit <= 0 {
		limit = MaxEnumerate
	}
	r := &msg{typ: tEnumReply, id: m.id}
	zero := m.ref == (blockstore.Ref{})
	err := s.cfg.Store.Enumerate(ctx, func(ref blockstore.Ref, size int64) error {
		if !zero && bytes.Compare(ref[:], m.ref[:]) <= 0 {
			return nil
		}
		if len(r.refs) == limit {
			r.more = true
			return errPageFull
		}
		r.refs = append(r.refs, ref)
		r.sizes = append(r.sizes, size)
		return nil
	})
	if err != nil && !errors.Is(err, errPageFull) {
		s.replyErr(from, m.id, err)
		return
	}
	s.reply(from, r)
}

// chunk adds one Store chunk to its upload; the last one commits it.
func (s *Server) chunk(from transport.Addr, m msg) {
	key := uploadKey{from, m.id}
	now := time.Now()
	s.mu.Lock()
	if s.mu.closed {
		s.mu.Unlock()
		return
	}
	u := s.mu.uploads[key]
	if u == nil {
		s.expireLocked(now)
		if s.mu.pending+m.size > s.cfg.MaxPendingBytes {
			s.mu.Unlock()
			s.replyErr(from, m.id, fmt.Errorf("%w: too many uploads in progress", ErrUnavailable))
			return
		}
		u = &upload{ref: m.ref, got: map[int64]bool{}, started: now}
		if m.off == 0 && int64(len(m.data)) == m.size {
			u.buf = m.data // the whole block in one chunk: the handler owns the payload, keep it
		} else {
			u.buf = make([]byte, m.size)
		}
		s.mu.uploads[key] = u
		s.mu.pending += m.size
	}
	if u.ref != m.ref || int64(len(u.buf)) != m.size {
		delete(s.mu.uploads, key)
		s.mu.pending -= int64(len(u.buf))
		s.mu.Unlock()
		s.replyErr(from, m.id, fmt.Errorf("%w: chunks of one store disagree on ref or size", ErrInvalid))
		return
	}
	if !u.got[m.off] {
		u.got[m.off] = true
		if len(m.data) > 0 && &u.buf[m.off] != &m.data[0] {
			copy(u.buf[m.off:], m.data)
		}
		u.recv += int64(len(m.data))
	}
	if u.recv < int64(len(u.buf)) {
		s.mu.Unlock()
		return
	}
	delete(s.mu.uploads, key)
	s.mu.pending -= int64(len(u.buf))
	s.mu.Unlock()
	if u.recv != int64(len(u.buf)) { // overlapping chunks: not what a Client sends
		s.replyErr(from, m.id, fmt.Errorf("%w: overlapping chunks", ErrInvalid))
		return
	}
	s.spawn(func() {
		select { // a store waits for a turn rather than fail after its bytes came
		case s.sem <- struct{}{}:
			defer func() { <-s.sem }()
		case <-s.base.Done():
			return
		}
		ctx, cancel := s.ctx()
		defer cancel()
		if err := s.cfg.Store.Put(ctx, u.ref, u.buf); err != nil { // verifies the bytes against the ref
			s.replyErr(from, m.id, err)
			return
		}
		s.reply(from, &msg{typ: tStoreAck, id: m.id})
		if s.cfg.OnStored != nil {
			s.cfg.OnStored(u.ref)
		}
	})
}

// expireLocked drops uploads older than UploadTimeout.
func (s *Server) expireLocked(now time.Time) {
	for k, u := range s.mu.uploads {
		if now.Sub(u.started) > s.cfg.UploadTimeout {
			delete(s.mu.uploads, k)
			s.mu.pending -= int64(len(u.buf))
		}
	}
}
