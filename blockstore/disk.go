package blockstore

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"path/filepath"
	"sync"
	"sync/atomic"

	"github.com/puddlestore/puddlestore/wal"
)

// Options configures a Disk store.
type Options struct {
	// FS is the file system holding the store's directory; nil means the
	// operating system's. Tests pass a *wal.MemFS to inject crashes.
	FS wal.ReadAtFS
	// PackBytes is the size, in bytes, past which the active pack file is
	// sealed and a new one started (a pack may exceed it by one group
	// commit). 0 means 256 MiB.
	PackBytes int64
	// Logger receives recovery and damage reports; nil discards them.
	Logger *slog.Logger
}

// DefaultPackBytes is the default Options.PackBytes.
const DefaultPackBytes = 256 << 20

// loc is where a block's record lies.
type loc struct {
	pack   uint64 // the pack's sequence number
	off    int64  // offset of the record's header in the pack
	length uint32 // the block's size
	bad    bool   // a read found the bytes damaged: a new Put rewrites it
}

// pack is one pack file.
type pack struct {
	seq     uint64
	name    string         // path
	r       wal.ReadAtFile // read handle, shared by all readers
	readers sync.WaitGroup // reads in progress; Add only under Disk.mu while the pack is in Disk.mu.packs

	// Guarded by Disk.mu.
	size int64            // bytes in the file
	live int64            // bytes of live block records, headers included
	dead map[Ref]struct{} // refs with a superseded block record here
}

// Disk is a Store in append-only pack files in one directory (see the
// package documentation for the format and its guarantees).
type Disk struct {
	dir       string
	fs        wal.ReadAtFS
	packBytes int64
	log       *slog.Logger

	// ops is held for reading by every call and for writing by Close, so
	// that Close waits for calls in progress. closed is guarded by ops.
	ops    sync.RWMutex
	closed bool

	mu struct {
		sync.RWMutex
		index  map[Ref]loc      // live blocks
		packs  map[uint64]*pack // every pack file
		bytes  int64            // total size of live blocks
		failed error            // non-nil after a write or sync failed
	}
	verifyFailures atomic.Int64

	reqs chan *request // to the committer
	stop chan struct{} // closed by Close
	done chan struct{} // closed when the committer has stopped

	// Owned by the committer goroutine (and by Open before it starts).
	active  *pack
	w       wal.File // active pack's write handle
	nextSeq uint64
	buf     []byte
	compact sync.Mutex // one Compact at a time
}

var _ Store = (*Disk)(nil)

// Open opens (creating if needed) the store in dir, rebuilding its index
// from the pack files and cutting off a torn tail left by a crash.
func Open(dir string, opts Options) (*Disk, error) {
	d := &Disk{
		dir:       filepath.Clean(dir),
		fs:        opts.FS,
		packBytes: opts.PackBytes,
		log:       opts.Logger,
		reqs:      make(chan *request, 64),
		stop:      make(chan struct{}),
		done:      make(chan struct{}),
	}
	if d.fs == nil {
		d.fs = wal.OSFS{}
	}
	if d.packBytes <= 0 {
		d.packBytes = DefaultPackBytes
	}
	if d.log == nil {
		d.log = slog.New(slog.DiscardHandler)
	}
	d.mu.index = map[Ref]loc{}
	d.mu.packs = map[uint64]*pack{}
	if err := d.fs.MkdirAll(d.dir); err != nil {
		return nil, fmt.Errorf("blockstore: open %s: %w", dir, err)
	}
	if err := d.load(); err != nil {
		d.closeFiles()
		return nil, fmt.Errorf("blockstore: open %s: %w", dir, err)
	}
	go d.run()
	return d, nil
}

// begin starts a call; end must follow unless it returns an error.
func (d *Disk) begin(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	d.ops.RLock()
	if d.closed {
		d.ops.RUnlock()
		return ErrClosed
	}
	return nil
}

func (d *Disk) end() { d.ops.RUnlock() }

func (d *Disk) Put(ctx context.Context, ref Ref, data []byte) error {
	if err := d.begin(ctx); err != nil {
		return err
	}
	defer d.end()
	if err := checkPut(ref, data); err != nil {
		return err
	}
	return d.put(ctx, ref, data)
}

func (d *Disk) PutReader(ctx context.Context, ref Ref, r io.Reader, size int64) error {
	if err := d.begin(ctx); err != nil {
		return err
	}
	defer d.end()
	if l, ok := d.lookup(ref); ok && !l.bad {
		// Held already; the reader's bytes are not needed.
		return nil
	}
	data, err := readVerified(ref, r, size)
	if err != nil {
		return err
	}
	return d.put(ctx, ref, data)
}

func (d *Disk) put(ctx context.Context, ref Ref, data []byte) error {
	if l, ok := d.lookup(ref); ok && !l.bad {
		return nil
	}
	if err := d.submit(ctx, &request{kind: kindBlock, ref: ref, data: data}); err != nil {
		return fmt.Errorf("blockstore: put %s: %w", ref, err)
	}
	return nil
}

