package fsys

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"sync"

	"github.com/puddlestore/puddlestore/blockstore"
)

// BlockPutter stores a block and returns its ref. It may keep data after
// it returns (blocks.Service does, to finish replicating), so callers never
// modify a slice they have put.
type BlockPutter interface {
	Put(ctx context.Context, data []byte) (blockstore.Ref, error)
}

// BlockGetter returns a block's bytes, verified against ref (blocks.Service
// and blockstore.Store do): the content reader trusts the bytes, checking
// only that each chunk has the length its manifest lists.
type BlockGetter interface {
	Get(ctx context.Context, ref blockstore.Ref) ([]byte, error)
}

// ContentOptions tune how contents are written and read. Zero values take
// the defaults.
type ContentOptions struct {
	// Parallel is how many chunk puts WriteContent keeps in flight while
	// it goes on chunking (default 8). Memory is about Parallel chunks
	// (1 MiB each on average) plus the chunker's 8 MiB.
	Parallel int
	// Readahead is how many chunks a Reader or a ReadAt fetches ahead,
	// in parallel (default 4).
	Readahead int

	fanout int // manifest entries per block (default DefaultFanout); tests force trees with 2
}

func (o ContentOptions) withDefaults() ContentOptions {
	if o.Parallel <= 0 {
		o.Parallel = 8
	}
	if o.Readahead <= 0 {
		o.Readahead = 4
	}
	if o.fanout < 2 {
		o.fanout = DefaultFanout
	}
	return o
}

// ContentStats count the blocks a WriteContent put. A block that was
// already stored is counted too: a put costs its transfer either way.
type ContentStats struct {
	Chunks        int   // chunk blocks put
	ChunkBytes    int64 // their bytes
	Manifests     int   // manifest blocks put
	ManifestBytes int64 // their bytes
}

// WriteContent stores r's bytes as a file version: it chunks them, puts the
// chunks (up to opts.Parallel at once, while chunking continues), then
// puts the tree of manifests, and returns the root manifest's ref and the
// size. A file of at most InlineLimit bytes is one manifest holding its
// bytes. Nothing refers to the blocks until the caller commits the root, so
// a failed write leaves only unreferenced blocks behind.
func WriteContent(ctx context.Context, put BlockPutter, r io.Reader, opts ContentOptions) (blockstore.Ref, int64, ContentStats, error) {
	opts = opts.withDefaults()
	var st ContentStats
	c := NewChunker(r)
	chunk, err := c.Next()
	if err != nil && err != io.EOF {
		return blockstore.Ref{}, 0, st, fmt.Errorf("fsys: write content: %w", err)
	}
	if len(chunk) <= InlineLimit {
		// Every chunk but the last is at least MinChunkSize, so a small
		// first chunk is the whole file (and none is an empty file).
		m := Manifest{Kind: KindInline, Size: int64(len(chunk)), Data: chunk}
		b, err := m.Marshal()
		if err != nil {
			return blockstore.Ref{}, 0, st, err
		}
		st.Manifests, st.ManifestBytes = 1, int64(len(b))
		ref, err := put.Put(ctx, b)
		if err != nil {
			return blockstore.Ref{}, 0, st, fmt.Errorf("fsys: write content: put manifest: %w", err)
		}
		return ref, m.Size, st, nil
	}

	// Chunks are put by up to Parallel goroutines; each fills in its own
	// ref, read only after wg.Wait.
	pctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	var wg sync.WaitGroup
	slots := make(chan struct{}, opts.Parallel)
	var refs []*blockstore.Ref
	var sizes []int64
	var size int64
	for err == nil {
		select {
		case slots <- struct{}{}:
		case <-pctx.Done():
		}
		if pctx.Err() != nil {
			break
		}
		data, ref, off := bytes.Clone(chunk), new(blockstore.Ref), size
		refs, sizes = append(refs, ref), append(sizes, int64(len(data)))
		size += int64(len(data))
		st.Chunks++
		st.ChunkBytes += int64(len(data))
		wg.Go(func() {
			defer func() { <-slots }()
			got, err := put.Put(pctx, data)
			if err != nil {
				cancel(fmt.Errorf("put chunk at %d: %w", off, err))
			}
			*ref = got
		})
		chunk, err = c.Next()
	}
	if err != io.EOF && err != nil {
		cancel(err)
	}
	wg.Wait()
	if err := context.Cause(pctx); err != nil {
		return blockstore.Ref{}, 0, st, fmt.Errorf("fsys: write content: %w", err)
	}
	entries := make([]ManifestEntry, len(refs))
	for i := range refs {
		entries[i] = ManifestEntry{Ref: *refs[i], Size: sizes[i]}
	}
	blocks, root, err := buildTree(size, entries, opts.fanout)
	if err != nil {
		return blockstore.Ref{}, 0, st, err
	}
	for _, b := range blocks {
		st.Manifests++
		st.ManifestBytes += int64(len(b))
	}
	got, err := putBlocks(ctx, put, blocks, opts.Parallel)
	if err != nil {
		return blockstore.Ref{}, 0, st, fmt.Errorf("fsys: write content: %w", err)
	}
	if got[len(got)-1] != root {
		return blockstore.Ref{}, 0, st, fmt.Errorf("fsys: write content: root manifest stored as %s, its hash is %s", got[len(got)-1], root)
	}
	return root, size, st, nil
}

