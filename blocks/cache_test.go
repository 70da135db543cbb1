package blocks

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"

	"github.com/puddlestore/puddlestore/blockstore"
)

func TestCacheLRU(t *testing.T) {
	c := newCache(100)
	ref := func(i int) blockstore.Ref { return blockstore.RefOf(fmt.Appendf(nil, "%d", i)) }
	for i := range 4 {
		added, ev := c.add(ref(i), make([]byte, 30))
		want := []blockstore.Ref(nil)
		if i == 3 {
			want = []blockstore.Ref{ref(1)}
		}
		if !added || !slices.Equal(ev, want) {
			t.Fatalf("add %d: added %v, evicted %v", i, added, ev)
		}
		if i == 1 {
			c.lookup(ref(0)) // 0 is now more recent than 1
		}
	}
	// 4*30 > 100: the least recently used (1) went.
	if _, ok := c.lookup(ref(1)); ok {
		t.Fatal("1 still cached")
	}
	for _, i := range []int{0, 2, 3} {
		if _, ok := c.lookup(ref(i)); !ok {
			t.Fatalf("%d evicted", i)
		}
	}
	if n, b := c.stats(); n != 3 || b != 90 {
		t.Fatalf("stats %d blocks %d bytes", n, b)
	}
	if added, _ := c.add(ref(9), make([]byte, 101)); added {
		t.Fatal("a block over the budget was cached")
	}
	// Order now, least recent first: 0, 2, 3; 70 bytes need two out.
	if added, ev := c.add(ref(4), make([]byte, 70)); !added || !slices.Equal(ev, []blockstore.Ref{ref(0), ref(2)}) {
		t.Fatalf("add 70 bytes: %v %v", added, ev)
	}
	if _, err := c.Get(context.Background(), ref(1)); !errors.Is(err, blockstore.ErrNotFound) {
		t.Fatalf("get of an uncached block: %v", err)
	}
	if b, err := c.GetRange(context.Background(), ref(4), 60, 20); err != nil || len(b) != 10 {
		t.Fatalf("range: %d bytes, %v", len(b), err)
	}
}
