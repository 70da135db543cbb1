package grpcnet

import (
	"context"
	"errors"
	"io"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/backoff"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/puddlestore/puddlestore/transport"
	"github.com/puddlestore/puddlestore/transport/transportpb"
)

// outMsg is one queued message.
type outMsg struct {
	env *transportpb.Envelope
	due time.Time // zero: send at once
}

// peer owns the connection and stream to one remote address. Only its own
// goroutine (run) touches the connection; Send only writes to queue.
type peer struct {
	t     *Transport
	addr  transport.Addr
	queue chan outMsg
}

// run keeps a stream to the peer open and feeds it from the queue until ctx
// is cancelled.
func (p *peer) run(ctx context.Context) {
	cfg := p.t.cfg
	conn, err := grpc.NewClient("passthrough:///"+string(p.addr),
		grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithDefaultCallOptions(grpc.MaxCallSendMsgSize(cfg.MaxPayload+envelopeOverhead)),
		grpc.WithConnectParams(grpc.ConnectParams{
			Backoff: backoff.Config{
				BaseDelay:  cfg.BackoffMin,
				Multiplier: 1.6,
				Jitter:     0.2,
				MaxDelay:   cfg.BackoffMax,
			},
			MinConnectTimeout: time.Second,
		}),
	)
	if err != nil {
		// Only a malformed target gets here; Send has checked host:port,
		// so treat the peer as unreachable for the Transport's lifetime.
		p.t.log.Error("grpcnet: bad peer address", "peer", p.addr, "err", err)
		p.dropUntilDone(ctx)
		return
	}
	defer conn.Close()
	client := transportpb.NewTransportClient(conn)
	wait := cfg.BackoffMin
	var carry *outMsg // taken from the queue, not yet sent
	for ctx.Err() == nil {
		// WaitForReady: while the peer is unreachable, block here (gRPC
		// reconnects with the backoff above) and let the queue absorb or
		// drop new messages.
		stream, err := client.Stream(ctx, grpc.WaitForReady(true))
		if err == nil {
			var sentAny bool
			sentAny, err = p.pump(ctx, stream, &carry)
			if sentAny {
				wait = cfg.BackoffMin
			}
		}
		if ctx.Err() != nil {
			break
		}
		p.t.log.Debug("grpcnet: stream to peer broke", "peer", p.addr, "err", err, "retry_in", wait)
		if !sleepCtx(ctx, wait) {
			break
		}
		wait = min(2*wait, cfg.BackoffMax)
	}
	if carry != nil {
		p.t.dropped.Add(1)
	}
	p.dropUntilDone(ctx)
}

// pump sends queued messages on stream until it fails or ctx ends. A message
// whose send fails is lost; one taken while waiting on its due time and not
// yet sent is kept in *carry for the next stream.
func (p *peer) pump(ctx context.Context, stream grpc.ClientStreamingClient[transportpb.Envelope, transportpb.StreamSummary], carry **outMsg) (sentAny bool, err error) {
	for {
		m := *carry
		if m == nil {
			select {
			case <-ctx.Done():
				return sentAny, ctx.Err()
			case mm := <-p.queue:
				m = &mm
			}
		}
		*carry = nil
		if !m.due.IsZero() {
			if d := time.Until(m.due); d > 0 && !sleepCtx(ctx, d) {
				*carry = m
				return sentAny, ctx.Err()
			}
		}
		if err := stream.Send(m.env); err != nil {
			p.t.dropped.Add(1)
			if errors.Is(err, io.EOF) {
				// The server ended the stream; its status says why.
				_, err = stream.CloseAndRecv()
			}
			return sentAny, err
		}
		sentAny = true
	}
}

// dropUntilDone counts what is left in the queue as dropped. Sends racing
// with Close may still land in the queue afterwards; they are simply lost.
func (p *peer) dropUntilDone(ctx context.Context) {
	for {
		select {
		case <-p.queue:
			p.t.dropped.Add(1)
		case <-ctx.Done():
			for {
				select {
				case <-p.queue:
					p.t.dropped.Add(1)
				default:
					return
				}
			}
		}
	}
}

// sleepCtx waits d or until ctx ends, reporting whether the wait completed.
func sleepCtx(ctx context.Context, d time.Duration) bool {
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case <-timer.C:
		return true
	case <-ctx.Done():
		return false
	}
}
