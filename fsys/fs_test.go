package fsys_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"math/rand/v2"
	"os"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/puddlestore/puddlestore/blockstore"
	"github.com/puddlestore/puddlestore/fsys"
	"github.com/puddlestore/puddlestore/meta"
)

// storeBlocks adapts a blockstore.Store to fsys.Blocks.
type storeBlocks struct{ s blockstore.Store }

func (b storeBlocks) Put(ctx context.Context, data []byte) (blockstore.Ref, error) {
	ref := blockstore.RefOf(data)
	return ref, b.s.Put(ctx, ref, data)
}

func (b storeBlocks) Get(ctx context.Context, ref blockstore.Ref) ([]byte, error) {
	return b.s.Get(ctx, ref)
}

func newFS(t *testing.T) (*fsys.FS, blockstore.Store) {
	t.Helper()
	st, err := meta.New(meta.Config{})
	if err != nil {
		t.Fatal(err)
	}
	bs := blockstore.NewMemory()
	// Small chunks and manifests, so that modest files span many blocks
	// and a manifest tree.
	return fsys.New(fsys.MetaState(st), storeBlocks{bs}, fsys.Options{User: "alice", TempDir: t.TempDir()}), bs
}

func randBytes(rng *rand.Rand, n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(rng.Uint32())
	}
	return b
}

func readAll(t *testing.T, f *fsys.FS, path string, version uint64) []byte {
	t.Helper()
	file, err := f.OpenVersion(context.Background(), path, version)
	if err != nil {
		t.Fatalf("open %s v%d: %v", path, version, err)
	}
	defer file.Close()
	data, err := io.ReadAll(file)
	if err != nil {
		t.Fatalf("read %s v%d: %v", path, version, err)
	}
	return data
}

// TestVersions: every write is a version, each readable again; restore
// adds a version; a view of the past reads what was current then.
func TestVersions(t *testing.T) {
	ctx := context.Background()
	f, _ := newFS(t)
	rng := rand.New(rand.NewPCG(1, 1))
	if err := f.Mkdir(ctx, "/docs", false); err != nil {
		t.Fatal(err)
	}
	var contents [][]byte
	var times []time.Time
	for i, n := range []int{0, 100, 3 << 20, 5000} {
		data := randBytes(rng, n)
		v, _, err := f.WriteFile(ctx, "/docs/a", bytes.NewReader(data), fsys.WriteOptions{})
		if err != nil || v.Number != uint64(i+1) || v.Size != uint64(n) {
			t.Fatalf("write %d: %+v %v", i, v, err)
		}
		contents = append(contents, data)
		times = append(times, time.Unix(0, v.Time))
	}
	for i, want := range contents {
		if got := readAll(t, f, "/docs/a", uint64(i+1)); !bytes.Equal(got, want) {
			t.Fatalf("version %d: %d bytes, want %d", i+1, len(got), len(want))
		}
		if got := readAll(t, f.AsOf(times[i]), "/docs/a", 0); !bytes.Equal(got, want) {
			t.Fatalf("as of version %d's time: %d bytes, want %d", i+1, len(got), len(want))
		}
	}
	v, err := f.Restore(ctx, "/docs/a", 3)
	if err != nil || v.Number != 5 {
		t.Fatalf("restore: %+v %v", v, err)
	}
	if got := readAll(t, f, "/docs/a", 0); !bytes.Equal(got, contents[2]) {
		t.Fatal("restored content differs from version 3")
	}
	hist, err := f.History(ctx, "/docs/a")
	if err != nil || len(hist) != 5 || hist[0].Writer != "alice" {
		t.Fatalf("history: %+v %v", hist, err)
	}
	if _, err := f.OpenVersion(ctx, "/docs/a", 9); !errors.Is(err, meta.ErrNotExist) {
		t.Fatalf("open of a version that never was: %v", err)
	}
	if _, _, err := f.AsOf(times[0]).WriteFile(ctx, "/docs/b", strings.NewReader("x"), fsys.WriteOptions{}); !errors.Is(err, fsys.ErrReadOnly) {
		t.Fatalf("write to the past: %v", err)
	}
}

// TestReadersSeeWholeVersions: a reader keeps reading the version it
// opened, whole, while writers commit new ones.
func TestReadersSeeWholeVersions(t *testing.T) {
	ctx := context.Background()
	f, _ := newFS(t)
	rng := rand.New(rand.NewPCG(2, 2))
	v1, v2 := randBytes(rng, 6<<20), randBytes(rng, 6<<20)
	if _, _, err := f.WriteFile(ctx, "/f", bytes.NewReader(v1), fsys.WriteOptions{}); err != nil {
		t.Fatal(err)
	}
	r, err := f.Open(ctx, "/f")
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	half := make([]byte, 3<<20)
	if _, err := io.ReadFull(r, half); err != nil {
		t.Fatal(err)
	}
	if _, _, err := f.WriteFile(ctx, "/f", bytes.NewReader(v2), fsys.WriteOptions{}); err != nil {
		t.Fatal(err)
	}
	rest, err := io.ReadAll(r)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(append(half, rest...), v1) {
		t.Fatal("a reader of version 1 read bytes of version 2")
	}
	if got := readAll(t, f, "/f", 0); !bytes.Equal(got, v2) {
		t.Fatal("a new reader does not see version 2")
	}
}

