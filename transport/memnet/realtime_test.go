package memnet

import (
	"errors"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/puddlestore/puddlestore/transport"
)

func TestRealtime(t *testing.T) {
	before := runtime.NumGoroutine()
	n, err := New(Config{MinDelay: time.Millisecond, MaxDelay: 5 * time.Millisecond, Latency: transport.FixedLatency(time.Millisecond)})
	if err != nil {
		t.Fatal(err)
	}
	const senders, each = 4, 50
	got := make(chan []byte, senders*each)
	sink, _ := n.Endpoint("sink", func(_ transport.Addr, _ transport.Service, p []byte) { got <- p })
	_ = sink
	if err := n.Start(); err != nil {
		t.Fatal(err)
	}
	if err := n.Start(); !errors.Is(err, ErrRunning) {
		t.Errorf("second Start = %v", err)
	}
	var wg sync.WaitGroup
	for s := range senders {
		e, err := n.Endpoint(transport.Addr(rune('a'+s)), func(transport.Addr, transport.Service, []byte) {})
		if err != nil {
			t.Fatal(err)
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range each {
				if err := e.Send("sink", transport.ServiceRaft, []byte{byte(s), byte(i)}); err != nil {
					t.Error(err)
				}
			}
		}()
	}
	wg.Wait()
	deadline := time.After(10 * time.Second)
	for range senders * each {
		select {
		case <-got:
		case <-deadline:
			t.Fatalf("real-time delivery stalled; stats %+v", n.Stats())
		}
	}
	if n.Now() < 2*time.Millisecond {
		t.Errorf("logical clock did not follow the wall clock: %v", n.Now())
	}
	n.Stop()
	n.Stop() // idempotent

	// Stopped: nothing moves until the caller drives time again.
	sink.Send("sink", transport.ServiceRaft, []byte("late"))
	select {
	case p := <-got:
		t.Fatalf("delivered %q after Stop", p)
	default:
	}
	n.Advance(time.Second)
	if p := <-got; string(p) != "late" {
		t.Errorf("got %q", p)
	}

	deadline = time.After(5 * time.Second)
	for runtime.NumGoroutine() > before {
		select {
		case <-deadline:
			t.Fatalf("goroutines: %d before, %d after Stop", before, runtime.NumGoroutine())
		default:
			runtime.Gosched()
		}
	}
}
