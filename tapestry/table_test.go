package tapestry

import (
	"flag"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/puddlestore/puddlestore/id"
)

var seedFlag = flag.Uint64("seed", 1, "seed of the randomized table tests")

func mustID(s string) id.ID { return id.MustParse(s) }

const pad = "00000000000000000000000000000000000" // 35 zeros: ids below are 5 digits + pad

func TestAddPlacesBySharedPrefix(t *testing.T) {
	self := mustID("12345" + pad)
	tb := NewTable(self, 2)
	tests := []struct {
		id           string
		level, digit int
	}{
		{"a2345" + pad, 0, 0xa},
		{"13345" + pad, 1, 3},
		{"12f45" + pad, 2, 0xf},
		{"12340" + pad, 4, 0},
	}
	for _, tc := range tests {
		x := mustID(tc.id)
		if in, ev := tb.Add(Entry{ID: x, RTT: time.Millisecond}); !in || ev != nil {
			t.Fatalf("add %s: in=%v evicted=%v", tc.id, in, ev)
		}
		if s := tb.Slot(tc.level, tc.digit); len(s) != 1 || s[0].ID != x {
			t.Fatalf("%s: slot (%d,%x) = %v", tc.id, tc.level, tc.digit, s)
		}
	}
	if in, _ := tb.Add(Entry{ID: self}); in || tb.Contains(self) {
		t.Fatal("a node must not be in its own table")
	}
	if tb.Len() != len(tests) {
		t.Fatalf("len %d", tb.Len())
	}
}

func TestSlotKeepsNearest(t *testing.T) {
	self := mustID("00000" + pad)
	tb := NewTable(self, 2)
	far, mid, near := mustID("10000"+pad), mustID("11000"+pad), mustID("12000"+pad)
	tb.Add(Entry{ID: far, RTT: 30 * time.Millisecond})
	tb.Add(Entry{ID: mid, RTT: 20 * time.Millisecond})
	in, ev := tb.Add(Entry{ID: near, RTT: 10 * time.Millisecond})
	if !in || ev == nil || ev.ID != far {
		t.Fatalf("adding the nearest: in=%v evicted=%v, want far evicted", in, ev)
	}
	// A farther node does not displace nearer ones.
	in, ev = tb.Add(Entry{ID: far, RTT: 40 * time.Millisecond})
	if in || ev == nil || ev.ID != far {
		t.Fatalf("adding a farther node: in=%v evicted=%v", in, ev)
	}
	// A new measurement reorders.
	tb.Add(Entry{ID: mid, RTT: time.Millisecond})
	if s := tb.Slot(0, 1); s[0].ID != mid || s[1].ID != near {
		t.Fatalf("slot after update: %v", s)
	}
	if !tb.Remove(mid) || tb.Remove(mid) || tb.Contains(mid) {
		t.Fatal("remove")
	}
}

func TestNextHopSurrogate(t *testing.T) {
	self := mustID("50000" + pad)
	tb := NewTable(self, 3)
	a := mustID("70000" + pad)
	b := mustID("53000" + pad)
	tb.Add(Entry{ID: a})
	tb.Add(Entry{ID: b})
	tests := []struct {
		key    string
		hop    id.ID
		next   int
		isRoot bool
	}{
		{"70000" + pad, a, 1, false},           // exact digit at level 0
		{"60000" + pad, a, 1, false},           // 6 empty: surrogate 7
		{"42000" + pad, b, 2, false},           // 4 empty, next is our own 5: level 1 locally; 2 empty, 3 = b
		{"40000" + pad, self, id.Digits, true}, // as above, then our own 0 at level 1, and so on
		{"54000" + pad, self, id.Digits, true},
	}
	for _, tc := range tests {
		hop, next, isRoot := tb.NextHop(mustID(tc.key), 0)
		if isRoot != tc.isRoot || (!isRoot && (hop.ID != tc.hop || next != tc.next)) {
			t.Errorf("key %s: hop %s next %d root %v; want %s %d %v", tc.key[:5], hop.ID.Short(5), next, isRoot, tc.hop.Short(5), tc.next, tc.isRoot)
		}
	}
}

// With complete tables, routing a key from any node ends at the same root,
// the one the surrogate rule picks from the whole membership, in at most
// id.Digits hops.
func TestEveryKeyHasOneRoot(t *testing.T) {
	seed := *seedFlag
	rng := rand.New(rand.NewPCG(seed, 7))
	for _, n := range []int{1, 2, 17, 300} {
		nodes := make([]id.ID, n)
		tables := map[id.ID]*Table{}
		for i := range nodes {
			nodes[i] = id.Random(rng)
			tables[nodes[i]] = NewTable(nodes[i], DefaultSlotSize)
		}
		for _, a := range nodes {
			for _, b := range nodes {
				tables[a].Add(Entry{ID: b, RTT: time.Duration(rng.IntN(100)) * time.Millisecond})
			}
		}
		for k := 0; k < 200; k++ {
			key := id.Random(rng)
			want := globalRoot(nodes, key)
			for _, start := range nodes[:min(n, 20)] {
				at, level, hops := start, 0, 0
				for {
					hop, next, isRoot := tables[at].NextHop(key, level)
					if isRoot {
						break
					}
					at, level = hop.ID, next
					if hops++; hops > id.Digits {
						t.Fatalf("seed %d: key %s from %s: more than %d hops", seed, key.Short(8), start.Short(8), id.Digits)
					}
				}
				if at != want {
					t.Fatalf("seed %d, %d nodes: key %s from %s reached %s, root is %s", seed, n, key.Short(8), start.Short(8), at.Short(8), want.Short(8))
				}
			}
		}
	}
}

// globalRoot applies surrogate routing to the whole membership at once.
func globalRoot(nodes []id.ID, key id.ID) id.ID {
	set := nodes
	for level := 0; level < id.Digits && len(set) > 1; level++ {
		for k := range id.Base {
			d := (key.Digit(level) + k) % id.Base
			var next []id.ID
			for _, x := range set {
				if x.Digit(level) == d {
					next = append(next, x)
				}
			}
			if len(next) > 0 {
				set = next
				break
			}
		}
	}
	return set[0]
}
