package memnet

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/puddlestore/puddlestore/transport"
)

// inbox records deliveries for one endpoint.
type inbox struct {
	name string
	log  *[]string
}

func (b inbox) handle(from transport.Addr, svc transport.Service, p []byte) {
	*b.log = append(*b.log, fmt.Sprintf("%s<-%s %s %s", b.name, from, svc, p))
}

func newNet(t *testing.T, cfg Config) *Network {
	t.Helper()
	n, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { n.Close() })
	return n
}

func endpoint(t *testing.T, n *Network, addr transport.Addr, log *[]string) *Endpoint {
	t.Helper()
	e, err := n.Endpoint(addr, inbox{string(addr), log}.handle)
	if err != nil {
		t.Fatal(err)
	}
	return e
}

func TestDeliverAndCopy(t *testing.T) {
	n := newNet(t, Config{MinDelay: 10 * time.Millisecond})
	var log []string
	a := endpoint(t, n, "a", &log)
	endpoint(t, n, "b", &log)
	buf := []byte("hello")
	if err := a.Send("b", transport.ServiceRaft, buf); err != nil {
		t.Fatal(err)
	}
	copy(buf, "XXXXX") // the network must have its own copy
	if got := n.Advance(9 * time.Millisecond); got != 0 {
		t.Fatalf("delivered %d before the delay passed", got)
	}
	if got := n.Advance(time.Millisecond); got != 1 {
		t.Fatalf("delivered %d at the delay, want 1", got)
	}
	if want := "b<-a raft hello"; len(log) != 1 || log[0] != want {
		t.Fatalf("log = %q, want %q", log, want)
	}
	if n.Now() != 10*time.Millisecond {
		t.Errorf("Now = %v", n.Now())
	}
	s := n.Stats()
	if s.Sent != 1 || s.Delivered != 1 || s.Dropped != 0 || s.Bytes != 5 {
		t.Errorf("stats = %+v", s)
	}
	if s := a.Stats(); s.Sent != 1 || s.Delivered != 0 {
		t.Errorf("a stats = %+v", s)
	}
}

func TestBadInput(t *testing.T) {
	if _, err := New(Config{DropRate: 2}); err == nil {
		t.Error("DropRate 2 accepted")
	}
	if _, err := New(Config{MinDelay: 2, MaxDelay: 1}); err == nil {
		t.Error("MaxDelay < MinDelay accepted")
	}
	n := newNet(t, Config{MaxPayload: 4})
	var log []string
	a := endpoint(t, n, "a", &log)
	if _, err := n.Endpoint("a", inbox{"a", &log}.handle); !errors.Is(err, transport.ErrAddrInUse) {
		t.Errorf("second endpoint at a: %v", err)
	}
	if _, err := n.Endpoint("", inbox{"", &log}.handle); !errors.Is(err, transport.ErrBadAddr) {
		t.Errorf("empty address: %v", err)
	}
	for _, tt := range []struct {
		to   transport.Addr
		svc  transport.Service
		p    string
		want error
	}{
		{"b", 0, "x", transport.ErrBadService},
		{"", transport.ServiceRaft, "x", transport.ErrBadAddr},
		{"b", transport.ServiceRaft, "12345", transport.ErrTooLarge},
	} {
		if err := a.Send(tt.to, tt.svc, []byte(tt.p)); !errors.Is(err, tt.want) {
			t.Errorf("Send(%q, %v, %q) = %v, want %v", tt.to, tt.svc, tt.p, err, tt.want)
		}
	}
	a.Close()
	if err := a.Send("b", transport.ServiceRaft, nil); !errors.Is(err, transport.ErrClosed) {
		t.Errorf("Send after Close = %v", err)
	}
	if err := a.Close(); err != nil {
		t.Errorf("second Close = %v", err)
	}
	if _, err := n.Endpoint("a", inbox{"a", &log}.handle); err != nil {
		t.Errorf("re-attach after Close: %v", err)
	}
}

func TestQueueFull(t *testing.T) {
	n := newNet(t, Config{QueueLimit: 2, MinDelay: time.Second})
	var log []string
	a := endpoint(t, n, "a", &log)
	endpoint(t, n, "b", &log)
	for i := range 3 {
		err := a.Send("b", transport.ServiceRaft, []byte{byte(i)})
		if wantFull := i == 2; wantFull != errors.Is(err, transport.ErrQueueFull) {
			t.Fatalf("send %d: %v", i, err)
		}
	}
	if err := a.Send("c", transport.ServiceRaft, nil); err != nil {
		t.Errorf("limit is per link, send to c: %v", err)
	}
	n.Advance(time.Second)
	if err := a.Send("b", transport.ServiceRaft, nil); err != nil {
		t.Errorf("after drain: %v", err)
	}
	if s := n.Stats(); s.Dropped != 2 || s.Delivered != 2 { // full + the one to c, which has no endpoint
		t.Errorf("stats = %+v", s)
	}
}

