package fsys

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/puddlestore/puddlestore/blockstore"
	"github.com/puddlestore/puddlestore/meta"
)

// Meta is the metadata service as the file system uses it: commands, and
// reads as of a time (0: now). client.Meta implements it over gRPC; a
// *meta.State can stand in for it in tests (see MetaState).
type Meta interface {
	Apply(ctx context.Context, c meta.Command) (meta.Result, error)
	Stat(ctx context.Context, path string, at int64) (meta.Info, error)
	ReadDir(ctx context.Context, path string, at int64) ([]meta.Info, error)
	// History leaves inline data out (meta.Version.HasData); Version
	// gives one version whole.
	History(ctx context.Context, path string, at int64) ([]meta.Version, error)
	Version(ctx context.Context, path string, number uint64, at int64) (meta.Version, error)
}

// Blocks stores and fetches blocks (blocks.Service, or a client of the
// cluster's storage nodes).
type Blocks interface {
	BlockPutter
	BlockGetter
}

// Options configure an FS.
type Options struct {
	// User is recorded as the owner of new directories and the writer of
	// versions (default "puddle").
	User string
	// TempDir holds the local buffer of files open for writing (default
	// os.TempDir()).
	TempDir string
	// Timeout bounds the calls of the io/fs interface, which take no
	// context (default 1 minute).
	Timeout time.Duration
	// Content tunes chunk uploads and readahead.
	Content ContentOptions
}

// FS is the file system: names and versions from Meta, contents as
// chunked, content-addressed blocks. Safe for concurrent use. Writers see
// close-to-open consistency: a file's new version becomes visible, whole,
// when its writer closes (or syncs) it, and a reader sees the version
// current when it opened the file, never a mix.
type FS struct {
	meta   Meta
	blocks Blocks
	opts   Options
	at     int64 // 0: live; else a read-only view as of this time
}

// New returns a file system over m and b.
func New(m Meta, b Blocks, opts Options) *FS {
	if opts.User == "" {
		opts.User = "puddle"
	}
	if opts.Timeout <= 0 {
		opts.Timeout = time.Minute
	}
	return &FS{meta: m, blocks: b, opts: opts}
}

// ErrReadOnly: a write through a view of the past (AsOf).
var ErrReadOnly = errors.New("fsys: read-only view of the past")

// AsOf returns a read-only view of the whole tree as it was at t.
func (f *FS) AsOf(t time.Time) *FS {
	g := *f
	g.at = t.UnixNano()
	return &g
}

func (f *FS) apply(ctx context.Context, c meta.Command) (meta.Result, error) {
	if f.at != 0 {
		return meta.Result{}, fmt.Errorf("%w: %s %s", ErrReadOnly, c.Op, c.Path)
	}
	return f.meta.Apply(ctx, c)
}

// Mkdir makes a directory; with parents, the missing directories above
// it too (and an existing directory is then no error).
func (f *FS) Mkdir(ctx context.Context, path string, parents bool) error {
	_, err := f.apply(ctx, meta.Mkdir(path, parents, 0o755, f.opts.User))
	return err
}

// Remove removes a file or an empty directory; with recursive, a
// directory and everything under it. History is kept: views of the past
// still show them.
func (f *FS) Remove(ctx context.Context, path string, recursive bool) error {
	_, err := f.apply(ctx, meta.Remove(path, recursive))
	return err
}

// Rename moves a file or directory, with its history, to a path that
// does not exist.
func (f *FS) Rename(ctx context.Context, from, to string) error {
	_, err := f.apply(ctx, meta.Rename(from, to))
	return err
}

// Stat describes the entry at path.
func (f *FS) Stat(ctx context.Context, path string) (meta.Info, error) {
	return f.meta.Stat(ctx, path, f.at)
}

// ReadDir lists a directory, sorted by name.
func (f *FS) ReadDir(ctx context.Context, path string) ([]meta.Info, error) {
	return f.meta.ReadDir(ctx, path, f.at)
}

// History returns the versions of the file at path, oldest first.
func (f *FS) History(ctx context.Context, path string) ([]meta.Version, error) {
	return f.meta.History(ctx, path, f.at)
}

// Restore makes version n of the file its current content again, as a
// new version (history only grows).
func (f *FS) Restore(ctx context.Context, path string, n uint64) (meta.Version, error) {
	r, err := f.apply(ctx, meta.RestoreVersion(path, n, f.opts.User, 0))
	return r.Version, err
}

// Lock takes (or renews) the lease on path for ttl; commits to the path
// then need its token (WriteOptions.Token).
func (f *FS) Lock(ctx context.Context, path string, ttl time.Duration) (meta.Lease, error) {
	r, err := f.apply(ctx, meta.Lock(path, f.opts.User, ttl))
	return r.Lease, err
}

