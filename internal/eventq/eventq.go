// Package eventq is the event queue of the deterministic simulations
// (tapestrytest and chordtest meshes): events come out by time, and events
// due at the same time in the order they went in, so that a seed replays
// a run exactly.
package eventq

import (
	"container/heap"
	"time"
)

// Queue holds events of type T. The zero value is empty and ready.
type Queue[T any] struct {
	h   items[T]
	seq uint64
}

type item[T any] struct {
	at  time.Duration
	seq uint64
	v   T
}

// Push adds v, due at at.
func (q *Queue[T]) Push(at time.Duration, v T) {
	q.seq++
	heap.Push(&q.h, item[T]{at: at, seq: q.seq, v: v})
}

// Pop removes and returns the earliest event and when it is due. The
// queue must not be empty.
func (q *Queue[T]) Pop() (time.Duration, T) {
	it := heap.Pop(&q.h).(item[T])
	return it.at, it.v
}

// Next returns when the earliest event is due; false if there is none.
func (q *Queue[T]) Next() (time.Duration, bool) {
	if len(q.h) == 0 {
		return 0, false
	}
	return q.h[0].at, true
}

// Len is the number of events waiting.
func (q *Queue[T]) Len() int { return len(q.h) }

type items[T any] []item[T]

func (h items[T]) Len() int { return len(h) }
func (h items[T]) Less(i, j int) bool {
	if h[i].at != h[j].at {
		return h[i].at < h[j].at
	}
	return h[i].seq < h[j].seq
}
func (h items[T]) Swap(i, j int) { h[i], h[j] = h[j], h[i] }
func (h *items[T]) Push(x any)   { *h = append(*h, x.(item[T])) }
func (h *items[T]) Pop() any {
	old := *h
	it := old[len(old)-1]
	old[len(old)-1] = item[T]{}
	*h = old[:len(old)-1]
	return it
}
