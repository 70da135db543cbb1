package overlay

import (
	"time"

	"github.com/puddlestore/puddlestore/tapestry"
	"github.com/puddlestore/puddlestore/transport"
)

// The Tapestry driver's side of its loop (loop.go): each method runs on
// the loop goroutine.

func (t *Tapestry) tick() { t.node.Tick() }

// step hands a message to the core; a pong first gets the round-trip time
// since its ping left.
func (t *Tapestry) step(in inMsg[tapestry.Message]) {
	m := in.m
	if m.Type == tapestry.MsgPong {
		if rtt, ok := t.pings.rtt(m.From.Addr, m.Seq, in.at); ok {
			m.RTT = rtt
		}
	}
	if err := t.node.Step(m); err != nil {
		t.log.Debug("tapestry step", "type", m.Type.String(), "from", string(m.From.Addr), "err", err)
	}
}

// flush sends what the core has ready and answers the callers of its
// results.
func (t *Tapestry) flush(answer func(req uint64, r tapestry.Result)) {
	for t.node.HasReady() {
		rd := t.node.Ready()
		now := time.Now()
		for _, m := range rd.Messages {
			if m.Type == tapestry.MsgPing {
				t.pings.left(m.ToAddr, m.Seq, now)
			}
			if err := t.tr.Send(m.ToAddr, transport.ServiceTapestry, m.Marshal()); err != nil {
				t.log.Debug("tapestry send", "type", m.Type.String(), "to", string(m.ToAddr), "err", err)
			}
		}
		for _, r := range rd.Results {
			answer(r.Req, r)
		}
	}
}

func (t *Tapestry) leave() { t.node.Leave() }

func (t *Tapestry) failed(req uint64) tapestry.Result {
	return tapestry.Result{Req: req, Err: tapestry.ErrLeft}
}
