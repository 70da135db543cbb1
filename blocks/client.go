package blocks

import (
	"context"
	crand "crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/puddlestore/puddlestore/blockstore"
	"github.com/puddlestore/puddlestore/transport"
)

// ClientConfig configures a Client.
type ClientConfig struct {
	// Transport sends the requests. Required. Its Mux must pass
	// ServiceBlock responses to the client (see Handle).
	Transport transport.Transport
	// Logger; nil discards.
	Logger *slog.Logger
}

// Client calls the block servers of peers by address. Every call waits at
// most until its ctx ends (then ErrUnavailable, wrapping the ctx's error).
// It is safe for concurrent use.
type Client struct {
	cfg ClientConfig
	log *slog.Logger

	mu struct {
		sync.Mutex
		next   uint64              // the next request id, guarded by mu
		calls  map[uint64]*pending // waiting for replies, by request id, guarded by mu
		closed bool                // guarded by mu
	}
}

// pending is one call waiting for its reply.
type pending struct {
	peer transport.Addr
	done chan struct{} // closed once, when the reply is complete

	mu struct {
		sync.Mutex
		finished bool
		reply    msg    // the reply (for a fetch: its last chunk), guarded by mu
		err      error  // an error reply, guarded by mu
		buf      []byte // fetch: the reply's bytes, guarded by mu
		got      map[int64]bool
		recv     int64
	}
}

// NewClient validates cfg and returns a Client.
func NewClient(cfg ClientConfig) (*Client, error) {
	if cfg.Transport == nil {
		return nil, fmt.Errorf("%w: ClientConfig needs a Transport", ErrInvalid)
	}
	c := &Client{cfg: cfg, log: cfg.Logger}
	if c.log == nil {
		c.log = slog.New(slog.DiscardHandler)
	}
	c.mu.calls = map[uint64]*pending{}
	// A random first id: a restarted client must not reuse ids that a
	// server may still hold a partial upload for.
	var b [8]byte
	_, _ = crand.Read(b[:])
	c.mu.next = binary.LittleEndian.Uint64(b[:]) >> 2
	return c, nil
}

// Close fails calls in progress with ErrClosed; later calls fail at once.
func (c *Client) Close() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.mu.closed = true
	for id, p := range c.mu.calls {
		p.finish(msg{}, ErrClosed)
		delete(c.mu.calls, id)
	}
	return nil
}

func (p *pending) finish(m msg, err error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.finishLocked(m, err)
}

func (p *pending) finishLocked(m msg, err error) {
	if p.mu.finished {
		return
	}
	p.mu.finished = true
	p.mu.reply, p.mu.err = m, err
	close(p.done)
}

