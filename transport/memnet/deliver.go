package memnet

import (
	"container/heap"
	"time"

	"github.com/puddlestore/puddlestore/transport"
)

// message is one message in flight.
type message struct {
	at      time.Duration // logical delivery time
	seq     uint64        // send order; breaks ties in at
	from    transport.Addr
	to      transport.Addr
	svc     transport.Service
	payload []byte
	// Incarnations of both ends at send time: a Crash in between loses it.
	fromInc, toInc uint64
}

// msgQueue is a min-heap on (at, seq), which makes delivery order total and
// independent of map iteration or goroutine scheduling.
type msgQueue []*message

func (q msgQueue) Len() int { return len(q) }
func (q msgQueue) Less(i, j int) bool {
	if q[i].at != q[j].at {
		return q[i].at < q[j].at
	}
	return q[i].seq < q[j].seq
}
func (q msgQueue) Swap(i, j int) { q[i], q[j] = q[j], q[i] }
func (q *msgQueue) Push(x any)   { *q = append(*q, x.(*message)) }
func (q *msgQueue) Pop() any {
	old := *q
	m := old[len(old)-1]
	old[len(old)-1] = nil
	*q = old[:len(old)-1]
	return m
}

// Step delivers (or loses, if a fault says so) the next message in flight,
// moving the clock forward to its delivery time. It reports whether there
// was a message. The handler runs in the caller's goroutine.
func (n *Network) Step() bool {
	n.mu.Lock()
	if len(n.mu.queue) == 0 {
		n.mu.Unlock()
		return false
	}
	m := heap.Pop(&n.mu.queue).(*message)
	n.mu.now = max(n.mu.now, m.at)
	h := n.takeLocked(m)
	n.mu.Unlock()
	if h != nil {
		h(m.from, m.svc, m.payload)
	}
	return true
}

// Advance moves the clock forward by d, delivering in order every message
// due by then, including messages that handlers send meanwhile. It returns
// how many messages were delivered. Handlers run in the caller's goroutine.
func (n *Network) Advance(d time.Duration) int {
	n.mu.Lock()
	target := n.mu.now + max(d, 0)
	n.mu.Unlock()
	return n.AdvanceTo(target)
}

// AdvanceTo is Advance to an absolute logical time; a time in the past
// delivers only what is already due.
func (n *Network) AdvanceTo(target time.Duration) int {
	delivered := 0
	for {
		n.mu.Lock()
		if len(n.mu.queue) == 0 || n.mu.queue[0].at > target {
			n.mu.now = max(n.mu.now, target)
			n.mu.Unlock()
			return delivered
		}
		m := heap.Pop(&n.mu.queue).(*message)
		n.mu.now = max(n.mu.now, m.at)
		h := n.takeLocked(m)
		n.mu.Unlock()
		if h != nil {
			h(m.from, m.svc, m.payload)
			delivered++
		}
	}
}

// Drain steps until nothing is in flight or limit messages were processed,
// and returns how many were processed. A protocol that keeps talking forever
// needs the limit.
func (n *Network) Drain(limit int) int {
	i := 0
	for i < limit && n.Step() {
		i++
	}
	return i
}

// NextAt returns the delivery time of the next message in flight.
func (n *Network) NextAt() (time.Duration, bool) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if len(n.mu.queue) == 0 {
		return 0, false
	}
	return n.mu.queue[0].at, true
}

// takeLocked accounts for a message leaving the queue and returns the handler
// to deliver it to, or nil when it is lost.
func (n *Network) takeLocked(m *message) transport.Handler {
	l := link{m.from, m.to}
	if n.mu.inflight[l]--; n.mu.inflight[l] <= 0 {
		delete(n.mu.inflight, l)
	}
	e := n.mu.endpoints[m.to]
	if e == nil || e.closed ||
		m.fromInc != n.mu.incarn[m.from] || m.toInc != n.mu.incarn[m.to] ||
		!n.reachableLocked(m.from, m.to) {
		n.dropLocked(m.from)
		return nil
	}
	n.mu.stats.Delivered++
	n.statsLocked(m.to).Delivered++
	return e.handler
}