func TestStepAndHandlersSending(t *testing.T) {
	n := newNet(t, Config{MinDelay: time.Millisecond})
	var a, b *Endpoint
	var log []string
	a, _ = n.Endpoint("a", func(from transport.Addr, svc transport.Service, p []byte) {
		log = append(log, fmt.Sprintf("a got %s at %v", p, n.Now()))
	})
	b, _ = n.Endpoint("b", func(from transport.Addr, svc transport.Service, p []byte) {
		log = append(log, fmt.Sprintf("b got %s at %v", p, n.Now()))
		b.Send(from, svc, append([]byte("re:"), p...)) // handlers may send
	})
	a.Send("b", transport.ServiceChord, []byte("ping"))
	if got := n.Advance(5 * time.Millisecond); got != 2 {
		t.Fatalf("Advance delivered %d, want 2 (ping and the reply sent meanwhile)", got)
	}
	want := "[b got ping at 1ms a got re:ping at 2ms]"
	if fmt.Sprint(log) != want {
		t.Errorf("log = %v, want %v", log, want)
	}
	if n.Now() != 5*time.Millisecond || n.Pending() != 0 || n.Step() {
		t.Errorf("after Advance: now %v pending %d", n.Now(), n.Pending())
	}
	a.Send("b", transport.ServiceChord, []byte("x"))
	if at, ok := n.NextAt(); !ok || at != 6*time.Millisecond {
		t.Errorf("NextAt = %v, %v", at, ok)
	}
	if got := n.Drain(10); got != 2 {
		t.Errorf("Drain = %d, want 2", got)
	}
}

func TestDuplicateAndDrop(t *testing.T) {
	seed := uint64(rand.Int64())
	n := newNet(t, Config{Seed: seed, DupRate: 1})
	var log []string
	a := endpoint(t, n, "a", &log)
	endpoint(t, n, "b", &log)
	a.Send("b", transport.ServiceRaft, []byte("x"))
	n.Drain(10)
	if len(log) != 2 {
		t.Errorf("seed %d: DupRate 1 delivered %d copies, want 2", seed, len(log))
	}

	n = newNet(t, Config{Seed: seed, DropRate: 0.3})
	log = nil
	a = endpoint(t, n, "a", &log)
	endpoint(t, n, "b", &log)
	const total = 2000
	for range total {
		a.Send("b", transport.ServiceRaft, nil)
	}
	n.Drain(total)
	if got := len(log); got < total*6/10 || got > total*8/10 {
		t.Errorf("seed %d: DropRate 0.3 delivered %d of %d", seed, got, total)
	}
	if s := n.Stats(); s.Delivered+s.Dropped != total {
		t.Errorf("seed %d: stats %+v do not add up to %d", seed, s, total)
	}
}

func TestReorderAndFIFO(t *testing.T) {
	seed := uint64(rand.Int64())
	for _, fifo := range []bool{false, true} {
		n := newNet(t, Config{Seed: seed, MaxDelay: 50 * time.Millisecond, FIFO: fifo})
		var got []byte
		a, _ := n.Endpoint("a", func(transport.Addr, transport.Service, []byte) {})
		n.Endpoint("b", func(_ transport.Addr, _ transport.Service, p []byte) { got = append(got, p[0]) })
		for i := range 100 {
			a.Send("b", transport.ServiceRaft, []byte{byte(i)})
		}
		n.Advance(time.Second)
		inOrder := true
		for i := range got {
			inOrder = inOrder && got[i] == byte(i)
		}
		if len(got) != 100 || inOrder != fifo {
			t.Errorf("seed %d: FIFO=%v: %d delivered, in order %v", seed, fifo, len(got), inOrder)
		}
	}
}

func TestLatencyModel(t *testing.T) {
	c := transport.Coordinates{Seed: 1, Max: 100 * time.Millisecond}
	n := newNet(t, Config{Latency: c})
	var at time.Duration
	a, _ := n.Endpoint("a", func(transport.Addr, transport.Service, []byte) {})
	n.Endpoint("b", func(transport.Addr, transport.Service, []byte) { at = n.Now() })
	a.Send("b", transport.ServiceRaft, nil)
	n.Drain(1)
	if want := c.Delay("a", "b"); at != want || want == 0 {
		t.Errorf("delivered at %v, want %v", at, want)
	}
}
