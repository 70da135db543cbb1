package overlay

import (
	"time"

	"github.com/puddlestore/puddlestore/tapestry"
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
)

func (t *Tapestry) run() {
	defer close(t.done)
	defer t.failWaiting()
	ticker := time.NewTicker(t.cfg.Tick)
	defer ticker.Stop()
	t.lastTick, t.lastSweep = time.Now(), time.Now()
	for {
		select {
		case <-t.stop:
			if t.leave {
				t.node.Leave()
				t.flush()
				t.linger()
			}
			return
		case <-ticker.C:
			t.catchUp()
		case in := <-t.inbox:
			t.step(in)
			t.drainInbox()
		case c := <-t.calls:
			t.start(c)
		}
		t.flush()
	}
}

// drainInbox steps what else is queued, up to maxBatch in all, without
// waiting.
func (t *Tapestry) drainInbox() {
	for range maxBatch - 1 {
		select {
		case in := <-t.inbox:
			t.step(in)
		default:
			return
		}
	}
}

// catchUp gives the core one tick per Tick of wall time since the last.
func (t *Tapestry) catchUp() {
	now := time.Now()
	k := int(now.Sub(t.lastTick) / t.cfg.Tick)
	if k <= 0 {
		return
	}
	t.lastTick = t.lastTick.Add(time.Duration(k) * t.cfg.Tick)
	for range min(k, maxCatchUp) {
		t.node.Tick()
	}
	if now.Sub(t.lastSweep) > pingTTL {
		t.lastSweep = now
		for k, sent := range t.pings {
			if now.Sub(sent) > pingTTL {
				delete(t.pings, k)
			}
		}
	}
}

// step hands a message to the core; a pong first gets the round-trip time
// since its ping left.
func (t *Tapestry) step(in inMsg) {
	m := in.m
	if m.Type == tapestry.MsgPong {
		k := pingKey{to: m.From.Addr, seq: m.Seq}
		if sent, ok := t.pings[k]; ok {
			delete(t.pings, k)
			m.RTT = max(in.at.Sub(sent), time.Microsecond)
		}
	}
	if err := t.node.Step(m); err != nil {
		t.log.Debug("tapestry step", "type", m.Type.String(), "from", string(m.From.Addr), "err", err)
	}
}

func (t *Tapestry) start(c *call) {
	t.nextReq++
	req := t.nextReq
	wait, err := c.start(t.node, req)
	switch {
	case err != nil:
		c.done <- tapestry.Result{Req: req, Err: err}
	case wait:
		t.waiting[req] = c
	default:
		c.done <- tapestry.Result{Req: req}
	}
}

// flush sends what the core has ready and answers the callers of its
// results.
func (t *Tapestry) flush() {
	for t.node.HasReady() {
		rd := t.node.Ready()
		now := time.Now()
		for _, m := range rd.Messages {
			if m.Type == tapestry.MsgPing {
				t.pings[pingKey{to: m.ToAddr, seq: m.Seq}] = now
			}
			if err := t.tr.Send(m.ToAddr, transport.ServiceTapestry, m.Marshal()); err != nil {
				t.log.Debug("tapestry send", "type", m.Type.String(), "to", string(m.ToAddr), "err", err)
			}
		}
		for _, r := range rd.Results {
			if c, ok := t.waiting[r.Req]; ok {
				delete(t.waiting, r.Req)
				c.done <- r
			}
		}
	}
}

// linger keeps an owned transport open a little after the leave messages
// are queued: grpcnet drops its queues on Close, and nothing tells when
// they have gone out.
func (t *Tapestry) linger() {
	if !t.ownTr || t.cfg.LeaveGrace <= 0 {
		return
	}
	timer := time.NewTimer(t.cfg.LeaveGrace)
	defer timer.Stop()
	<-timer.C
}

func (t *Tapestry) failWaiting() {
	for req, c := range t.waiting {
		c.done <- tapestry.Result{Req: req, Err: tapestry.ErrLeft}
		delete(t.waiting, req)
	}
}