// TestWriters: close-to-open writes through Create and OpenFile; racing
// writers: the second to close gets a Conflict and commits nothing.
func TestWriters(t *testing.T) {
	ctx := context.Background()
	f, _ := newFS(t)
	w, err := f.Create(ctx, "/log")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Write([]byte("hello ")); err != nil {
		t.Fatal(err)
	}
	if _, err := f.Stat(ctx, "/log"); !errors.Is(err, meta.ErrNotExist) {
		t.Fatalf("file visible before close: %v", err)
	}
	if _, err := w.Write([]byte("world")); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if got := readAll(t, f, "/log", 0); string(got) != "hello world" {
		t.Fatalf("after close: %q", got)
	}

	// An edit in the middle and an append, through read-write opens.
	e, err := f.OpenFile(ctx, "/log", os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.WriteAt([]byte("W"), 6); err != nil {
		t.Fatal(err)
	}
	if err := e.Close(); err != nil {
		t.Fatal(err)
	}
	a, err := f.OpenFile(ctx, "/log", os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.Write([]byte("!")); err != nil {
		t.Fatal(err)
	}
	if err := a.Close(); err != nil {
		t.Fatal(err)
	}
	if got := readAll(t, f, "/log", 0); string(got) != "hello World!" {
		t.Fatalf("after edit and append: %q", got)
	}

	// Two writers open the same version; the second to close loses.
	w1, err := f.OpenFile(ctx, "/log", os.O_RDWR|os.O_TRUNC, 0)
	if err != nil {
		t.Fatal(err)
	}
	w2, err := f.OpenFile(ctx, "/log", os.O_RDWR|os.O_TRUNC, 0)
	if err != nil {
		t.Fatal(err)
	}
	w1.Write([]byte("one"))
	w2.Write([]byte("two"))
	if err := w1.Close(); err != nil {
		t.Fatal(err)
	}
	var me *meta.Error
	if err := w2.Close(); !errors.Is(err, meta.ErrConflict) || !errors.As(err, &me) || me.Current == nil {
		t.Fatalf("second writer: %v, want Conflict with the winner's version", err)
	}
	if got := readAll(t, f, "/log", 0); string(got) != "one" {
		t.Fatalf("after the race: %q", got)
	}

	// O_EXCL on an existing file; creating in a missing directory.
	if _, err := f.OpenFile(ctx, "/log", os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o644); !errors.Is(err, meta.ErrExist) {
		t.Fatalf("O_EXCL: %v", err)
	}
	n, err := f.Create(ctx, "/missing/x")
	if err != nil {
		t.Fatal(err)
	}
	if err := n.Close(); !errors.Is(err, meta.ErrNotExist) {
		t.Fatalf("create under a missing directory: %v", err)
	}
}

// TestBadInput: clear errors, and nothing stored is lost.
func TestBadInput(t *testing.T) {
	ctx := context.Background()
	f, _ := newFS(t)
	if err := f.Mkdir(ctx, "/d", false); err != nil {
		t.Fatal(err)
	}
	if _, _, err := f.WriteFile(ctx, "/d/keep", strings.NewReader("precious"), fsys.WriteOptions{}); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{"", "rel", "/a/../b", "/a/./b", "/a\x00b", "/" + strings.Repeat("n", 256), "//a"} {
		if _, _, err := f.WriteFile(ctx, p, strings.NewReader("x"), fsys.WriteOptions{}); !errors.Is(err, meta.ErrInvalid) {
			t.Errorf("write %q: %v, want ErrInvalid", p, err)
		}
	}
	if _, _, err := f.WriteFile(ctx, "/d", strings.NewReader("x"), fsys.WriteOptions{}); !errors.Is(err, meta.ErrIsDir) {
		t.Errorf("write onto a directory: %v", err)
	}
	if _, err := f.Open(ctx, "/d"); !errors.Is(err, meta.ErrIsDir) {
		t.Errorf("open of a directory: %v", err)
	}
	if err := f.Remove(ctx, "/d", false); !errors.Is(err, meta.ErrNotEmpty) {
		t.Errorf("remove of a non-empty directory: %v", err)
	}
	if err := f.Mkdir(ctx, "/d/keep/sub", false); !errors.Is(err, meta.ErrNotDir) {
		t.Errorf("mkdir under a file: %v", err)
	}
	if got := readAll(t, f, "/d/keep", 0); string(got) != "precious" {
		t.Fatalf("stored file changed: %q", got)
	}
}

// TestIOFS: the io/fs view passes the standard library's checks.
func TestIOFS(t *testing.T) {
	ctx := context.Background()
	f, _ := newFS(t)
	rng := rand.New(rand.NewPCG(3, 3))
	files := map[string]int{"a.txt": 10, "dir/b": 5000, "dir/sub/c": 1500 << 10, "dir/sub/empty": 0, "z": 1}
	for _, d := range []string{"/dir", "/dir/sub", "/emptydir"} {
		if err := f.Mkdir(ctx, d, false); err != nil {
			t.Fatal(err)
		}
	}
	var names []string
	for name, n := range files {
		if _, _, err := f.WriteFile(ctx, "/"+name, bytes.NewReader(randBytes(rng, n)), fsys.WriteOptions{}); err != nil {
			t.Fatal(err)
		}
		names = append(names, name)
	}
	if err := fstest.TestFS(f.IOFS(), names...); err != nil {
		t.Fatal(err)
	}
	if _, err := f.IOFS().Open("dir/../a.txt"); err == nil {
		t.Fatal("opened an invalid io/fs name")
	}
	if _, err := f.IOFS().Open("nope"); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("open of a missing name: %v, want fs.ErrNotExist", err)
	}
}
