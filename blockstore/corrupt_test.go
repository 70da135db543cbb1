package blockstore_test

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/puddlestore/puddlestore/blockstore"
	"github.com/puddlestore/puddlestore/blockstore/storetest"
	"github.com/puddlestore/puddlestore/wal"
)

const headerSize = 48 // record header, see record.go

// threeBlocks puts three 1000-byte blocks into a fresh store in dir.
func threeBlocks(t *testing.T, dir string, opts blockstore.Options) (*blockstore.Disk, []blockstore.Ref, [][]byte) {
	t.Helper()
	d, err := blockstore.Open(dir, opts)
	if err != nil {
		t.Fatal(err)
	}
	var refs []blockstore.Ref
	var datas [][]byte
	for i := range 3 {
		ref, data := storetest.Block(uint64(i), 1000)
		if err := d.Put(context.Background(), ref, data); err != nil {
			t.Fatal(err)
		}
		refs, datas = append(refs, ref), append(datas, data)
	}
	return d, refs, datas
}

func flipByte(t *testing.T, name string, off int64) {
	t.Helper()
	f, err := os.OpenFile(name, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	b := []byte{0}
	if _, err := f.ReadAt(b, off); err != nil {
		t.Fatal(err)
	}
	b[0] ^= 0x10
	if _, err := f.WriteAt(b, off); err != nil {
		t.Fatal(err)
	}
}

func expectGet(t *testing.T, d *blockstore.Disk, ref blockstore.Ref, want []byte, wantErr error) {
	t.Helper()
	got, err := d.Get(context.Background(), ref)
	if wantErr != nil {
		if !errors.Is(err, wantErr) || got != nil {
			t.Fatalf("get %s: %d bytes, %v; want %v", ref, len(got), err, wantErr)
		}
		return
	}
	if err != nil || !bytes.Equal(got, want) {
		t.Fatalf("get %s: %v", ref, err)
	}
}

// TestBitFlip damages one byte of a stored block: reads report ErrCorrupt
// and count it, the other blocks read fine, before and after a reopen, and
// putting the good bytes again repairs it.
func TestBitFlip(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	d, refs, datas := threeBlocks(t, dir, blockstore.Options{})
	pack := filepath.Join(dir, "0000000000000000.pack")
	flipByte(t, pack, (headerSize+1000)+headerSize+500) // the second block's data
	for range 2 {
		expectGet(t, d, refs[1], nil, blockstore.ErrCorrupt)
		if _, err := d.GetRange(ctx, refs[1], 0, 10); !errors.Is(err, blockstore.ErrCorrupt) {
			t.Fatalf("range of damaged block: %v", err)
		}
		expectGet(t, d, refs[0], datas[0], nil)
		expectGet(t, d, refs[2], datas[2], nil)
		if st := d.Stats(); st.VerifyFailures != 2 || st.Blocks != 3 {
			t.Fatalf("stats %+v", st)
		}
		d.Close()
		var err error
		if d, err = blockstore.Open(dir, blockstore.Options{}); err != nil {
			t.Fatal(err)
		}
	}
	// A Put after a read found the damage rewrites the block (a Put of a
	// block not known to be damaged is a no-op).
	expectGet(t, d, refs[1], nil, blockstore.ErrCorrupt)
	if err := d.Put(ctx, refs[1], datas[1]); err != nil {
		t.Fatal(err)
	}
	expectGet(t, d, refs[1], datas[1], nil)
	d.Close()
	d, err := blockstore.Open(dir, blockstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	for i := range refs {
		expectGet(t, d, refs[i], datas[i], nil)
	}
}

// TestDamagedHeader: a header that fails its checksum in the middle of a
// pack loses that block only; the scan finds the next record.
func TestDamagedHeader(t *testing.T) {
	dir := t.TempDir()
	d, refs, datas := threeBlocks(t, dir, blockstore.Options{})
	d.Close()
	flipByte(t, filepath.Join(dir, "0000000000000000.pack"), headerSize+1000+20) // second header's ref
	d, err := blockstore.Open(dir, blockstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	expectGet(t, d, refs[0], datas[0], nil)
	expectGet(t, d, refs[1], nil, blockstore.ErrNotFound)
	expectGet(t, d, refs[2], datas[2], nil)
}

// TestTornTail appends what a crash in the middle of a commit can leave
// at the end of the active pack, reopens, and checks that the acknowledged
// blocks are intact, the torn record is invisible and cut off, and the
// store keeps working.
func TestTornTail(t *testing.T) {
	ref, data := storetest.Block(9, 3000)
	var hdr []byte
	{ // a real record for ref, taken from a store of its own
		m := wal.NewMemFS(1)
		d, err := blockstore.Open("/x", blockstore.Options{FS: m})
		if err != nil {
			t.Fatal(err)
		}
		d.Put(context.Background(), ref, data)
		d.Close()
		rec, _ := m.ReadFile("/x/0000000000000000.pack")
		hdr = rec[:headerSize]
	}
	tails := map[string][]byte{
		"partial header":       hdr[:20],
		"header only":          hdr,
		"partial data":         append(bytes.Clone(hdr), data[:1000]...),
		"zeroed data":          append(bytes.Clone(hdr), make([]byte, len(data))...),
		"zeros":                make([]byte, 5000),
		"garbage after record": append(append(bytes.Clone(hdr), data...), "garbage"...),
	}
	for name, tail := range tails {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			m := wal.NewMemFS(1)
			d, refs, datas := threeBlocks(t, "/b", blockstore.Options{FS: m})
			d.Close()
			pack := "/b/0000000000000000.pack"
			f, err := m.OpenAppend(pack)
			if err != nil {
				t.Fatal(err)
			}
			f.Write(tail)
			f.Sync()
			f.Close()
			d, err = blockstore.Open("/b", blockstore.Options{FS: m})
			if err != nil {
				t.Fatal(err)
			}
			for i := range refs {
				expectGet(t, d, refs[i], datas[i], nil)
			}
			whole := name == "garbage after record"
			if ok, _ := d.Has(ctx, ref); ok != whole {
				t.Fatalf("torn block visible: %v", ok)
			}
			want := int64(3 * (headerSize + 1000))
			if whole {
				want += headerSize + int64(len(data))
			}
			if got, _ := m.ReadFile(pack); int64(len(got)) != want {
				t.Fatalf("pack is %d bytes after recovery, want %d", len(got), want)
			}
			if err := d.Put(ctx, ref, data); err != nil {
				t.Fatal(err)
			}
			d.Close()
			if d, err = blockstore.Open("/b", blockstore.Options{FS: m}); err != nil {
				t.Fatal(err)
			}
			defer d.Close()
			expectGet(t, d, ref, data, nil)
			for i := range refs {
				expectGet(t, d, refs[i], datas[i], nil)
			}
			if st := d.Stats(); st.Blocks != 4 || st.VerifyFailures != 0 {
				t.Fatalf("stats %+v", st)
			}
		})
	}
}
