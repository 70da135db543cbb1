package blockstore_test

import (
	"context"
	"errors"
	"math/rand/v2"
	"testing"

	"github.com/puddlestore/puddlestore/blockstore"
	"github.com/puddlestore/puddlestore/blockstore/storetest"
	"github.com/puddlestore/puddlestore/wal"
)

func TestCompact(t *testing.T) {
	ctx := context.Background()
	m := wal.NewMemFS(1)
	opts := blockstore.Options{FS: m, PackBytes: 16 << 10}
	d, err := blockstore.Open("/b", opts)
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(1, 2))
	live := map[blockstore.Ref][]byte{}
	var gone []blockstore.Ref
	for i := range 300 {
		ref, data := storetest.Block(uint64(i), 500+rng.IntN(1500))
		if err := d.Put(ctx, ref, data); err != nil {
			t.Fatal(err)
		}
		live[ref] = data
	}
	for ref := range live {
		if rng.IntN(10) < 7 {
			if err := d.Delete(ctx, ref); err != nil {
				t.Fatal(err)
			}
			delete(live, ref)
			gone = append(gone, ref)
		}
	}
	before := d.Stats()
	cs, err := d.Compact(ctx, 0.5)
	if err != nil {
		t.Fatal(err)
	}
	after := d.Stats()
	t.Logf("before %+v\ncompact %+v\nafter %+v", before, cs, after)
	if cs.Packs == 0 || after.Packs >= before.Packs || after.DeadBytes >= before.DeadBytes/2 {
		t.Fatalf("compaction reclaimed too little")
	}
	check := func(d *blockstore.Disk) {
		t.Helper()
		for ref, data := range live {
			expectGet(t, d, ref, data, nil)
		}
		for _, ref := range gone {
			expectGet(t, d, ref, nil, blockstore.ErrNotFound)
		}
		if st := d.Stats(); st.Blocks != int64(len(live)) {
			t.Fatalf("stats %+v, want %d blocks", st, len(live))
		}
	}
	check(d)
	d.Close()
	if d, err = blockstore.Open("/b", opts); err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	check(d)
}

// TestCompactKeepsTombstone: a tombstone in a compacted pack is carried
// forward while an older pack still holds the deleted block's record, or
// the block would come back on reopen.
func TestCompactKeepsTombstone(t *testing.T) {
	ctx := context.Background()
	m := wal.NewMemFS(1)
	opts := blockstore.Options{FS: m, PackBytes: 8 << 10}
	d, err := blockstore.Open("/b", opts)
	if err != nil {
		t.Fatal(err)
	}
	put := func(seed uint64, n int) blockstore.Ref {
		ref, data := storetest.Block(seed, n)
		if err := d.Put(ctx, ref, data); err != nil {
			t.Fatal(err)
		}
		return ref
	}
	// Pack 0 (8 KiB packs): x and five live blocks, so it is not compacted.
	x := put(1, 1000)
	for i := range 5 {
		put(uint64(100+i), 1000)
	}
	// Pack 1: a block and tombstones for it and for x: all dead.
	y := put(2, 3000)
	for _, ref := range []blockstore.Ref{y, x} {
		if err := d.Delete(ctx, ref); err != nil {
			t.Fatal(err)
		}
	}
	put(3, 8000) // pack 2, the active one
	cs, err := d.Compact(ctx, 0.5)
	if err != nil {
		t.Fatal(err)
	}
	if cs.Packs != 1 || cs.Tombstones != 1 {
		t.Fatalf("compact %+v, want one pack and one tombstone carried", cs)
	}
	d.Close()
	if d, err = blockstore.Open("/b", opts); err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	if _, err := d.Get(ctx, x); !errors.Is(err, blockstore.ErrNotFound) {
		t.Fatalf("deleted block after compaction and reopen: %v", err)
	}
}
