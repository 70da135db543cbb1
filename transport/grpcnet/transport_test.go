package grpcnet

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"testing"
	"time"

	"github.com/puddlestore/puddlestore/transport"
)

// msg is one delivery seen by a test handler.
type msg struct {
	from    transport.Addr
	svc     transport.Service
	payload string
}

// node is a Transport with a channel of what it received.
type node struct {
	*Transport
	got chan msg
}

func listen(t *testing.T, addr string, cfg Config) *node {
	t.Helper()
	n := &node{got: make(chan msg, 10000)}
	cfg.Listen = addr
	cfg.Handler = func(from transport.Addr, svc transport.Service, p []byte) {
		n.got <- msg{from, svc, string(p)}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	tr, err := Listen(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	n.Transport = tr
	t.Cleanup(func() { tr.Close() })
	return n
}

// recv waits (bounded) for the next message.
func (n *node) recv(t *testing.T) msg {
	t.Helper()
	select {
	case m := <-n.got:
		return m
	case <-time.After(10 * time.Second):
		t.Fatalf("%s: no message within 10s; stats %+v", n.Addr(), n.Stats())
		return msg{}
	}
}

// waitGoroutines waits (bounded) until at most want goroutines run.
func waitGoroutines(t *testing.T, want int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for runtime.NumGoroutine() > want {
		if time.Now().After(deadline) {
			buf := make([]byte, 1<<20)
			t.Fatalf("goroutine leak: %d running, want <= %d\n%s", runtime.NumGoroutine(), want, buf[:runtime.Stack(buf, true)])
		}
		runtime.Gosched()
	}
}

func TestTwoNodes(t *testing.T) {
	a := listen(t, "127.0.0.1:0", Config{})
	b := listen(t, "127.0.0.1:0", Config{})
	if err := a.Send(b.Addr(), transport.ServiceRaft, []byte("ping")); err != nil {
		t.Fatal(err)
	}
	m := b.recv(t)
	if m != (msg{a.Addr(), transport.ServiceRaft, "ping"}) {
		t.Fatalf("b got %+v", m)
	}
	if err := b.Send(m.from, transport.ServiceChord, []byte("pong")); err != nil {
		t.Fatal(err)
	}
	if m := a.recv(t); m != (msg{b.Addr(), transport.ServiceChord, "pong"}) {
		t.Fatalf("a got %+v", m)
	}
	if s := b.Stats(); s.Delivered != 1 || s.Sent != 1 || s.Bytes != 4 {
		t.Errorf("b stats %+v", s)
	}
}

// TestThreeNodesFIFO has every node send a numbered sequence to every other
// and checks each receiver sees each sender's sequence in order.
func TestThreeNodesFIFO(t *testing.T) {
	nodes := []*node{
		listen(t, "127.0.0.1:0", Config{}),
		listen(t, "127.0.0.1:0", Config{}),
		listen(t, "127.0.0.1:0", Config{}),
	}
	const count = 500
	for i := range count {
		for _, from := range nodes {
			for _, to := range nodes {
				if from != to {
					if err := from.Send(to.Addr(), transport.ServiceTapestry, fmt.Appendf(nil, "%d", i)); err != nil {
						t.Fatal(err)
					}
				}
			}
		}
	}
	for _, to := range nodes {
		next := map[transport.Addr]int{}
		for range 2 * count {
			m := to.recv(t)
			if want := fmt.Sprint(next[m.from]); m.payload != want {
				t.Fatalf("%s from %s: got %s, want %s", to.Addr(), m.from, m.payload, want)
			}
			next[m.from]++
		}
	}
}

func TestBadInputAndClose(t *testing.T) {
	if _, err := Listen(context.Background(), Config{Listen: "127.0.0.1:0"}); err == nil {
		t.Error("nil handler accepted")
	}
	a := listen(t, "127.0.0.1:0", Config{MaxPayload: 8})
	if _, err := Listen(context.Background(), Config{Listen: string(a.Addr()), Handler: func(transport.Addr, transport.Service, []byte) {}}); err == nil {
		t.Error("second listener on the same address")
	}
	for _, tt := range []struct {
		to   transport.Addr
		svc  transport.Service
		p    string
		want error
	}{
		{"127.0.0.1:1", 0, "", transport.ErrBadService},
		{"", 1, "", transport.ErrBadAddr},
		{"no-port", 1, "", transport.ErrBadAddr},
		{"127.0.0.1:1", 1, "123456789", transport.ErrTooLarge},
	} {
		if err := a.Send(tt.to, tt.svc, []byte(tt.p)); !errors.Is(err, tt.want) {
			t.Errorf("Send(%q, %d, %q) = %v, want %v", tt.to, tt.svc, tt.p, err, tt.want)
		}
	}
	if err := a.Close(); err != nil {
		t.Fatal(err)
	}
	if err := a.Close(); err != nil {
		t.Errorf("second Close = %v", err)
	}
	if err := a.Send("127.0.0.1:1", transport.ServiceRaft, nil); !errors.Is(err, transport.ErrClosed) {
		t.Errorf("Send after Close = %v, want ErrClosed", err)
	}
}

// TestQueueFullAndNoLeak sends to a peer that does not exist until its
// queue fills, then checks Close stops every goroutine.
func TestQueueFullAndNoLeak(t *testing.T) {
	before := runtime.NumGoroutine()
	a := listen(t, "127.0.0.1:0", Config{QueueSize: 4})
	b := listen(t, "127.0.0.1:0", Config{})
	a.Send(b.Addr(), transport.ServiceRaft, []byte("x"))
	b.recv(t)
	dead := b.Addr()
	b.Close()
	var full bool
	for range 1000 {
		if err := a.Send(dead, transport.ServiceRaft, []byte("y")); errors.Is(err, transport.ErrQueueFull) {
			full = true
			break
		}
	}
	if !full {
		t.Fatal("queue to a dead peer never filled")
	}
	if s := a.Stats(); s.Dropped == 0 {
		t.Errorf("stats %+v: no drops counted", s)
	}
	a.Close()
	waitGoroutines(t, before)
}

func TestLatency(t *testing.T) {
	const d = 150 * time.Millisecond
	slow := listen(t, "127.0.0.1:0", Config{Latency: transport.FixedLatency(d)})
	fast := listen(t, "127.0.0.1:0", Config{})
	// Warm the connection so dialing does not count as latency.
	fast.Send(slow.Addr(), transport.ServiceRaft, []byte("warm"))
	slow.recv(t)
	slow.Send(fast.Addr(), transport.ServiceRaft, []byte("warm"))
	fast.recv(t)

	start := time.Now()
	for i := range 20 {
		slow.Send(fast.Addr(), transport.ServiceRaft, fmt.Appendf(nil, "%d", i))
	}
	for range 20 {
		fast.recv(t)
	}
	elapsed := time.Since(start)
	// The delay is latency, not a per-message cost: 20 messages take about
	// one delay, not twenty.
	if elapsed < d || elapsed > 10*d {
		t.Errorf("20 messages with %v latency took %v", d, elapsed)
	}
}

// TestLargeMessage sends a payload above gRPC's 4 MiB default limit, as a
// Raft snapshot chunk may be.
func TestLargeMessage(t *testing.T) {
	a := listen(t, "127.0.0.1:0", Config{})
	b := listen(t, "127.0.0.1:0", Config{})
	big := make([]byte, 12<<20)
	for i := range big {
		big[i] = byte(i * 7)
	}
	if err := a.Send(b.Addr(), transport.ServiceRaft, big); err != nil {
		t.Fatal(err)
	}
	if m := b.recv(t); m.payload != string(big) {
		t.Fatalf("payload of %d bytes arrived as %d bytes", len(big), len(m.payload))
	}
}

// TestBulkLane: large messages go on their own connection, so a small one
// sent after 64 MiB of them arrives before they have all gone through, and
// every message arrives.
func TestBulkLane(t *testing.T) {
	a := listen(t, "127.0.0.1:0", Config{QueueSize: 256})
	b := listen(t, "127.0.0.1:0", Config{})
	big := string(make([]byte, 1<<20))
	// Open both lanes first, so no dial is timed below.
	for _, p := range []string{"warm", big} {
		if err := a.Send(b.Addr(), transport.ServiceBlock, []byte(p)); err != nil {
			t.Fatal(err)
		}
		b.recv(t)
	}
	const bulk = 64
	for range bulk {
		if err := a.Send(b.Addr(), transport.ServiceBlock, []byte(big)); err != nil {
			t.Fatal(err)
		}
	}
	if err := a.Send(b.Addr(), transport.ServiceTapestry, []byte("ping")); err != nil {
		t.Fatal(err)
	}
	bigSeen, smallAt := 0, -1
	for range bulk + 1 {
		m := b.recv(t)
		if m.payload == "ping" {
			smallAt = bigSeen
		} else if len(m.payload) == len(big) {
			bigSeen++
		}
	}
	if bigSeen != bulk || smallAt < 0 {
		t.Fatalf("got %d of %d large messages, small one seen: %v", bigSeen, bulk, smallAt >= 0)
	}
	if smallAt == bulk {
		t.Errorf("the small message waited for all %d MiB of large ones", bulk)
	}
}
