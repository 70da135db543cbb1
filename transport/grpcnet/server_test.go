package grpcnet

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/status"

	"github.com/puddlestore/puddlestore/transport"
	"github.com/puddlestore/puddlestore/transport/transportpb"
)

// TestPeerRestart closes a peer and brings it back on the same address; the
// sender must reconnect by itself.
func TestPeerRestart(t *testing.T) {
	a := listen(t, "127.0.0.1:0", Config{BackoffMin: 5 * time.Millisecond, BackoffMax: 50 * time.Millisecond})
	b := listen(t, "127.0.0.1:0", Config{})
	addr := b.Addr()
	a.Send(addr, transport.ServiceRaft, []byte("first"))
	if m := b.recv(t); m.payload != "first" {
		t.Fatalf("got %+v", m)
	}
	b.Close()
	for range 3 { // these may be lost or queued; either is fine
		a.Send(addr, transport.ServiceRaft, []byte("while down"))
	}
	b2 := listen(t, string(addr), Config{})

	// Keep sending until one arrives: messages caught by the broken stream
	// are lost, which the contract allows.
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	deadline := time.After(15 * time.Second)
	for i := 0; ; i++ {
		a.Send(addr, transport.ServiceRaft, fmt.Appendf(nil, "again %d", i))
		select {
		case m := <-b2.got:
			if m.from != a.Addr() {
				t.Fatalf("got %+v", m)
			}
			return
		case <-tick.C:
		case <-deadline:
			t.Fatalf("no reconnect after peer restart; a's stats %+v", a.Stats())
		}
	}
}

// rawStream opens a Stream to tr with a plain gRPC client, bypassing the
// checks in Send.
func rawStream(t *testing.T, tr *Transport) grpc.ClientStreamingClient[transportpb.Envelope, transportpb.StreamSummary] {
	t.Helper()
	conn, err := grpc.NewClient("passthrough:///"+string(tr.Addr()), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	st, err := transportpb.NewTransportClient(conn).Stream(ctx)
	if err != nil {
		t.Fatal(err)
	}
	return st
}

func TestMalformedEnvelopes(t *testing.T) {
	b := listen(t, "127.0.0.1:0", Config{MaxPayload: 16})
	good := func() *transportpb.Envelope {
		return &transportpb.Envelope{From: "127.0.0.1:9", Service: 1, Payload: []byte("ok")}
	}
	tests := []struct {
		name string
		mod  func(*transportpb.Envelope)
		code codes.Code
	}{
		{"no sender", func(e *transportpb.Envelope) { e.From = "" }, codes.InvalidArgument},
		{"sender without port", func(e *transportpb.Envelope) { e.From = "host" }, codes.InvalidArgument},
		{"huge sender", func(e *transportpb.Envelope) { e.From = strings.Repeat("a", 300) + ":1" }, codes.InvalidArgument},
		{"service 0", func(e *transportpb.Envelope) { e.Service = 0 }, codes.InvalidArgument},
		{"service 256", func(e *transportpb.Envelope) { e.Service = 256 }, codes.InvalidArgument},
		{"payload too big", func(e *transportpb.Envelope) { e.Payload = make([]byte, 17) }, codes.InvalidArgument},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st := rawStream(t, b.Transport)
			// A good envelope first: it is delivered, then the bad one ends
			// the stream.
			if err := st.Send(good()); err != nil {
				t.Fatal(err)
			}
			bad := good()
			tt.mod(bad)
			st.Send(bad) // may or may not report the error itself
			_, err := st.CloseAndRecv()
			if status.Code(err) != tt.code {
				t.Fatalf("CloseAndRecv = %v, want code %v", err, tt.code)
			}
			if m := b.recv(t); m.payload != "ok" {
				t.Fatalf("delivered %+v", m)
			}
			select {
			case m := <-b.got:
				t.Fatalf("malformed envelope delivered: %+v", m)
			default:
			}
		})
	}

	// A well-formed stream ends with a summary.
	st := rawStream(t, b.Transport)
	for range 3 {
		if err := st.Send(good()); err != nil {
			t.Fatal(err)
		}
	}
	sum, err := st.CloseAndRecv()
	if err != nil || sum.GetReceived() != 3 {
		t.Fatalf("summary %v, %v", sum, err)
	}
}

func TestValidateErrors(t *testing.T) {
	s := &server{t: &Transport{cfg: Config{MaxPayload: 4}}}
	_, _, err := s.validate(&transportpb.Envelope{From: "x:1", Service: 0})
	if !errors.Is(err, transport.ErrMalformed) || !strings.HasPrefix(err.Error(), "grpcnet: ") {
		t.Errorf("validate = %v", err)
	}
	if _, _, err := s.validate(&transportpb.Envelope{From: "x:1", Service: 3, Payload: []byte("1234")}); err != nil {
		t.Errorf("valid envelope rejected: %v", err)
	}
}

// TestRegister: a service added through Config.Register is served on the
// transport's own port, next to the transport.
func TestRegister(t *testing.T) {
	b := listen(t, "127.0.0.1:0", Config{Register: func(s *grpc.Server) {
		healthpb.RegisterHealthServer(s, health.NewServer())
	}})
	conn, err := grpc.NewClient("passthrough:///"+string(b.Addr()), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	res, err := healthpb.NewHealthClient(conn).Check(ctx, &healthpb.HealthCheckRequest{}, grpc.WaitForReady(true))
	if err != nil || res.GetStatus() != healthpb.HealthCheckResponse_SERVING {
		t.Fatalf("health check through the transport's port: %v, %v", res, err)
	}
	// The transport still works on the same port.
	a := listen(t, "127.0.0.1:0", Config{})
	a.Send(b.Addr(), transport.ServiceRaft, []byte("hi"))
	if m := b.recv(t); m.payload != "hi" {
		t.Fatalf("got %+v", m)
	}
}
