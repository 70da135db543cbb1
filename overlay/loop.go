package overlay

import (
	"context"
	"fmt"
	"time"

	"github.com/puddlestore/puddlestore/transport"
)

const (
	// maxBatch bounds how many queued messages one loop iteration steps
	// before it sends what they produced.
	maxBatch = 256
	// maxCatchUp bounds the ticks given at once after the loop fell
	// behind (a pause, a slow machine): with more, every neighbour would
	// look silent at once and be declared dead.
	maxCatchUp = 5
	// pingTTL: a ping unanswered this long is forgotten; its pong, if it
	// ever comes, is too late to time.
	pingTTL = 5 * time.Second
	// inboxSize bounds the messages waiting for the loop; beyond it they
	// are dropped, as the network might have.
	inboxSize = 4096
)

// core is what a driver's loop does with its pure protocol core
// (tapestry.Node, chord.Node): every method runs on the loop goroutine.
type core[M, R any] interface {
	tick()
	step(in inMsg[M])
	// flush sends what the core has ready and hands each result to
	// answer.
	flush(answer func(req uint64, r R))
	// leave starts a graceful leave; flush sends it.
	leave()
	// failed is the result a waiting call gets when the loop ends.
	failed(req uint64) R
}

// inMsg is a decoded message and when it arrived (for round-trip times).
type inMsg[M any] struct {
	m  M
	at time.Time
}

// call is a request for the loop. start runs on the loop with a fresh req
// and says whether a result with that req will follow; if not, or on
// error, the loop answers at once with errResult.
type call[R any] struct {
	start func(req uint64) (wait bool, err error)
	done  chan R // buffered (1)
}

// loop is the goroutine that owns a pure overlay core: it ticks it, steps
// the messages the transport delivers, starts local requests and routes
// their results back to the callers. The Tapestry and Chord drivers run
// their cores on one.
type loop[M, R any] struct {
	tickLen   time.Duration
	core      core[M, R]
	errResult func(req uint64, err error) R
	// grace, when positive, is how long a graceful stop keeps going
	// after the leave is sent: grpcnet drops its queues on Close, and
	// nothing tells when they have gone out.
	grace time.Duration

	inbox chan inMsg[M]
	calls chan *call[R]
	stop  chan struct{} // closed by shutdown
	leave bool          // set before stop is closed: leave gracefully
	done  chan struct{} // closed when the loop has ended

	// Owned by the loop.
	nextReq  uint64
	waiting  map[uint64]*call[R]
	lastTick time.Time
}

func newLoop[M, R any](tick time.Duration, errResult func(req uint64, err error) R) *loop[M, R] {
	return &loop[M, R]{
		tickLen:   tick,
		errResult: errResult,
		inbox:     make(chan inMsg[M], inboxSize),
		calls:     make(chan *call[R]),
		stop:      make(chan struct{}),
		done:      make(chan struct{}),
		waiting:   map[uint64]*call[R]{},
	}
}

// offer hands a decoded message to the loop without blocking; it reports
// false when the inbox is full (the message is dropped, as the network
// might have).
func (l *loop[M, R]) offer(m M) bool {
	select {
	case l.inbox <- inMsg[M]{m: m, at: time.Now()}:
		return true
	default:
		return false
	}
}

func (l *loop[M, R]) run() {
	defer close(l.done)
	defer l.failWaiting()
	ticker := time.NewTicker(l.tickLen)
	defer ticker.Stop()
	l.lastTick = time.Now()
	for {
		select {
		case <-l.stop:
			if l.leave {
				l.core.leave()
				l.flush()
				l.linger()
			}
			return
		case <-ticker.C:
			l.catchUp()
		case in := <-l.inbox:
			l.core.step(in)
			l.drainInbox()
		case c := <-l.calls:
			l.start(c)
		}
		l.flush()
	}
}

// drainInbox steps what else is queued, up to maxBatch in all, without
// waiting.
func (l *loop[M, R]) drainInbox() {
	for range maxBatch - 1 {
		select {
		case in := <-l.inbox:
			l.core.step(in)
		default:
			return
		}
	}
}

// catchUp gives the core one tick per tick length of wall time since the
// last.
func (l *loop[M, R]) catchUp() {
	k := int(time.Since(l.lastTick) / l.tickLen)
	if k <= 0 {
		return
	}
	l.lastTick = l.lastTick.Add(time.Duration(k) * l.tickLen)
	for range min(k, maxCatchUp) {
		l.core.tick()
	}
}

func (l *loop[M, R]) start(c *call[R]) {
	l.nextReq++
	req := l.nextReq
	wait, err := c.start(req)
	switch {
	case err != nil:
		c.done <- l.errResult(req, err)
	case wait:
		l.waiting[req] = c
	default:
		c.done <- l.errResult(req, nil)
	}
}

func (l *loop[M, R]) flush() {
	l.core.flush(func(req uint64, r R) {
		if c, ok := l.waiting[req]; ok {
			delete(l.waiting, req)
			c.done <- r
		}
	})
}

func (l *loop[M, R]) linger() {
	if l.grace <= 0 {
		return
	}
	timer := time.NewTimer(l.grace)
	defer timer.Stop()
	<-timer.C
}

func (l *loop[M, R]) failWaiting() {
	for req, c := range l.waiting {
		c.done <- l.core.failed(req)
		delete(l.waiting, req)
	}
}

// do hands start to the loop and waits for its result.
func (l *loop[M, R]) do(ctx context.Context, what string, start func(req uint64) (bool, error)) (R, error) {
	var zero R
	c := &call[R]{start: start, done: make(chan R, 1)}
	select {
	case l.calls <- c:
	case <-l.done:
		return zero, fmt.Errorf("%w: %s", ErrClosed, what)
	case <-ctx.Done():
		return zero, ctxErr(ctx, what)
	}
	select {
	case r := <-c.done:
		return r, nil
	case <-l.done:
		return zero, fmt.Errorf("%w: %s", ErrClosed, what)
	case <-ctx.Done():
		return zero, ctxErr(ctx, what)
	}
}

// inspect runs f on the loop and waits; it reports false when the node is
// closed.
func (l *loop[M, R]) inspect(f func()) bool {
	_, err := l.do(context.Background(), "inspect", func(uint64) (bool, error) {
		f()
		return false, nil
	})
	return err == nil
}

// pingKey names a ping a node sent, so its pong can be timed.
type pingKey struct {
	to  transport.Addr
	seq uint64
}

// pings times a core's pings: the driver notes when each left and gives
// the pong its round-trip time. Owned by the loop.
type pings struct {
	sent      map[pingKey]time.Time
	lastSweep time.Time
}

func newPings() pings { return pings{sent: map[pingKey]time.Time{}, lastSweep: time.Now()} }

// left notes that a ping to to with seq left now.
func (p *pings) left(to transport.Addr, seq uint64, now time.Time) {
	p.sent[pingKey{to: to, seq: seq}] = now
	if now.Sub(p.lastSweep) > pingTTL {
		p.lastSweep = now
		for k, at := range p.sent {
			if now.Sub(at) > pingTTL {
				delete(p.sent, k)
			}
		}
	}
}

// rtt returns the round-trip time of the ping that a pong from from with
// seq, arrived at at, answers; false if no such ping is remembered.
func (p *pings) rtt(from transport.Addr, seq uint64, at time.Time) (time.Duration, bool) {
	k := pingKey{to: from, seq: seq}
	sent, ok := p.sent[k]
	if !ok {
		return 0, false
	}
	delete(p.sent, k)
	return max(at.Sub(sent), time.Microsecond), true
}
