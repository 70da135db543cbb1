package follow

import (
	"context"
	"errors"
	"net"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
)

var errDown = errors.New("test: cluster unavailable")

// deadAddr is a loopback address nothing listens on.
func deadAddr(t *testing.T) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return addr
}

func ping(ctx context.Context, cc *grpc.ClientConn, _ string) (Verdict, error) {
	_, err := healthpb.NewHealthClient(cc).Check(ctx, &healthpb.HealthCheckRequest{})
	return Done(), err
}

// TestNoNodeAnswers: with no node answering, Do gives up after its
// patience with the caller's unavailable error, not at the caller's
// (much later) deadline.
func TestNoNodeAnswers(t *testing.T) {
	c, err := New(errDown, deadAddr(t), deadAddr(t))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.Patience = 300 * time.Millisecond
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	start := time.Now()
	err = c.Do(ctx, ping)
	if !errors.Is(err, errDown) || ctx.Err() != nil {
		t.Fatalf("Do against dead addresses: %v (ctx %v), want errDown before the deadline", err, ctx.Err())
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Fatalf("gave up after %v, patience 300ms", d)
	}
}

// TestOneNodeAnswers: a live node among dead ones is found and answers.
func TestOneNodeAnswers(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := grpc.NewServer()
	healthpb.RegisterHealthServer(s, health.NewServer())
	go s.Serve(l)
	defer s.Stop()
	c, err := New(errDown, deadAddr(t), l.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.Patience = 5 * time.Second
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := c.Do(ctx, ping); err != nil {
		t.Fatalf("Do with one live node: %v", err)
	}
}
