package fsys

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"sync"
	"testing"

	"github.com/puddlestore/puddlestore/blockstore"
)

// memBlocks is an in-memory BlockPutter and BlockGetter. It keeps the
// slices it is given, so check can tell if a writer changed one after
// putting it.
type memBlocks struct {
	mu       sync.Mutex // guards the fields below
	blocks   map[blockstore.Ref][]byte
	newBytes int64 // bytes of blocks put that were not already held
	puts     int
	inFlight int // Puts running now
	maxIn    int // the most Puts ever running at once

	// failPut, if set, is called by Put (without mu held); an error fails it.
	failPut func(data []byte) error
	// alter, if set, may replace the bytes Get returns.
	alter func(ref blockstore.Ref, data []byte) []byte
	// gate, if set, is received from by every Put before it stores;
	// full is closed when gateAt Puts are waiting at it.
	gate   chan struct{}
	full   chan struct{}
	gateAt int
}

var _ BlockPutter = (*memBlocks)(nil)
var _ BlockGetter = (*memBlocks)(nil)

func newMemBlocks() *memBlocks { return &memBlocks{blocks: map[blockstore.Ref][]byte{}} }

func (m *memBlocks) Put(ctx context.Context, data []byte) (blockstore.Ref, error) {
	m.mu.Lock()
	m.inFlight++
	m.maxIn = max(m.maxIn, m.inFlight)
	if m.full != nil && m.inFlight == m.gateAt {
		close(m.full)
		m.full = nil
	}
	m.mu.Unlock()
	defer func() {
		m.mu.Lock()
		m.inFlight--
		m.mu.Unlock()
	}()
	if m.gate != nil {
		select {
		case <-m.gate:
		case <-ctx.Done():
			return blockstore.Ref{}, ctx.Err()
		}
	}
	if m.failPut != nil {
		if err := m.failPut(data); err != nil {
			return blockstore.Ref{}, err
		}
	}
	ref := blockstore.RefOf(data)
	m.mu.Lock()
	defer m.mu.Unlock()
	m.puts++
	if _, ok := m.blocks[ref]; !ok {
		m.blocks[ref] = data
		m.newBytes += int64(len(data))
	}
	return ref, nil
}

func (m *memBlocks) Get(ctx context.Context, ref blockstore.Ref) ([]byte, error) {
	m.mu.Lock()
	data, ok := m.blocks[ref]
	m.mu.Unlock()
	if !ok {
		return nil, fmt.Errorf("get %s: %w", ref, blockstore.ErrNotFound)
	}
	if m.alter != nil {
		data = m.alter(ref, data)
	}
	return data, nil
}

// check fails t if a stored block no longer hashes to its ref.
func (m *memBlocks) check(t *testing.T) {
	t.Helper()
	m.mu.Lock()
	defer m.mu.Unlock()
	for ref, data := range m.blocks {
		if blockstore.RefOf(data) != ref {
			t.Fatalf("block %s was changed after it was put", ref)
		}
	}
}

func write(t *testing.T, m *memBlocks, data []byte, opts ContentOptions) (blockstore.Ref, ContentStats) {
	t.Helper()
	root, size, st, err := WriteContent(context.Background(), m, bytes.NewReader(data), opts)
	if err != nil {
		t.Fatalf("WriteContent of %d bytes: %v", len(data), err)
	}
	if size != int64(len(data)) {
		t.Fatalf("WriteContent of %d bytes returned size %d", len(data), size)
	}
	return root, st
}

func open(t *testing.T, m *memBlocks, root blockstore.Ref, opts ContentOptions) *Content {
	t.Helper()
	c, err := OpenContent(context.Background(), m, root, opts)
	if err != nil {
		t.Fatalf("OpenContent: %v", err)
	}
	return c
}