// putBlocks puts blocks, parallel at a time, and returns their refs.
func putBlocks(ctx context.Context, put BlockPutter, blocks [][]byte, parallel int) ([]blockstore.Ref, error) {
	refs := make([]blockstore.Ref, len(blocks))
	errs := make([]error, len(blocks))
	var wg sync.WaitGroup
	slots := make(chan struct{}, parallel)
	for i, b := range blocks {
		slots <- struct{}{}
		wg.Go(func() {
			defer func() { <-slots }()
			refs[i], errs[i] = put.Put(ctx, b)
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("put manifest: %w", err)
	}
	return refs, nil
}

// Content is one version of a file's contents, read through its manifest
// tree. Since blocks are immutable and the tree is reached from one root
// ref, a Content always reads one whole version, never a mix. Manifests are
// fetched as offsets need them and cached. Safe for concurrent use.
type Content struct {
	ctx  context.Context
	get  BlockGetter
	opts ContentOptions
	ref  blockstore.Ref
	root *node

	// mu guards the caches.
	mu struct {
		sync.Mutex
		nodes  map[blockstore.Ref]*node // manifests below the root, at most maxCachedNodes
		recent [2]recentChunk           // the last chunks fetched, for small sequential ReadAts
		next   int                      // the slot of recent to fill next
	}
}

type recentChunk struct {
	ref  blockstore.Ref
	data []byte
}

// OpenContent opens the file version whose root manifest is root. ctx
// governs every fetch made through the Content (ReadAt and Readers take
// none, being io interfaces), so it should live as long as the Content is
// used.
func OpenContent(ctx context.Context, get BlockGetter, root blockstore.Ref, opts ContentOptions) (*Content, error) {
	b, err := get.Get(ctx, root)
	if err != nil {
		return nil, fmt.Errorf("fsys: open content %s: %w", root, err)
	}
	m, err := UnmarshalManifest(b)
	if err != nil {
		return nil, fmt.Errorf("fsys: open content %s: %w", root, err)
	}
	c := &Content{ctx: ctx, get: get, opts: opts.withDefaults(), ref: root, root: newNode(m)}
	c.mu.nodes = map[blockstore.Ref]*node{}
	return c, nil
}

// InlineRef returns the ref of the inline manifest that holds data (at
// most InlineLimit bytes): what WriteContent would store as the version's
// one block, and so the version's id. FS commits a small file's bytes to
// the metadata (meta.CommitInline) under this ref and stores no block.
func InlineRef(data []byte) (blockstore.Ref, error) {
	if len(data) > InlineLimit {
		return blockstore.Ref{}, fmt.Errorf("fsys: %d bytes inline, more than %d", len(data), InlineLimit)
	}
	m := Manifest{Kind: KindInline, Size: int64(len(data)), Data: data}
	b, err := m.Marshal()
	if err != nil {
		return blockstore.Ref{}, err
	}
	return blockstore.RefOf(b), nil
}

// InlineContent is the Content of a version whose bytes the metadata
// holds (meta.Version.Data), named ref: reading it fetches nothing. data
// is not copied; the caller does not modify it.
func InlineContent(ref blockstore.Ref, data []byte) *Content {
	m := &Manifest{Kind: KindInline, Size: int64(len(data)), Data: data}
	c := &Content{ctx: context.Background(), opts: ContentOptions{}.withDefaults(), ref: ref, root: newNode(m)}
	c.mu.nodes = map[blockstore.Ref]*node{}
	return c
}

// Size returns the size of the file version in bytes.
func (c *Content) Size() int64 { return c.root.m.Size }

// Ref returns the ref of the root manifest: the version's id.
func (c *Content) Ref() blockstore.Ref { return c.ref }

// chunk returns the bytes of s, checking their length.
func (c *Content) chunk(ctx context.Context, s span) ([]byte, error) {
	if s.inline != nil {
		return s.inline, nil
	}
	c.mu.Lock()
	for _, r := range c.mu.recent {
		if r.ref == s.ref && r.data != nil {
			c.mu.Unlock()
			return r.data, nil
		}
	}
	c.mu.Unlock()
	data, err := c.get.Get(ctx, s.ref)
	if err != nil {
		return nil, fmt.Errorf("fsys: chunk %s at %d: %w", s.ref, s.off, err)
	}
	if int64(len(data)) != s.size {
		return nil, fmt.Errorf("fsys: chunk %s at %d: %w: %d bytes, its manifest says %d", s.ref, s.off, ErrCorrupt, len(data), s.size)
	}
	c.mu.Lock()
	c.mu.recent[c.mu.next] = recentChunk{s.ref, data}
	c.mu.next = (c.mu.next + 1) % len(c.mu.recent)
	c.mu.Unlock()
	return data, nil
}

// ReadAt reads len(p) bytes at off (fewer, with io.EOF, at the end). A
// read within one chunk fetches it here (or finds it among the last two
// fetched, so small sequential reads fetch each chunk once); a longer one
// fetches up to Readahead chunks at once.
func (c *Content) ReadAt(p []byte, off int64) (int, error) {
	if off < 0 {
		return 0, fmt.Errorf("fsys: read at %d: %w", off, fs.ErrInvalid)
	}
	if off >= c.Size() {
		return 0, io.EOF
	}
	end := min(off+int64(len(p)), c.Size())
	s, err := c.spanAt(off)
	if err != nil {
		return 0, err
	}
	var n int
	if end <= s.off+s.size {
		data, err := c.chunk(c.ctx, s)
		if err != nil {
			return 0, err
		}
		n = copy(p[:end-off], data[off-s.off:])
	} else {
		st := c.newStream(off, end)
		defer st.close()
		for off+int64(n) < end {
			s, data, err := st.next()
			if err != nil {
				return n, err
			}
			n += copy(p[n:end-off], data[off+int64(n)-s.off:])
		}
	}
	if n < len(p) {
		return n, io.EOF
	}
	return n, nil
}

// stream fetches the chunks from an offset to an end in order, keeping up
// to Readahead of them in flight. Not safe for concurrent use.
type stream struct {
	c        *Content
	ctx      context.Context
	cancel   context.CancelFunc
	wg       sync.WaitGroup
	from     int64    // where the next chunk to fetch starts
	end      int64    // no chunk starting at or past end is fetched
	inFlight []*fetch // in file order
	err      error    // sticky
}

type fetch struct {
	s    span
	done chan struct{} // closed when data, err are set
	data []byte
	err  error
}

func (c *Content) newStream(off, end int64) *stream {
	ctx, cancel := context.WithCancel(c.ctx)
	return &stream{c: c, ctx: ctx, cancel: cancel, from: off, end: end}
}

// next returns the next chunk and where it starts, or io.EOF after the
// chunk holding end-1.
func (st *stream) next() (span, []byte, error) {
	for st.err == nil && len(st.inFlight) < st.c.opts.Readahead && st.from < st.end {
		s, err := st.c.spanAt(st.from)
		if err != nil {
			st.err = err
			break
		}
		f := &fetch{s: s, done: make(chan struct{})}
		st.inFlight = append(st.inFlight, f)
		st.from = s.off + s.size
		st.wg.Go(func() {
			f.data, f.err = st.c.chunk(st.ctx, f.s)
			close(f.done)
		})
	}
	if len(st.inFlight) == 0 {
		if st.err != nil {
			return span{}, nil, st.err
		}
		return span{}, nil, io.EOF
	}
	f := st.inFlight[0]
	st.inFlight = st.inFlight[1:]
	<-f.done
	if f.err != nil {
		st.err, st.inFlight = f.err, nil
		return span{}, nil, f.err
	}
	return f.s, f.data, nil
}

// close stops the fetches in flight and waits for them.
func (st *stream) close() {
	st.cancel()
	st.wg.Wait()
}

// Reader reads a Content sequentially, fetching Readahead chunks ahead in
// parallel. It is an io.ReadSeekCloser; Close stops the fetches in flight.
// Not safe for concurrent use.
type Reader struct {
	c      *Content
	pos    int64
	st     *stream // nil until a Read, and after a Seek away from cur
	cur    []byte  // the chunk holding pos, if fetched
	curOff int64   // where cur starts
}

// NewReader returns a Reader at offset 0.
func (c *Content) NewReader() *Reader { return &Reader{c: c} }

// Read reads from the current chunk, fetching the next one when it is used
// up.
func (r *Reader) Read(p []byte) (int, error) {
	if r.pos >= r.c.Size() {
		return 0, io.EOF
	}
	if len(p) == 0 {
		return 0, nil
	}
	for r.pos < r.curOff || r.pos >= r.curOff+int64(len(r.cur)) {
		if r.st == nil {
			r.st = r.c.newStream(r.pos, r.c.Size())
		}
		s, data, err := r.st.next()
		if err != nil {
			return 0, err
		}
		r.cur, r.curOff = data, s.off
	}
	n := copy(p, r.cur[r.pos-r.curOff:])
	r.pos += int64(n)
	return n, nil
}

// Seek sets the offset of the next Read (io.Seeker). Seeking within the
// current chunk keeps the fetches in flight; elsewhere it drops them.
func (r *Reader) Seek(offset int64, whence int) (int64, error) {
	switch whence {
	case io.SeekCurrent:
		offset += r.pos
	case io.SeekEnd:
		offset += r.c.Size()
	case io.SeekStart:
	default:
		return r.pos, fmt.Errorf("fsys: seek: whence %d: %w", whence, fs.ErrInvalid)
	}
	if offset < 0 {
		return r.pos, fmt.Errorf("fsys: seek to %d: %w", offset, fs.ErrInvalid)
	}
	if offset < r.curOff || offset >= r.curOff+int64(len(r.cur)) {
		r.Close()
	}
	r.pos = offset
	return offset, nil
}

// Close stops the Reader's fetches; a later Read starts them again.
func (r *Reader) Close() error {
	if r.st != nil {
		r.st.close()
		r.st = nil
	}
	r.cur = nil
	return nil
}
