package raft

import (
	"slices"
	"testing"
)

func TestInflights(t *testing.T) {
	type op struct {
		add  bool
		last uint64 // add: last index of the append; free: freeLE argument
		size uint64
	}
	tests := []struct {
		name      string
		maxCount  int
		maxBytes  uint64
		ops       []op
		wantIdx   []uint64
		wantBytes uint64
		wantFull  bool
	}{
		{"empty", 3, 0, nil, nil, 0, false},
		{"below count", 3, 0, []op{{true, 1, 10}, {true, 2, 10}}, []uint64{1, 2}, 20, false},
		{"full by count", 3, 0, []op{{true, 1, 10}, {true, 2, 10}, {true, 3, 10}}, []uint64{1, 2, 3}, 30, true},
		{"no byte limit", 100, 0, []op{{true, 1, 1 << 40}}, []uint64{1}, 1 << 40, false},
		{"below bytes", 100, 100, []op{{true, 1, 60}, {true, 2, 39}}, []uint64{1, 2}, 99, false},
		{"full by bytes", 100, 100, []op{{true, 1, 60}, {true, 2, 40}}, []uint64{1, 2}, 100, true},
		{"one huge append fills", 100, 100, []op{{true, 7, 500}}, []uint64{7}, 500, true},
		{"free prefix", 3, 0, []op{{true, 1, 10}, {true, 3, 20}, {true, 5, 30}, {false, 3, 0}}, []uint64{5}, 30, false},
		{"free between", 3, 0, []op{{true, 2, 10}, {true, 4, 20}, {false, 3, 0}}, []uint64{4}, 20, false},
		{"free nothing", 3, 0, []op{{true, 2, 10}, {true, 4, 20}, {false, 1, 0}}, []uint64{2, 4}, 30, false},
		{"free all", 3, 0, []op{{true, 2, 10}, {true, 4, 20}, {false, 99, 0}}, nil, 0, false},
		{"free unblocks bytes", 10, 50, []op{{true, 1, 30}, {true, 2, 30}, {false, 1, 0}}, []uint64{2}, 30, false},
		{"refill after free", 2, 0, []op{{true, 1, 1}, {true, 2, 1}, {false, 1, 0}, {true, 3, 1}}, []uint64{2, 3}, 2, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := inflights{maxCount: tt.maxCount, maxBytes: tt.maxBytes}
			for _, o := range tt.ops {
				if o.add {
					in.add(o.last, o.size)
				} else {
					in.freeLE(o.last)
				}
			}
			if !slices.Equal(in.idx, tt.wantIdx) || in.bytes != tt.wantBytes || in.full() != tt.wantFull {
				t.Fatalf("idx=%v bytes=%d full=%v, want idx=%v bytes=%d full=%v",
					in.idx, in.bytes, in.full(), tt.wantIdx, tt.wantBytes, tt.wantFull)
			}
			if len(in.sizes) != len(in.idx) {
				t.Fatalf("%d sizes for %d appends", len(in.sizes), len(in.idx))
			}
			in.reset()
			if len(in.idx) != 0 || in.bytes != 0 || in.full() {
				t.Fatalf("after reset: %+v", in)
			}
		})
	}
}

func TestProgressMaybeUpdate(t *testing.T) {
	tests := []struct {
		match, next, n      uint64
		want                bool
		wantMatch, wantNext uint64
	}{
		{3, 5, 2, false, 3, 5}, // stale
		{3, 5, 3, false, 3, 5}, // duplicate
		{3, 5, 4, true, 4, 5},  // within the pipeline
		{3, 5, 7, true, 7, 8},  // beyond next
	}
	for _, tt := range tests {
		p := &progress{match: tt.match, next: tt.next, probeSent: true}
		got := p.maybeUpdate(tt.n)
		if got != tt.want || p.match != tt.wantMatch || p.next != tt.wantNext {
			t.Errorf("match=%d next=%d update(%d) = %v match=%d next=%d, want %v %d %d",
				tt.match, tt.next, tt.n, got, p.match, p.next, tt.want, tt.wantMatch, tt.wantNext)
		}
		if got && p.probeSent {
			t.Errorf("update(%d) left the probe paused", tt.n)
		}
	}
}

func TestProgressMaybeDecrTo(t *testing.T) {
	tests := []struct {
		name           string
		state          progressState
		match, next    uint64
		rejected, hint uint64
		want           bool
		wantNext       uint64
	}{
		{"replicate: stale rejection", stateReplicate, 5, 10, 5, 5, false, 10},
		{"replicate: back to match+1", stateReplicate, 5, 10, 9, 7, true, 6},
		{"probe: stale (not the last probe)", stateProbe, 0, 10, 5, 3, false, 10},
		{"probe: follow the hint", stateProbe, 0, 10, 9, 3, true, 4},
		{"probe: hint beyond rejected", stateProbe, 0, 10, 9, 20, true, 9},
		{"probe: never below match+1", stateProbe, 4, 10, 9, 1, true, 5},
		{"probe: hint 0", stateProbe, 0, 10, 9, 0, true, 1},
		{"probe: at the start of the log", stateProbe, 0, 1, 0, 0, true, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := &progress{state: tt.state, match: tt.match, next: tt.next, probeSent: true}
			got := p.maybeDecrTo(tt.rejected, tt.hint)
			if got != tt.want || p.next != tt.wantNext {
				t.Fatalf("maybeDecrTo(%d, %d) = %v next=%d, want %v next=%d", tt.rejected, tt.hint, got, p.next, tt.want, tt.wantNext)
			}
			if got && tt.state == stateProbe && p.probeSent {
				t.Fatal("an accepted rejection must unpause the probe")
			}
		})
	}
}

func TestProgressStates(t *testing.T) {
	p := &progress{match: 3, next: 4, inflight: inflights{maxCount: 2}}
	if p.paused() {
		t.Fatal("fresh probe paused")
	}
	p.probeSent = true
	if !p.paused() {
		t.Fatal("probe with a probe in flight not paused")
	}
	p.becomeReplicate()
	if p.paused() || p.next != 4 || p.probeSent {
		t.Fatalf("replicate: %v paused=%v", p, p.paused())
	}
	p.inflight.add(5, 1)
	p.inflight.add(6, 1)
	if !p.paused() {
		t.Fatal("replicate with a full window not paused")
	}
	p.becomeSnapshot(10)
	if !p.paused() || len(p.inflight.idx) != 0 || p.pendingSnapshot != 10 {
		t.Fatalf("snapshot: %v paused=%v pending=%d", p, p.paused(), p.pendingSnapshot)
	}
	// Leaving snapshot state probes after the snapshot, not from match.
	p.becomeProbe()
	if p.next != 11 || p.state != stateProbe || p.pendingSnapshot != 0 {
		t.Fatalf("probe after snapshot: %v", p)
	}
	p.match = 15
	p.becomeProbe()
	if p.next != 16 {
		t.Fatalf("probe: next=%d, want 16", p.next)
	}
}