// TestContentRoundTrip writes files of sizes around every limit and reads
// them back whole, by random ReadAts and by random seeks, with the default
// fanout and with fanouts small enough to make trees of several levels.
func TestContentRoundTrip(t *testing.T) {
	t.Parallel()
	r, _ := testRand(t, 6)
	random := corpus().data
	three := corpus().sizes[0] + corpus().sizes[1] + corpus().sizes[2]
	tests := []struct {
		name string
		data []byte
		kind ManifestKind // of the root with the default fanout
	}{
		{"empty", nil, KindInline},
		{"1", random[:1], KindInline},
		{"inline-1", random[:InlineLimit-1], KindInline},
		{"inline", random[:InlineLimit], KindInline},
		{"inline+1", random[:InlineLimit+1], KindLeaf},
		{"min chunk", random[:MinChunkSize], KindLeaf},
		{"min chunk+1", random[:MinChunkSize+1], KindLeaf},
		{"3 chunks", random[:three], KindLeaf},
		{"3 chunks+1", random[:three+1], KindLeaf},
		{"2 max chunks", make([]byte, 2*MaxChunkSize), KindLeaf},
		{"9 MiB", random[5 : 9<<20], KindLeaf},
	}
	// Buffers are shared: fresh memory is slow under -race.
	all := make([]byte, 10<<20)
	p, q := make([]byte, MaxChunkSize), make([]byte, MaxChunkSize)
	for _, tt := range tests {
		fanouts := []int{0}
		if _, sizes := chunkRefs(tt.data); len(sizes) > 2 {
			fanouts = append(fanouts, 2, 3)
		}
		for _, fanout := range fanouts {
			t.Run(fmt.Sprintf("%s/fanout %d", tt.name, fanout), func(t *testing.T) {
				opts := ContentOptions{fanout: fanout, Parallel: 3, Readahead: 2}
				m := newMemBlocks()
				root, st := write(t, m, tt.data, opts)
				m.check(t)
				c := open(t, m, root, opts)
				_, sizes := chunkRefs(tt.data)
				chunks := len(sizes)
				if c.Size() != int64(len(tt.data)) || c.Ref() != root {
					t.Fatalf("Size %d, Ref %s; want %d, %s", c.Size(), c.Ref(), len(tt.data), root)
				}
				want := tt.kind
				if fanout > 0 && chunks > fanout {
					want = KindNode
				}
				if c.root.m.Kind != want {
					t.Fatalf("root manifest kind %d, want %d", c.root.m.Kind, want)
				}
				if want != KindInline && (st.Chunks != chunks || st.ChunkBytes != int64(len(tt.data))) {
					t.Fatalf("stats %+v, want %d chunks of %d bytes", st, chunks, len(tt.data))
				}
				rd := c.NewReader()
				defer rd.Close()
				n, err := io.ReadFull(rd, all[:len(tt.data)+1])
				if err != io.ErrUnexpectedEOF && !(err == io.EOF && n == 0) || !bytes.Equal(all[:n], tt.data) {
					t.Fatalf("reading all: %d bytes, %v; want the %d written", n, err, len(tt.data))
				}
				checkReadAt(t, c, tt.data, r, p, q)
				checkSeek(t, c, tt.data, r, p, q)
			})
		}
	}
}

// checkReadAt compares random ReadAts of c with those of the data.
func checkReadAt(t *testing.T, c *Content, data []byte, r *rand.Rand, pbuf, qbuf []byte) {
	t.Helper()
	want := bytes.NewReader(data)
	size := int64(len(data))
	maxN := int(min(size+2, int64(len(pbuf))))
	for i := range 16 {
		off := r.Int64N(size + 2)
		n := r.IntN(maxN + 1)
		if i%3 == 0 {
			n = r.IntN(min(100, maxN+1))
		}
		p, q := pbuf[:n], qbuf[:n]
		gn, gerr := c.ReadAt(p, off)
		wn, werr := want.ReadAt(q, off)
		if gn != wn || (gerr == nil) != (werr == nil) || !bytes.Equal(p[:gn], q[:wn]) {
			t.Fatalf("ReadAt(%d bytes, %d) of %d = %d, %v; want %d, %v", n, off, size, gn, gerr, wn, werr)
		}
	}
	if _, err := c.ReadAt(make([]byte, 1), -1); err == nil {
		t.Fatal("ReadAt at -1 succeeded")
	}
}

