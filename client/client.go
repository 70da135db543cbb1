package client

import (
	"context"
	"errors"
	"io"
	"io/fs"
	"os"
	"time"

	"github.com/puddlestore/puddlestore/fsys"
	"github.com/puddlestore/puddlestore/meta"
)

// Options configure a Client.
type Options struct {
	// User is recorded as the owner of new directories and the writer of
	// versions (default $USER, else "puddle").
	User string
	// Stale lets any metadata node answer reads from its own state, which
	// may lag the leader's a little; reads are linearizable otherwise.
	Stale bool
	// TempDir holds the local buffers of files open for writing (default
	// os.TempDir()).
	TempDir string
	// Content tunes chunk uploads and readahead (fsys.ContentOptions).
	Content fsys.ContentOptions
}

// Client is a connection to a PuddleStore cluster: its file system. Paths
// are absolute ("/docs/a.txt"). Safe for concurrent use.
//
// Client implements io/fs.FS (Open, with io/fs's relative names); every
// other method takes a context and an absolute path.
type Client struct {
	meta  *Meta
	store *storage
	fs    *fsys.FS
	user  string
}

var _ fs.FS = (*Client)(nil)

// Dial returns a client of the cluster whose metadata nodes are at addrs
// (client addresses; one live node is enough, the client finds the
// others and the storage nodes itself). It does not connect until the
// first call.
func Dial(addrs ...string) (*Client, error) { return DialOptions(Options{}, addrs...) }

// DialOptions is Dial with options.
func DialOptions(o Options, addrs ...string) (*Client, error) {
	m, err := DialMeta(addrs...)
	if err != nil {
		return nil, err
	}
	if o.User == "" {
		o.User = os.Getenv("USER")
	}
	if o.User == "" {
		o.User = "puddle"
	}
	var reads fsys.Meta = m
	if o.Stale {
		reads = m.Stale()
	}
	st := newStorage(m)
	return &Client{meta: m, store: st, user: o.User,
		fs: fsys.New(reads, st, fsys.Options{User: o.User, TempDir: o.TempDir, Content: o.Content})}, nil
}

// User is the name the client writes as.
func (c *Client) User() string { return c.user }

// Close closes the client's connections.
func (c *Client) Close() error { return errors.Join(c.store.Close(), c.meta.Close()) }

// Meta returns the client of the metadata service.
func (c *Client) Meta() *Meta { return c.meta }

// FS returns the file system layer the client serves.
func (c *Client) FS() *fsys.FS { return c.fs }

// AsOf returns a read-only view of the whole tree as it was at t.
func (c *Client) AsOf(t time.Time) *Client {
	v := *c
	v.fs = c.fs.AsOf(t)
	return &v
}

// Open opens a file or directory for reading by its io/fs name ("a/b",
// "." for the root), for io/fs.FS; see OpenFile for absolute paths.
func (c *Client) Open(name string) (fs.File, error) { return c.fs.IOFS().Open(name) }

// OpenFile opens the file at path; flag as os.OpenFile (fsys.OpenFile).
func (c *Client) OpenFile(ctx context.Context, path string, flag int, mode fs.FileMode) (*fsys.File, error) {
	return c.fs.OpenFile(ctx, path, flag, mode)
}

// OpenVersion opens version n of the file (0: the current one) for
// reading.
func (c *Client) OpenVersion(ctx context.Context, path string, n uint64) (*fsys.File, error) {
	return c.fs.OpenVersion(ctx, path, n)
}

// Create opens the file at path for writing, empty; Close commits it.
func (c *Client) Create(ctx context.Context, path string) (*fsys.File, error) {
	return c.fs.Create(ctx, path)
}

// WriteFile stores r's bytes as a new version of the file at path,
// streaming them to the storage nodes as they are read.
func (c *Client) WriteFile(ctx context.Context, path string, r io.Reader, o fsys.WriteOptions) (meta.Version, fsys.ContentStats, error) {
	return c.fs.WriteFile(ctx, path, r, o)
}

// Stat describes the entry at path.
func (c *Client) Stat(ctx context.Context, path string) (meta.Info, error) {
	return c.fs.Stat(ctx, path)
}

// ReadDir lists a directory, sorted by name.
func (c *Client) ReadDir(ctx context.Context, path string) ([]meta.Info, error) {
	return c.fs.ReadDir(ctx, path)
}

// Mkdir makes a directory.
func (c *Client) Mkdir(ctx context.Context, path string) error { return c.fs.Mkdir(ctx, path, false) }

// MkdirAll makes a directory and any missing parents.
func (c *Client) MkdirAll(ctx context.Context, path string) error { return c.fs.Mkdir(ctx, path, true) }

// Remove removes a file or an empty directory.
func (c *Client) Remove(ctx context.Context, path string) error { return c.fs.Remove(ctx, path, false) }

// RemoveAll removes a directory and everything under it (or a file).
func (c *Client) RemoveAll(ctx context.Context, path string) error {
	return c.fs.Remove(ctx, path, true)
}

// Rename moves a file or directory, with its history.
func (c *Client) Rename(ctx context.Context, from, to string) error {
	return c.fs.Rename(ctx, from, to)
}

// History returns the versions of the file at path, oldest first.
func (c *Client) History(ctx context.Context, path string) ([]meta.Version, error) {
	return c.fs.History(ctx, path)
}

// Restore makes version n the file's current content, as a new version.
func (c *Client) Restore(ctx context.Context, path string, n uint64) (meta.Version, error) {
	return c.fs.Restore(ctx, path, n)
}

// Lock takes (or renews) the lease on path for ttl.
func (c *Client) Lock(ctx context.Context, path string, ttl time.Duration) (meta.Lease, error) {
	return c.fs.Lock(ctx, path, ttl)
}

// Unlock releases a lease.
func (c *Client) Unlock(ctx context.Context, l meta.Lease) error { return c.fs.Unlock(ctx, l) }
