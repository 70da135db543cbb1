package grpcnet

import (
	"errors"
	"fmt"
	"io"
	"net"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/puddlestore/puddlestore/transport"
	"github.com/puddlestore/puddlestore/transport/transportpb"
)

// maxAddrLen bounds an envelope's sender address.
const maxAddrLen = 256

// server receives streams for a Transport.
type server struct {
	transportpb.UnimplementedTransportServer
	t *Transport
}

// Stream delivers each envelope of one sender's stream, in order.
func (s *server) Stream(stream grpc.ClientStreamingServer[transportpb.Envelope, transportpb.StreamSummary]) error {
	var n uint64
	for {
		env, err := stream.Recv()
		if errors.Is(err, io.EOF) {
			return stream.SendAndClose(&transportpb.StreamSummary{Received: n})
		}
		if err != nil {
			return err
		}
		from, svc, err := s.validate(env)
		if err != nil {
			return status.Error(codes.InvalidArgument, err.Error())
		}
		if s.t.ctx.Err() != nil {
			return status.Error(codes.Unavailable, transport.ErrClosed.Error())
		}
		s.t.delivered.Add(1)
		s.t.cfg.Handler(from, svc, env.Payload)
		n++
	}
}

// validate checks an envelope from the network. Errors wrap
// transport.ErrMalformed.
func (s *server) validate(env *transportpb.Envelope) (transport.Addr, transport.Service, error) {
	switch {
	case env.From == "" || len(env.From) > maxAddrLen:
		return "", 0, malformed("sender address of %d bytes", len(env.From))
	case env.Service == 0 || env.Service > 255:
		return "", 0, malformed("service %d", env.Service)
	case len(env.Payload) > s.t.cfg.MaxPayload:
		return "", 0, malformed("payload of %d bytes > %d", len(env.Payload), s.t.cfg.MaxPayload)
	}
	if _, _, err := net.SplitHostPort(env.From); err != nil {
		return "", 0, malformed("sender address %q", env.From)
	}
	return transport.Addr(env.From), transport.Service(env.Service), nil
}

func malformed(format string, args ...any) error {
	return fmt.Errorf("grpcnet: "+format+": %w", append(args, transport.ErrMalformed)...)
}