// checkSeek compares random seeks and reads of a Reader with those of the
// data.
func checkSeek(t *testing.T, c *Content, data []byte, r *rand.Rand, pbuf, qbuf []byte) {
	t.Helper()
	got, want := c.NewReader(), bytes.NewReader(data)
	defer got.Close()
	size := int64(len(data))
	for range 12 {
		off, whence := r.Int64N(size+2), r.IntN(3)
		if whence != io.SeekStart {
			off -= size / 2
		}
		gp, gerr := got.Seek(off, whence)
		wp, werr := want.Seek(off, whence)
		if (gerr == nil) != (werr == nil) || (gerr == nil && gp != wp) {
			t.Fatalf("Seek(%d, %d) = %d, %v; want %d, %v", off, whence, gp, gerr, wp, werr)
		}
		n := r.IntN(len(pbuf) + 1)
		p, q := pbuf[:n], qbuf[:n]
		gn, gerr := io.ReadFull(got, p)
		wn, werr := io.ReadFull(want, q)
		if gn != wn || gerr != werr || !bytes.Equal(p[:gn], q[:wn]) {
			t.Fatalf("after Seek to %d: ReadFull(%d bytes) = %d, %v; want %d, %v", wp, n, gn, gerr, wn, werr)
		}
	}
}

// TestContentConcurrentReadAt: ReadAt is safe for concurrent use (as
// io.ReaderAt requires), sharing the caches.
func TestContentConcurrentReadAt(t *testing.T) {
	t.Parallel()
	data := corpus().data[:5<<20]
	m := newMemBlocks()
	opts := ContentOptions{fanout: 2}
	root, _ := write(t, m, data, opts)
	c := open(t, m, root, opts)
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Go(func() {
			p := make([]byte, 300<<10)
			for i := range 8 {
				off := int64((g*8+i)*150<<10) % int64(len(data))
				n, err := c.ReadAt(p, off)
				if (err != nil && err != io.EOF) || !bytes.Equal(p[:n], data[off:off+int64(n)]) {
					t.Errorf("ReadAt(%d bytes, %d) = %d, %v, or wrong bytes", len(p), off, n, err)
				}
			}
		})
	}
	wg.Wait()
}

