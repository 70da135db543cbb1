package eventq

import (
	"math/rand/v2"
	"testing"
	"time"
)

// TestOrder: events come out by time, ties in the order they went in.
func TestOrder(t *testing.T) {
	var q Queue[int]
	rng := rand.New(rand.NewPCG(1, 2))
	type ev struct {
		at time.Duration
		i  int
	}
	var in []ev
	for i := range 1000 {
		at := time.Duration(rng.IntN(50)) * time.Millisecond
		in = append(in, ev{at, i})
		q.Push(at, i)
	}
	if q.Len() != 1000 {
		t.Fatalf("len %d", q.Len())
	}
	last := ev{at: -1, i: -1}
	for q.Len() > 0 {
		next, _ := q.Next()
		at, i := q.Pop()
		if at != next || at != in[i].at {
			t.Fatalf("event %d: popped at %v, next said %v, pushed at %v", i, at, next, in[i].at)
		}
		if at < last.at || at == last.at && i < last.i {
			t.Fatalf("event %d at %v came after event %d at %v", i, at, last.i, last.at)
		}
		last = ev{at, i}
	}
	if _, ok := q.Next(); ok {
		t.Fatal("Next on an empty queue")
	}
}