// Unlock releases a lease.
func (f *FS) Unlock(ctx context.Context, l meta.Lease) error {
	_, err := f.apply(ctx, meta.Unlock(l.Path, l.Owner, l.Token))
	return err
}

// WriteOptions qualify a write.
type WriteOptions struct {
	// Expect is the commit's precondition (default: unconditional). Use
	// meta.ExpectAbsent() to create only, meta.ExpectVersion(v) for a
	// compare-and-swap from the version read.
	Expect meta.Expect
	// Mode is the permission bits (default 0o644).
	Mode uint32
	// Token is the lease token, when the path is locked.
	Token uint64
}

// WriteFile stores r's bytes as a new version of the file at path and
// returns that version. A content of at most InlineLimit bytes is
// committed with the version itself, to the metadata (one command, no
// block). A larger one is chunked and uploaded as it is read, and the
// version is committed only once every block is stored, so a failed
// write leaves the file as it was.
func (f *FS) WriteFile(ctx context.Context, path string, r io.Reader, o WriteOptions) (meta.Version, ContentStats, error) {
	if f.at != 0 {
		return meta.Version{}, ContentStats{}, fmt.Errorf("%w: write %s", ErrReadOnly, path)
	}
	if _, err := meta.CleanPath(path); err != nil {
		return meta.Version{}, ContentStats{}, err // before uploading anything
	}
	return f.write(ctx, path, r, o)
}

// write commits r's content to path: inline if it is small, else after
// storing its blocks.
func (f *FS) write(ctx context.Context, path string, r io.Reader, o WriteOptions) (meta.Version, ContentStats, error) {
	if o.Mode == 0 {
		o.Mode = 0o644
	}
	head, err := io.ReadAll(io.LimitReader(r, InlineLimit+1))
	if err != nil {
		return meta.Version{}, ContentStats{}, fmt.Errorf("fsys: write %s: %w", path, err)
	}
	if len(head) <= InlineLimit {
		ref, err := InlineRef(head)
		if err != nil {
			return meta.Version{}, ContentStats{}, err
		}
		res, err := f.apply(ctx, meta.CommitInline(path, o.Expect, meta.Ref(ref), head, o.Mode, f.opts.User, o.Token))
		return res.Version, ContentStats{}, err
	}
	root, size, stats, err := WriteContent(ctx, f.blocks, io.MultiReader(bytes.NewReader(head), r), f.opts.Content)
	if err != nil {
		return meta.Version{}, stats, fmt.Errorf("fsys: write %s: %w", path, err)
	}
	res, err := f.apply(ctx, meta.Commit(path, o.Expect, meta.Ref(root), uint64(size), o.Mode, f.opts.User, o.Token))
	return res.Version, stats, err
}

// content opens version v of the file at path: from its inline data, or
// through its manifest blocks.
func (f *FS) content(ctx context.Context, path string, v meta.Version) (*Content, error) {
	if v.Inline {
		if !v.HasData() {
			return nil, fmt.Errorf("fsys: open %s version %d: inline data missing (%d of %d bytes)", path, v.Number, len(v.Data), v.Size)
		}
		return InlineContent(blockstore.Ref(v.Ref), []byte(v.Data)), nil
	}
	c, err := OpenContent(ctx, f.blocks, blockstore.Ref(v.Ref), f.opts.Content)
	if err != nil {
		return nil, err
	}
	if uint64(c.Size()) != v.Size {
		return nil, fmt.Errorf("%w: %s version %d: manifest holds %d bytes, metadata says %d", ErrCorrupt, path, v.Number, c.Size(), v.Size)
	}
	return c, nil
}

// version returns the version of the file at path that a reader opens:
// the current one (as of the view), or number n when n > 0.
func (f *FS) version(ctx context.Context, path string, n uint64) (meta.Info, meta.Version, error) {
	info, err := f.meta.Stat(ctx, path, f.at)
	if err != nil {
		return info, meta.Version{}, err
	}
	if info.Dir {
		return info, meta.Version{}, &meta.Error{Op: "open", Kind: meta.KindIsDir, Path: path}
	}
	if n == 0 || n == info.Version.Number {
		return info, info.Version, nil
	}
	vs, err := f.meta.History(ctx, path, f.at)
	if err != nil {
		return info, meta.Version{}, err
	}
	for _, v := range vs {
		if v.Number == n {
			if v.Inline && !v.HasData() {
				// History leaves inline data out.
				v, err = f.meta.Version(ctx, path, n, f.at)
			}
			return info, v, err
		}
	}
	return info, meta.Version{}, &meta.Error{Op: "open", Kind: meta.KindNotExist, Path: path,
		Msg: fmt.Sprintf("no version %d (the file has %d)", n, len(vs))}
}