// deliver runs on the transport's goroutine with a response.
func (c *Client) deliver(from transport.Addr, m msg, err error) {
	c.mu.Lock()
	p := c.mu.calls[m.id]
	c.mu.Unlock()
	if p == nil || p.peer != from {
		return // late, duplicated, or not from the peer asked
	}
	if err != nil {
		p.finish(msg{}, fmt.Errorf("blocks: reply from %s: %w", from, err))
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	switch m.typ {
	case tErrReply:
		p.finishLocked(m, fmt.Errorf("%w: %s says: %s", m.kind.sentinel(), from, m.text))
	case tFetchChunk:
		if p.mu.buf == nil {
			p.mu.buf = make([]byte, m.size)
			p.mu.got = map[int64]bool{}
		}
		if int64(len(p.mu.buf)) != m.size {
			p.finishLocked(m, fmt.Errorf("%w: %s: fetch chunks disagree on the size", ErrInvalid, from))
			return
		}
		if !p.mu.got[m.off] {
			p.mu.got[m.off] = true
			copy(p.mu.buf[m.off:], m.data)
			p.mu.recv += int64(len(m.data))
		}
		if p.mu.recv >= m.size {
			p.finishLocked(m, nil)
		}
	default:
		p.finishLocked(m, nil)
	}
}

// call sends the request built by encode (given the request id) and waits
// for its reply of type want.
func (c *Client) call(ctx context.Context, to transport.Addr, want byte, send func(id uint64) error) (*pending, error) {
	p := &pending{peer: to, done: make(chan struct{})}
	c.mu.Lock()
	if c.mu.closed {
		c.mu.Unlock()
		return nil, ErrClosed
	}
	c.mu.next++
	id := c.mu.next
	c.mu.calls[id] = p
	c.mu.Unlock()
	defer func() {
		c.mu.Lock()
		delete(c.mu.calls, id)
		c.mu.Unlock()
	}()
	if err := send(id); err != nil {
		if errors.Is(err, transport.ErrClosed) {
			return nil, fmt.Errorf("%w: %w", ErrClosed, err)
		}
		return nil, fmt.Errorf("%w: send to %s: %w", ErrUnavailable, to, err)
	}
	select {
	case <-p.done:
	case <-ctx.Done():
		return nil, fmt.Errorf("%w: no reply from %s: %w", ErrUnavailable, to, ctx.Err())
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.mu.err != nil {
		return nil, p.mu.err
	}
	if p.mu.reply.typ != want {
		return nil, fmt.Errorf("%w: %s answered with type %#x", ErrInvalid, to, p.mu.reply.typ)
	}
	return p, nil
}

func (c *Client) send(to transport.Addr, m *msg) error {
	return c.cfg.Transport.Send(to, transport.ServiceBlock, m.encode(nil))
}

// sendWait is send, waiting while the peer's queue is full (with backoff,
// until ctx ends) instead of failing at once: block data has no
// retransmission of its own, and a full queue means the peer (or the way
// to it) is slower than the callers, who should slow down rather than
// fail (found by bench/fs: 16 writers of small blocks failed puts with
// "queue full").
func (c *Client) sendWait(ctx context.Context, to transport.Addr, m *msg) error {
	b := m.encode(nil)
	wait := time.Millisecond
	for {
		err := c.cfg.Transport.Send(to, transport.ServiceBlock, b)
		if !errors.Is(err, transport.ErrQueueFull) {
			return err
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return err
		case <-t.C:
		}
		wait = min(2*wait, 50*time.Millisecond)
	}
}

// Store sends data, whose ref the caller has computed (the peer verifies
// it), to the peer in chunks of at most MaxChunk bytes, and returns once
// the peer has made it durable. Taking the ref saves a SHA-256 pass per
// copy: Put hashes a block once for all its holders.
func (c *Client) Store(ctx context.Context, to transport.Addr, ref blockstore.Ref, data []byte) error {
	if len(data) > blockstore.MaxBlockSize {
		return fmt.Errorf("%w: store %s: %d bytes", ErrInvalid, ref, len(data))
	}
	_, err := c.call(ctx, to, tStoreAck, func(id uint64) error {
		size := int64(len(data))
		for off := int64(0); ; off += MaxChunk {
			end := min(off+MaxChunk, size)
			m := &msg{typ: tStoreChunk, id: id, ref: ref, size: size, off: off, data: data[off:end]}
			if err := c.sendWait(ctx, to, m); err != nil {
				return err
			}
			if end == size {
				return nil
			}
		}
	})
	if err != nil {
		return fmt.Errorf("blocks: store %s on %s: %w", ref.String()[:12], to, err)
	}
	return nil
}

// Fetch returns the whole block from the peer, verified against ref: a
// peer that sends other bytes gets ErrCorrupt.
func (c *Client) Fetch(ctx context.Context, from transport.Addr, ref blockstore.Ref) ([]byte, error) {
	data, err := c.fetch(ctx, from, &msg{typ: tFetch, ref: ref, whole: true})
	if err != nil {
		return nil, fmt.Errorf("blocks: fetch %s from %s: %w", ref.String()[:12], from, err)
	}
	if blockstore.RefOf(data) != ref {
		return nil, fmt.Errorf("%w: fetch %s from %s: the bytes do not hash to the ref", ErrCorrupt, ref.String()[:12], from)
	}
	return data, nil
}

// FetchRange returns up to n bytes from off of the block. The peer
// verifies the whole block before answering, but the receiver cannot check
// a range against the ref: callers that must not trust the peer fetch the
// whole block (as Service does).
func (c *Client) FetchRange(ctx context.Context, from transport.Addr, ref blockstore.Ref, off, n int64) ([]byte, error) {
	if off < 0 || n < 0 || off > blockstore.MaxBlockSize {
		return nil, fmt.Errorf("%w: range %d+%d", ErrInvalid, off, n)
	}
	n = min(n, blockstore.MaxBlockSize)
	data, err := c.fetch(ctx, from, &msg{typ: tFetch, ref: ref, off: off, n: n})
	if err != nil {
		return nil, fmt.Errorf("blocks: fetch %s [%d+%d] from %s: %w", ref.String()[:12], off, n, from, err)
	}
	if int64(len(data)) > n {
		return nil, fmt.Errorf("%w: %s sent %d bytes for a %d-byte range", ErrInvalid, from, len(data), n)
	}
	return data, nil
}

func (c *Client) fetch(ctx context.Context, from transport.Addr, m *msg) ([]byte, error) {
	p, err := c.call(ctx, from, tFetchChunk, func(id uint64) error {
		m.id = id
		return c.send(from, m)
	})
	if err != nil {
		return nil, err
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.mu.buf, nil
}

// Has reports, for each ref, whether the peer's durable store holds it
// (cached copies do not count). Long lists go in several requests.
func (c *Client) Has(ctx context.Context, peer transport.Addr, refs []blockstore.Ref) ([]bool, error) {
	out := make([]bool, 0, len(refs))
	for start := 0; start < len(refs); start += MaxHasRefs {
		batch := refs[start:min(start+MaxHasRefs, len(refs))]
		p, err := c.call(ctx, peer, tHasReply, func(id uint64) error {
			return c.send(peer, &msg{typ: tHas, id: id, refs: batch})
		})
		if err != nil {
			return nil, fmt.Errorf("blocks: has (%d refs) on %s: %w", len(batch), peer, err)
		}
		p.mu.Lock()
		have := p.mu.reply.have
		p.mu.Unlock()
		if len(have) != len(batch) {
			return nil, fmt.Errorf("%w: has: %s answered %d of %d refs", ErrInvalid, peer, len(have), len(batch))
		}
		out = append(out, have...)
	}
	return out, nil
}

// Page is one page of Enumerate.
type Page struct {
	Refs  []blockstore.Ref
	Sizes []int64
	More  bool // further refs follow the last one
}

// Enumerate returns up to limit (at most MaxEnumerate; 0 means that) of
// the refs the peer's durable store holds that follow after, in
// increasing order. The zero ref starts from the beginning; pass the last
// ref of a page to get the next.
func (c *Client) Enumerate(ctx context.Context, peer transport.Addr, after blockstore.Ref, limit int) (Page, error) {
	if limit < 0 || limit > MaxEnumerate {
		return Page{}, fmt.Errorf("%w: enumerate limit %d", ErrInvalid, limit)
	}
	p, err := c.call(ctx, peer, tEnumReply, func(id uint64) error {
		return c.send(peer, &msg{typ: tEnumerate, id: id, ref: after, limit: limit})
	})
	if err != nil {
		return Page{}, fmt.Errorf("blocks: enumerate on %s: %w", peer, err)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	r := p.mu.reply
	return Page{Refs: r.refs, Sizes: r.sizes, More: r.more}, nil
}
