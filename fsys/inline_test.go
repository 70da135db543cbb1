package fsys_test

import (
	"bytes"
	"context"
	"os"
	"sync/atomic"
	"testing"

	"github.com/puddlestore/puddlestore/blockstore"
	"github.com/puddlestore/puddlestore/fsys"
	"github.com/puddlestore/puddlestore/meta"
)

// countingBlocks counts the puts and gets that reach a store.
type countingBlocks struct {
	storeBlocks
	puts, gets atomic.Int64
}

func (b *countingBlocks) Put(ctx context.Context, data []byte) (blockstore.Ref, error) {
	b.puts.Add(1)
	return b.storeBlocks.Put(ctx, data)
}

func (b *countingBlocks) Get(ctx context.Context, ref blockstore.Ref) ([]byte, error) {
	b.gets.Add(1)
	return b.storeBlocks.Get(ctx, ref)
}

// TestInlineSmallFiles: a file of at most InlineLimit bytes is one
// metadata commit holding its bytes, with no block put, and reading it
// (now, as an old version, or through a writer that extends it) fetches
// no block; its version id is the ref its inline manifest block would
// have had. One byte more goes to blocks as before.
func TestInlineSmallFiles(t *testing.T) {
	ctx := context.Background()
	st, _ := meta.New(meta.Config{})
	bs := &countingBlocks{storeBlocks: storeBlocks{blockstore.NewMemory()}}
	f := fsys.New(fsys.MetaState(st), bs, fsys.Options{User: "alice", TempDir: t.TempDir()})

	small := bytes.Repeat([]byte("0123456789abcdef"), fsys.InlineLimit/16)
	for i, data := range [][]byte{nil, []byte("hello"), small} {
		v, stats, err := f.WriteFile(ctx, "/f", bytes.NewReader(data), fsys.WriteOptions{})
		if err != nil {
			t.Fatal(err)
		}
		want, err := fsys.InlineRef(data)
		if err != nil {
			t.Fatal(err)
		}
		if !v.Inline || v.Number != uint64(i+1) || v.Size != uint64(len(data)) || v.Ref != meta.Ref(want) || stats != (fsys.ContentStats{}) {
			t.Fatalf("write %d bytes: version %+v, stats %+v; want inline, ref %s", len(data), v, stats, want)
		}
		// The same ref as the manifest block WriteContent stores.
		mem := blockstore.NewMemory()
		if ref, _, _, err := fsys.WriteContent(ctx, storeBlocks{mem}, bytes.NewReader(data), fsys.ContentOptions{}); err != nil || ref != want {
			t.Fatalf("WriteContent ref %s, %v; InlineRef %s", ref, err, want)
		}
	}
	if n := bs.puts.Load(); n != 0 {
		t.Fatalf("%d block puts for inline files", n)
	}
	if got := readAll(t, f, "/f", 0); !bytes.Equal(got, small) {
		t.Fatalf("read current: %d bytes", len(got))
	}
	if got := readAll(t, f, "/f", 2); string(got) != "hello" {
		t.Fatalf("read v2 (from History, then Version): %q", got)
	}
	if got := readAll(t, f, "/f", 1); len(got) != 0 {
		t.Fatalf("read v1: %q", got)
	}
	if vs, err := f.History(ctx, "/f"); err != nil || len(vs) != 3 || !vs[1].Inline || vs[1].HasData() {
		t.Fatalf("history leaves data out: %+v, %v", vs, err)
	}

	// Create/Close of a small file commits inline too, and a writer that
	// appends loads the inline content without a block fetch.
	w, err := f.Create(ctx, "/g")
	if err != nil {
		t.Fatal(err)
	}
	w.Write([]byte("tiny"))
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	w, err = f.OpenFile(ctx, "/g", os.O_RDWR|os.O_APPEND, 0)
	if err != nil {
		t.Fatal(err)
	}
	w.Write([]byte(" more"))
	if err := w.Close(); err != nil || !w.Version().Inline {
		t.Fatalf("close: %v, version %+v", err, w.Version())
	}
	if got := readAll(t, f, "/g", 0); string(got) != "tiny more" {
		t.Fatalf("read /g: %q", got)
	}
	if p, g := bs.puts.Load(), bs.gets.Load(); p != 0 || g != 0 {
		t.Fatalf("%d block puts, %d gets for inline files", p, g)
	}

	// Past the limit: blocks, as before.
	w, err = f.OpenFile(ctx, "/f", os.O_RDWR|os.O_APPEND, 0)
	if err != nil {
		t.Fatal(err)
	}
	w.Write([]byte("!"))
	if err := w.Close(); err != nil || w.Version().Inline {
		t.Fatalf("close: %v, version %+v", err, w.Version())
	}
	if bs.puts.Load() == 0 {
		t.Fatal("no block put for a file over the limit")
	}
	if got := readAll(t, f, "/f", 0); !bytes.Equal(got, append(small, '!')) {
		t.Fatalf("read /f over the limit: %d bytes", len(got))
	}
	// Restoring an inline version brings its data back.
	if _, err := f.Restore(ctx, "/f", 2); err != nil {
		t.Fatal(err)
	}
	if got := readAll(t, f, "/f", 0); string(got) != "hello" {
		t.Fatalf("read restored: %q", got)
	}
}
