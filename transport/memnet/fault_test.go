package memnet

import (
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/puddlestore/puddlestore/transport"
)

func TestPartitionAndBlock(t *testing.T) {
	n := newNet(t, Config{MinDelay: time.Millisecond})
	var log []string
	eps := map[transport.Addr]*Endpoint{}
	for _, a := range []transport.Addr{"a", "b", "c", "d"} {
		eps[a] = endpoint(t, n, a, &log)
	}
	all := func(tag string) {
		for from, e := range eps {
			for to := range eps {
				if from != to {
					e.Send(to, transport.ServiceRaft, []byte(tag))
				}
			}
		}
		n.Advance(time.Second)
	}
	count := func() map[string]int {
		m := map[string]int{}
		for _, l := range log {
			m[l]++
		}
		log = nil
		return m
	}

	n.Partition([]transport.Addr{"a", "b"}, []transport.Addr{"c"}) // d is in the implicit group alone
	all("p")
	got := count()
	if len(got) != 2 || got["a<-b raft p"] != 1 || got["b<-a raft p"] != 1 {
		t.Errorf("partitioned deliveries = %v", got)
	}

	// A partition also loses messages already in flight.
	n.Heal()
	eps["a"].Send("c", transport.ServiceRaft, []byte("inflight"))
	n.Partition([]transport.Addr{"a"})
	n.Advance(time.Second)
	if len(log) != 0 {
		t.Errorf("in-flight message crossed a partition: %v", log)
	}

	n.Heal()
	n.Block("a", "b")
	eps["a"].Send("b", transport.ServiceRaft, []byte("1"))
	eps["b"].Send("a", transport.ServiceRaft, []byte("2"))
	n.Advance(time.Second)
	if fmt.Sprint(log) != "[a<-b raft 2]" {
		t.Errorf("one-way block: %v", log)
	}
	log = nil
	n.Unblock("a", "b")
	all("healed")
	if len(log) != 12 {
		t.Errorf("after Unblock %d deliveries, want 12", len(log))
	}
}

func TestCrashRestart(t *testing.T) {
	n := newNet(t, Config{MinDelay: 10 * time.Millisecond})
	var log []string
	a := endpoint(t, n, "a", &log)
	b := endpoint(t, n, "b", &log)
	a.Send("b", transport.ServiceRaft, []byte("before"))
	b.Send("a", transport.ServiceRaft, []byte("before"))
	n.Advance(time.Millisecond)
	n.Crash("b")
	if !n.Crashed("b") {
		t.Fatal("Crashed(b) = false")
	}
	a.Send("b", transport.ServiceRaft, []byte("during"))
	b.Send("a", transport.ServiceRaft, []byte("during"))
	n.Restart("b")
	n.Advance(time.Second)
	if len(log) != 0 {
		t.Errorf("messages survived a crash: %v", log)
	}
	a.Send("b", transport.ServiceRaft, []byte("after"))
	n.Advance(time.Second)
	if fmt.Sprint(log) != "[b<-a raft after]" {
		t.Errorf("after restart: %v", log)
	}
}

// trace runs a randomized scenario (chatty endpoints, faults toggled by the
// scenario's own seeded choices) and returns the delivery sequence.
func trace(seed uint64) []string {
	n, _ := New(Config{Seed: seed, DropRate: 0.1, DupRate: 0.1, MaxDelay: 30 * time.Millisecond})
	r := rand.New(rand.NewPCG(seed, 99))
	addrs := []transport.Addr{"n0", "n1", "n2", "n3", "n4"}
	eps := make([]*Endpoint, len(addrs))
	var out []string
	for i, a := range addrs {
		eps[i], _ = n.Endpoint(a, func(from transport.Addr, svc transport.Service, p []byte) {
			out = append(out, fmt.Sprintf("%v %s<-%s %x", n.Now(), a, from, p))
			if p[0] > 0 { // reply with a decremented hop count
				eps[i].Send(from, svc, []byte{p[0] - 1, p[1]})
			}
		})
	}
	for step := range 300 {
		from, to := eps[r.IntN(len(eps))], addrs[r.IntN(len(addrs))]
		from.Send(to, transport.ServiceTapestry, []byte{byte(r.IntN(4)), byte(step)})
		switch r.IntN(20) {
		case 0:
			n.Partition(addrs[:2], addrs[2:4])
		case 1:
			n.Heal()
		case 2:
			n.Crash(addrs[r.IntN(len(addrs))])
		case 3, 4, 5:
			n.Restart(addrs[r.IntN(len(addrs))])
		}
		if r.IntN(3) == 0 {
			n.Step()
		} else {
			n.Advance(time.Duration(r.IntN(10)) * time.Millisecond)
		}
	}
	n.Drain(10000)
	return out
}

func TestDeterministicReplay(t *testing.T) {
	seed := uint64(rand.Int64())
	first, second := trace(seed), trace(seed)
	if len(first) < 50 {
		t.Fatalf("seed %d: only %d deliveries; scenario too quiet", seed, len(first))
	}
	if fmt.Sprint(first) != fmt.Sprint(second) {
		for i := range min(len(first), len(second)) {
			if first[i] != second[i] {
				t.Fatalf("seed %d: runs diverge at delivery %d: %q vs %q", seed, i, first[i], second[i])
			}
		}
		t.Fatalf("seed %d: runs differ in length: %d vs %d", seed, len(first), len(second))
	}
	if fmt.Sprint(trace(seed+1)) == fmt.Sprint(first) {
		t.Errorf("seed %d and %d gave identical traces", seed, seed+1)
	}
}
