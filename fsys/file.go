package fsys

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"sync"

	"github.com/puddlestore/puddlestore/meta"
)

// File is an open file. One opened for reading (Open, OpenVersion) reads
// one version, whole, whatever is committed meanwhile. One opened for
// writing (Create, OpenFile) keeps its content in a local buffer file;
// Sync and Close commit it as a new version, with a compare-and-swap from
// the version it was opened on, so that of two writers racing on a file
// the second to close gets a Conflict rather than silently replacing the
// first's work. The ctx given when opening bounds every later call.
// A File is not safe for concurrent use, except ReadAt.
type File struct {
	fs   *FS
	ctx  context.Context
	path string
	info meta.Info // as opened (for writers: updated by each commit)
	off  int64

	// Reading.
	version meta.Version
	content *Content
	rd      *Reader // sequential reads from offset 0, with readahead
	rdPos   int64   // where rd is

	// Writing.
	buf    *os.File // nil: read-only
	expect meta.Expect
	size   int64
	dirty  bool
	append bool
	mode   uint32

	closeOnce sync.Once
	closeErr  error
}

// ErrClosed: the file was closed.
var ErrClosed = errors.New("fsys: file closed")

// Open opens the current version of the file at path (as of the FS's
// view) for reading.
func (f *FS) Open(ctx context.Context, path string) (*File, error) {
	return f.OpenVersion(ctx, path, 0)
}

// OpenVersion opens version n of the file (0: the current one) for
// reading.
func (f *FS) OpenVersion(ctx context.Context, path string, n uint64) (*File, error) {
	info, v, err := f.version(ctx, path, n)
	if err != nil {
		return nil, err
	}
	c, err := f.content(ctx, path, v)
	if err != nil {
		if errors.Is(err, ErrCorrupt) {
			return nil, err
		}
		return nil, fmt.Errorf("fsys: open %s version %d: %w", path, v.Number, err)
	}
	return &File{fs: f, ctx: ctx, path: path, info: info, version: v, content: c}, nil
}

// Create opens the file at path for writing, empty; the file need not
// exist. Close commits what was written.
func (f *FS) Create(ctx context.Context, path string) (*File, error) {
	return f.OpenFile(ctx, path, os.O_RDWR|os.O_CREATE|os.O_TRUNC, 0o644)
}

// OpenFile opens the file at path with os's flags: O_RDONLY reads (as
// Open); O_WRONLY or O_RDWR write, with O_CREATE if it may not exist,
// O_EXCL if it must not, O_TRUNC to start empty (else from the current
// content, which is then read into the local buffer) and O_APPEND to
// write at the end. mode is the permission bits of the new version.
func (f *FS) OpenFile(ctx context.Context, path string, flag int, mode fs.FileMode) (*File, error) {
	if flag&(os.O_WRONLY|os.O_RDWR) == 0 {
		return f.Open(ctx, path)
	}
	if f.at != 0 {
		return nil, fmt.Errorf("%w: open %s for writing", ErrReadOnly, path)
	}
	if _, err := meta.CleanPath(path); err != nil {
		return nil, err
	}
	file := &File{fs: f, ctx: ctx, path: path, append: flag&os.O_APPEND != 0, mode: uint32(mode.Perm())}
	info, err := f.meta.Stat(ctx, path, 0)
	switch {
	case errors.Is(err, meta.ErrNotExist):
		if flag&os.O_CREATE == 0 {
			return nil, err
		}
		file.expect = meta.ExpectAbsent()
		file.dirty = true // a new file is committed even if nothing is written
	case err != nil:
		return nil, err
	case info.Dir:
		return nil, &meta.Error{Op: "open", Kind: meta.KindIsDir, Path: path}
	case flag&os.O_CREATE != 0 && flag&os.O_EXCL != 0:
		return nil, &meta.Error{Op: "open", Kind: meta.KindExist, Path: path}
	default:
		file.info, file.expect = info, meta.ExpectVersion(info.Version)
		if mode == 0 {
			file.mode = info.Mode
		}
		file.dirty = flag&os.O_TRUNC != 0 && info.Size > 0
	}
	if file.buf, err = os.CreateTemp(f.opts.TempDir, "puddle-write-*"); err != nil {
		return nil, fmt.Errorf("fsys: open %s: local buffer: %w", path, err)
	}
	// The buffer is unlinked at once: it is ours alone, and a crash
	// leaves nothing behind.
	_ = os.Remove(file.buf.Name())
	if file.info.Size > 0 && flag&os.O_TRUNC == 0 {
		if err := file.load(); err != nil {
			file.buf.Close()
			return nil, err
		}
	}
	return file, nil
}

// load copies the current content into the write buffer.
func (file *File) load() error {
	c, err := file.fs.content(file.ctx, file.path, file.info.Version)
	if err != nil {
		return fmt.Errorf("fsys: open %s: %w", file.path, err)
	}
	n, err := io.Copy(file.buf, io.NewSectionReader(c, 0, c.Size()))
	if err != nil {
		return fmt.Errorf("fsys: open %s: read current content: %w", file.path, err)
	}
	file.size = n
	return nil
}