func (d *Disk) Delete(ctx context.Context, ref Ref) error {
	if err := d.begin(ctx); err != nil {
		return err
	}
	defer d.end()
	if _, ok := d.lookup(ref); !ok {
		return nil
	}
	if err := d.submit(ctx, &request{kind: kindTombstone, ref: ref}); err != nil {
		return fmt.Errorf("blockstore: delete %s: %w", ref, err)
	}
	return nil
}

func (d *Disk) lookup(ref Ref) (loc, bool) {
	d.mu.RLock()
	defer d.mu.RUnlock()
	l, ok := d.mu.index[ref]
	return l, ok
}

func (d *Disk) Get(ctx context.Context, ref Ref) ([]byte, error) {
	if err := d.begin(ctx); err != nil {
		return nil, err
	}
	defer d.end()
	return d.read(ref)
}

func (d *Disk) GetRange(ctx context.Context, ref Ref, off, n int64) ([]byte, error) {
	if err := d.begin(ctx); err != nil {
		return nil, err
	}
	defer d.end()
	data, err := d.read(ref)
	if err != nil {
		return nil, err
	}
	return checkRange(ref, data, off, n)
}

// read returns ref's bytes, verified.
func (d *Disk) read(ref Ref) ([]byte, error) {
	d.mu.RLock()
	l, ok := d.mu.index[ref]
	var p *pack
	if ok {
		p = d.mu.packs[l.pack]
		p.readers.Add(1)
	}
	d.mu.RUnlock()
	if !ok {
		return nil, ErrNotFound
	}
	defer p.readers.Done()
	data := make([]byte, l.length)
	if n, err := p.r.ReadAt(data, l.off+headerSize); n < len(data) {
		if errors.Is(err, io.EOF) { // the file is shorter than the index says
			return nil, d.corrupt(ref, l, p, err.Error())
		}
		return nil, fmt.Errorf("blockstore: get %s: %w", ref, err)
	}
	if sha256.Sum256(data) != ref {
		return nil, d.corrupt(ref, l, p, "bytes do not hash to ref")
	}
	return data, nil
}

// corrupt records a damaged block and returns the error for it. The entry
// stays (Has is true, reads fail) until a Put rewrites it or a Delete.
func (d *Disk) corrupt(ref Ref, l loc, p *pack, why string) error {
	d.verifyFailures.Add(1)
	d.mu.Lock()
	if cur, ok := d.mu.index[ref]; ok && cur == l {
		cur.bad = true
		d.mu.index[ref] = cur
	}
	d.mu.Unlock()
	d.log.Warn("damaged block", "ref", ref.String(), "pack", p.name, "offset", l.off, "why", why)
	return fmt.Errorf("%w: %s in %s at offset %d: %s", ErrCorrupt, ref, p.name, l.off, why)
}

func (d *Disk) Has(ctx context.Context, ref Ref) (bool, error) {
	if err := d.begin(ctx); err != nil {
		return false, err
	}
	defer d.end()
	_, ok := d.lookup(ref)
	return ok, nil
}

func (d *Disk) Size(ctx context.Context, ref Ref) (int64, error) {
	if err := d.begin(ctx); err != nil {
		return 0, err
	}
	defer d.end()
	l, ok := d.lookup(ref)
	if !ok {
		return 0, ErrNotFound
	}
	return int64(l.length), nil
}

func (d *Disk) Enumerate(ctx context.Context, fn func(ref Ref, size int64) error) error {
	if err := d.begin(ctx); err != nil {
		return err
	}
	d.mu.RLock()
	ents := make([]entry, 0, len(d.mu.index))
	for ref, l := range d.mu.index {
		ents = append(ents, entry{ref, int64(l.length)})
	}
	d.mu.RUnlock()
	d.end() // fn may call the store, even Close
	return enumerate(ctx, ents, fn)
}

func (d *Disk) Stats() Stats {
	d.mu.RLock()
	defer d.mu.RUnlock()
	s := Stats{
		Blocks:         int64(len(d.mu.index)),
		Bytes:          d.mu.bytes,
		VerifyFailures: d.verifyFailures.Load(),
		Packs:          len(d.mu.packs),
	}
	for _, p := range d.mu.packs {
		s.DeadBytes += p.size - p.live
	}
	return s
}

// Close waits for calls in progress, stops the committer and closes files.
func (d *Disk) Close() error {
	d.ops.Lock()
	if d.closed {
		d.ops.Unlock()
		return nil
	}
	d.closed = true
	d.ops.Unlock()
	close(d.stop)
	<-d.done
	return d.closeFiles()
}

// closeFiles closes the writer and every pack's read handle.
func (d *Disk) closeFiles() error {
	var errs []error
	if d.w != nil {
		errs = append(errs, d.w.Close())
		d.w = nil
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	for _, p := range d.mu.packs {
		if p.r != nil {
			errs = append(errs, p.r.Close())
		}
	}
	if err := errors.Join(errs...); err != nil && !errors.Is(err, wal.ErrCrashed) {
		return fmt.Errorf("blockstore: close: %w", err)
	}
	return nil
}