// TestContentCorrupt: a chunk of the wrong length, or manifests that do not
// fit their place in the tree, are ErrCorrupt.
func TestContentCorrupt(t *testing.T) {
	t.Parallel()
	data := corpus().data[:6<<20]
	m := newMemBlocks()
	opts := ContentOptions{fanout: 2}
	root, _ := write(t, m, data, opts)
	chunks := chunkAll(t, bytes.NewReader(data))
	victim := blockstore.RefOf(chunks[len(chunks)-2])
	m.alter = func(ref blockstore.Ref, b []byte) []byte {
		if ref == victim {
			return b[:len(b)-1]
		}
		return b
	}
	c := open(t, m, root, opts)
	if _, err := c.ReadAt(make([]byte, len(data)), 0); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("ReadAt of a file with a short chunk: %v, want ErrCorrupt", err)
	}
	rd := c.NewReader()
	defer rd.Close()
	if _, err := io.ReadAll(rd); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("ReadAll of a file with a short chunk: %v, want ErrCorrupt", err)
	}
	if _, err := rd.Read(make([]byte, 1)); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("Read after the error: %v, want the error again", err)
	}

	// A chunk is not a manifest.
	if _, err := OpenContent(context.Background(), m, victim, opts); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("OpenContent of a chunk: %v, want ErrCorrupt", err)
	}
	// Manifests that decode but disagree with their parent.
	leaf := putManifest(t, m, Manifest{Kind: KindLeaf, Size: int64(len(chunks[0])),
		Entries: []ManifestEntry{{blockstore.RefOf(chunks[0]), int64(len(chunks[0]))}}})
	node := putManifest(t, m, Manifest{Kind: KindNode, Level: 1, Size: int64(len(chunks[0])),
		Entries: []ManifestEntry{{leaf, int64(len(chunks[0]))}}})
	bad := map[string]Manifest{
		"leaf size": {Kind: KindNode, Level: 1, Size: 10, Entries: []ManifestEntry{{leaf, 10}}},
		"level":     {Kind: KindNode, Level: 3, Size: int64(len(chunks[0])), Entries: []ManifestEntry{{node, int64(len(chunks[0]))}}},
		"leaf kind": {Kind: KindNode, Level: 2, Size: int64(len(chunks[0])), Entries: []ManifestEntry{{leaf, int64(len(chunks[0]))}}},
		"chunk":     {Kind: KindNode, Level: 1, Size: int64(len(chunks[0])), Entries: []ManifestEntry{{blockstore.RefOf(chunks[0]), int64(len(chunks[0]))}}},
	}
	for name, mf := range bad {
		c := open(t, m, putManifest(t, m, mf), opts)
		if _, err := c.ReadAt(make([]byte, 5), 0); !errors.Is(err, ErrCorrupt) {
			t.Errorf("%s: ReadAt: %v, want ErrCorrupt", name, err)
		}
	}
	// A missing block is the getter's error, not corruption.
	m.mu.Lock()
	delete(m.blocks, leaf)
	m.mu.Unlock()
	c = open(t, m, node, opts)
	if _, err := c.ReadAt(make([]byte, 5), 0); !errors.Is(err, blockstore.ErrNotFound) {
		t.Errorf("ReadAt with a manifest missing: %v, want ErrNotFound", err)
	}
}

func putManifest(t *testing.T, m *memBlocks, mf Manifest) blockstore.Ref {
	t.Helper()
	b, err := mf.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	ref, _ := m.Put(context.Background(), b)
	return ref
}

// TestWriteContentPipelined: chunks are put Parallel at a time, while
// chunking goes on (the gate lets no Put finish until Parallel of them are
// running, so a writer that put one chunk at a time would never finish).
func TestWriteContentPipelined(t *testing.T) {
	t.Parallel()
	data := corpus().data[:16<<20]
	const parallel = 4
	m := newMemBlocks()
	full := make(chan struct{})
	m.gate, m.full, m.gateAt = make(chan struct{}), full, parallel
	done := make(chan struct{})
	go func() {
		defer close(done)
		_, _, _, err := WriteContent(context.Background(), m, bytes.NewReader(data), ContentOptions{Parallel: parallel})
		if err != nil {
			t.Error(err)
		}
	}()
	select {
	case <-full:
	case <-done:
		t.Fatalf("write finished without %d puts in flight", parallel)
	}
	close(m.gate) // now every Put goes through
	<-done
	if m.maxIn != parallel {
		t.Fatalf("at most %d puts in flight, want %d", m.maxIn, parallel)
	}
}