// Name returns the path the file was opened with.
func (file *File) Name() string { return file.path }

// Version returns the version a reader reads, or the last version a
// writer committed (zero before its first commit).
func (file *File) Version() meta.Version {
	if file.buf != nil {
		return file.info.Version
	}
	return file.version
}

// Size returns the file's size: the version's, or a writer's current one.
func (file *File) Size() int64 {
	if file.buf != nil {
		return file.size
	}
	return file.content.Size()
}

func (file *File) closed() bool { return file.fs == nil }

// Read reads from the file's offset. A reader's sequential reads fetch
// the next chunks ahead, in parallel (ContentOptions.Readahead).
func (file *File) Read(p []byte) (int, error) {
	if file.closed() {
		return 0, ErrClosed
	}
	if file.rd != nil && file.rdPos != file.off {
		// A seek away: random reads go through ReadAt, which keeps the
		// last chunks, rather than restarting the readahead each time.
		file.rd.Close()
		file.rd = nil
	}
	if file.buf == nil && (file.rd != nil || file.off == 0) {
		if file.rd == nil {
			file.rd = file.content.NewReader()
		}
		n, err := file.rd.Read(p)
		file.off += int64(n)
		file.rdPos = file.off
		return n, err
	}
	n, err := file.ReadAt(p, file.off)
	file.off += int64(n)
	if err == io.EOF && n > 0 {
		err = nil
	}
	return n, err
}

// ReadAt reads len(p) bytes at off (io.ReaderAt).
func (file *File) ReadAt(p []byte, off int64) (int, error) {
	if file.closed() {
		return 0, ErrClosed
	}
	if off < 0 {
		return 0, fmt.Errorf("fsys: read %s: negative offset", file.path)
	}
	if file.buf != nil {
		if off >= file.size {
			return 0, io.EOF
		}
		n, err := file.buf.ReadAt(p[:min(int64(len(p)), file.size-off)], off)
		if err == nil && n < len(p) {
			err = io.EOF
		}
		return n, err
	}
	return file.content.ReadAt(p, off)
}

// Seek sets the offset (io.Seeker).
func (file *File) Seek(offset int64, whence int) (int64, error) {
	if file.closed() {
		return 0, ErrClosed
	}
	switch whence {
	case io.SeekStart:
	case io.SeekCurrent:
		offset += file.off
	case io.SeekEnd:
		offset += file.Size()
	default:
		return file.off, fmt.Errorf("fsys: seek %s: bad whence %d", file.path, whence)
	}
	if offset < 0 {
		return file.off, fmt.Errorf("fsys: seek %s: negative offset", file.path)
	}
	file.off = offset
	return offset, nil
}

// ErrNotWritable: a write to a file opened for reading.
var ErrNotWritable = errors.New("fsys: file not open for writing")

// Write writes at the file's offset (at the end with O_APPEND).
func (file *File) Write(p []byte) (int, error) {
	if file.append {
		file.off = file.size
	}
	n, err := file.WriteAt(p, file.off)
	file.off += int64(n)
	return n, err
}

// WriteAt writes p at off into the local buffer; nothing is visible to
// others before Sync or Close.
func (file *File) WriteAt(p []byte, off int64) (int, error) {
	switch {
	case file.closed():
		return 0, ErrClosed
	case file.buf == nil:
		return 0, fmt.Errorf("%w: %s", ErrNotWritable, file.path)
	case off < 0:
		return 0, fmt.Errorf("fsys: write %s: negative offset", file.path)
	}
	n, err := file.buf.WriteAt(p, off)
	file.size = max(file.size, off+int64(n))
	if n > 0 {
		file.dirty = true
	}
	return n, err
}

// Truncate changes a writer's size.
func (file *File) Truncate(size int64) error {
	if file.closed() {
		return ErrClosed
	}
	if file.buf == nil {
		return fmt.Errorf("%w: %s", ErrNotWritable, file.path)
	}
	if err := file.buf.Truncate(size); err != nil {
		return err
	}
	file.size, file.dirty = size, true
	return nil
}

// Sync commits what was written as a new version, if anything changed.
// A Conflict means another writer committed since this file was opened
// (or last synced): nothing of this writer's is committed, and the
// caller decides whether to reopen and redo its change.
func (file *File) Sync() error {
	if file.closed() {
		return ErrClosed
	}
	if file.buf == nil || !file.dirty {
		return nil
	}
	// Small contents go inline, as WriteFile's.
	v, _, err := file.fs.write(file.ctx, file.path, io.NewSectionReader(file.buf, 0, file.size), WriteOptions{Expect: file.expect, Mode: file.mode})
	if err != nil {
		return err
	}
	file.info.Version, file.info.Size = v, v.Size
	file.expect, file.dirty = meta.ExpectVersion(v), false
	return nil
}

// Close commits a writer's changes (Sync) and releases the file.
func (file *File) Close() error {
	file.closeOnce.Do(func() {
		if file.rd != nil {
			file.rd.Close()
		}
		if file.buf != nil {
			file.closeErr = file.Sync()
			if err := file.buf.Close(); file.closeErr == nil {
				file.closeErr = err
			}
		}
		file.fs = nil
	})
	return file.closeErr
}
