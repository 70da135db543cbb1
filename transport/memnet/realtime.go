package memnet

import (
	"container/heap"
	"sync"
	"time"
)

// realtime is the state of the goroutine started by Start.
type realtime struct {
	start time.Time     // wall-clock time at Start
	base  time.Duration // logical time at Start
	stop  chan struct{} // closed by Stop
	wake  chan struct{} // a new message may be due earlier; capacity 1
	wg    sync.WaitGroup
}

// Start delivers messages from a goroutine of the Network's own as
// wall-clock time passes: logical time then follows the wall clock from its
// current value. Handlers are called one at a time from that goroutine.
// Step and Advance still work and only move time further ahead. Stop ends it.
func (n *Network) Start() error {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.mu.rt != nil {
		return ErrRunning
	}
	rt := &realtime{
		start: time.Now(),
		base:  n.mu.now,
		stop:  make(chan struct{}),
		wake:  make(chan struct{}, 1),
	}
	n.mu.rt = rt
	rt.wg.Add(1)
	go func() {
		defer rt.wg.Done()
		n.runRealtime(rt)
	}()
	return nil
}

// Stop ends real-time delivery and waits for its goroutine; messages still in
// flight stay queued. It is a no-op when not running. A handler must not call
// Stop (it would wait for itself).
func (n *Network) Stop() {
	n.mu.Lock()
	rt := n.mu.rt
	n.mu.rt = nil
	n.mu.Unlock()
	if rt == nil {
		return
	}
	close(rt.stop)
	rt.wg.Wait()
}

// Close stops real-time delivery, if any. It makes Network an io.Closer for
// test cleanup.
func (n *Network) Close() error {
	n.Stop()
	return nil
}

func (n *Network) runRealtime(rt *realtime) {
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	for {
		n.mu.Lock()
		if n.mu.rt != rt {
			n.mu.Unlock()
			return
		}
		n.syncClockLocked()
		if len(n.mu.queue) > 0 && n.mu.queue[0].at <= n.mu.now {
			m := heap.Pop(&n.mu.queue).(*message)
			h := n.takeLocked(m)
			n.mu.Unlock()
			if h != nil {
				h(m.from, m.svc, m.payload)
			}
			continue
		}
		wait := time.Hour
		if len(n.mu.queue) > 0 {
			wait = n.mu.queue[0].at - n.mu.now
		}
		n.mu.Unlock()
		timer.Reset(wait)
		select {
		case <-rt.stop:
			return
		case <-rt.wake:
		case <-timer.C:
		}
	}
}

// syncClockLocked moves logical time up to the wall clock in real-time mode.
func (n *Network) syncClockLocked() {
	if rt := n.mu.rt; rt != nil {
		n.mu.now = max(n.mu.now, rt.base+time.Since(rt.start))
	}
}

// wakeLocked tells the real-time goroutine that the queue changed.
func (n *Network) wakeLocked() {
	if rt := n.mu.rt; rt != nil {
		select {
		case rt.wake <- struct{}{}:
		default:
		}
	}
}