// TestWriteContentErrors: a failed put or read fails the write, after
// every put in flight has returned.
func TestWriteContentErrors(t *testing.T) {
	t.Parallel()
	data := corpus().data[:6<<20]
	boom := errors.New("boom")
	for _, failAt := range []int{1, 3, -1} { // the first put, a later one, the first manifest
		m := newMemBlocks()
		var mu sync.Mutex
		n := 0
		m.failPut = func(b []byte) error {
			mu.Lock()
			defer mu.Unlock()
			if n++; n == failAt || failAt < 0 && bytes.HasPrefix(b, []byte(manifestMagic)) {
				return boom
			}
			return nil
		}
		_, _, _, err := WriteContent(context.Background(), m, bytes.NewReader(data), ContentOptions{Parallel: 2, fanout: 2})
		if !errors.Is(err, boom) {
			t.Errorf("put %d failing: WriteContent = %v, want %v", failAt, err, boom)
		}
		m.mu.Lock()
		if m.inFlight != 0 {
			t.Errorf("put %d failing: %d puts still running after WriteContent returned", failAt, m.inFlight)
		}
		m.mu.Unlock()
	}
	r := io.MultiReader(bytes.NewReader(data), &errReader{boom})
	if _, _, _, err := WriteContent(context.Background(), newMemBlocks(), r, ContentOptions{}); !errors.Is(err, boom) {
		t.Errorf("reader failing: WriteContent = %v, want %v", err, boom)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, _, _, err := WriteContent(ctx, newMemBlocks(), bytes.NewReader(data), ContentOptions{}); !errors.Is(err, context.Canceled) {
		t.Errorf("context canceled: WriteContent = %v, want %v", err, context.Canceled)
	}
}

// TestContentEdit: writing a file again with 1 MiB changed in the middle
// stores only the chunks around the change (and the manifest), and both
// versions read back whole.
func TestContentEdit(t *testing.T) {
	t.Parallel()
	data := corpus().data[:16<<20]
	m := newMemBlocks()
	v1, _ := write(t, m, data, ContentOptions{})
	before := m.newBytes
	edited := bytes.Clone(data)
	copy(edited[8<<20:], randBytes(99, 1<<20))
	v2, st := write(t, m, edited, ContentOptions{})
	added := m.newBytes - before
	t.Logf("second version: %d chunks put (%d bytes), %d new bytes stored", st.Chunks, st.ChunkBytes, added)
	if added > 4<<20+st.ManifestBytes {
		t.Errorf("1 MiB changed: %d new bytes stored, want at most 4 MiB and a manifest", added)
	}
	for _, v := range []struct {
		root blockstore.Ref
		data []byte
	}{{v1, data}, {v2, edited}} {
		rd := open(t, m, v.root, ContentOptions{}).NewReader()
		if err := sameBytes(rd, v.data); err != nil {
			t.Fatalf("version %s: %v", v.root, err)
		}
		rd.Close()
	}
}

// sameBytes reads r to its end and reports where it differs from want,
// reading into one small buffer (fresh memory is slow under -race).
func sameBytes(r io.Reader, want []byte) error {
	buf := make([]byte, 256<<10)
	off := 0
	for {
		n, err := r.Read(buf)
		if !bytes.Equal(buf[:n], want[off:min(off+n, len(want))]) {
			return fmt.Errorf("bytes %d to %d differ", off, off+n)
		}
		off += n
		if err == io.EOF && off == len(want) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("after %d of %d bytes: %w", off, len(want), err)
		}
	}
}

// BenchmarkWriteContent: chunking and pipelined puts into memory (SHA-256
// of every block included, as a real store computes it).
func BenchmarkWriteContent(b *testing.B) {
	data := randBytes(1, 64<<20)
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		m := newMemBlocks()
		if _, _, _, err := WriteContent(context.Background(), m, bytes.NewReader(data), ContentOptions{}); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkReadContent: sequential read through a Reader.
func BenchmarkReadContent(b *testing.B) {
	data := randBytes(1, 64<<20)
	m := newMemBlocks()
	root, _, _, err := WriteContent(context.Background(), m, bytes.NewReader(data), ContentOptions{})
	if err != nil {
		b.Fatal(err)
	}
	c, err := OpenContent(context.Background(), m, root, ContentOptions{})
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(data)))
	buf := make([]byte, 256<<10)
	for b.Loop() {
		rd := c.NewReader()
		if _, err := io.CopyBuffer(io.Discard, rd, buf); err != nil {
			b.Fatal(err)
		}
		rd.Close()
	}
}
