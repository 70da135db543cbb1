package fsys

import (
	"context"
	"errors"
	"io"
	"io/fs"
	"path"
	"time"

	"github.com/puddlestore/puddlestore/meta"
)

// IOFS returns the file system as an io/fs.FS (read-only, like every
// fs.FS): names are io/fs paths ("a/b", "." for the root), errors are
// *fs.PathError wrapping fs.ErrNotExist and the like, and each call is
// bounded by Options.Timeout. It passes testing/fstest.TestFS.
func (f *FS) IOFS() fs.FS { return ioFS{f} }

type ioFS struct{ f *FS }

var (
	_ fs.ReadDirFS  = ioFS{}
	_ fs.StatFS     = ioFS{}
	_ fs.ReadFileFS = ioFS{}
)

// absPath maps an io/fs name to the file system's absolute path.
func absPath(op, name string) (string, error) {
	if !fs.ValidPath(name) {
		return "", &fs.PathError{Op: op, Path: name, Err: fs.ErrInvalid}
	}
	if name == "." {
		return "/", nil
	}
	return "/" + name, nil
}

// pathErr wraps err for io/fs, mapping meta's kinds to fs's sentinels.
func pathErr(op, name string, err error) error {
	if err == nil {
		return nil
	}
	switch meta.KindOf(err) {
	case meta.KindNotExist, meta.KindNotDir:
		err = errors.Join(fs.ErrNotExist, err)
	case meta.KindExist:
		err = errors.Join(fs.ErrExist, err)
	case meta.KindInvalid:
		err = errors.Join(fs.ErrInvalid, err)
	case meta.KindLocked:
		err = errors.Join(fs.ErrPermission, err)
	}
	return &fs.PathError{Op: op, Path: name, Err: err}
}

func (i ioFS) ctx() (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.Background(), i.f.opts.Timeout)
}

func (i ioFS) Open(name string) (fs.File, error) {
	p, err := absPath("open", name)
	if err != nil {
		return nil, err
	}
	ctx, cancel := i.ctx()
	info, err := i.f.Stat(ctx, p)
	if err != nil {
		cancel()
		return nil, pathErr("open", name, err)
	}
	if info.Dir {
		cancel()
		return &ioDir{fs: i, name: name, path: p, info: info}, nil
	}
	// The file's reads outlive this call: they get a context of their
	// own, ended by Close.
	cancel()
	fctx, fcancel := context.WithCancel(context.Background())
	file, err := i.f.Open(fctx, p)
	if err != nil {
		fcancel()
		return nil, pathErr("open", name, err)
	}
	return &ioFile{File: file, name: name, cancel: fcancel}, nil
}

func (i ioFS) Stat(name string) (fs.FileInfo, error) {
	p, err := absPath("stat", name)
	if err != nil {
		return nil, err
	}
	ctx, cancel := i.ctx()
	defer cancel()
	info, err := i.f.Stat(ctx, p)
	if err != nil {
		return nil, pathErr("stat", name, err)
	}
	return fileInfo{info, path.Base(name)}, nil
}

func (i ioFS) ReadDir(name string) ([]fs.DirEntry, error) {
	p, err := absPath("readdir", name)
	if err != nil {
		return nil, err
	}
	ctx, cancel := i.ctx()
	defer cancel()
	infos, err := i.f.ReadDir(ctx, p)
	if err != nil {
		return nil, pathErr("readdir", name, err)
	}
	out := make([]fs.DirEntry, len(infos))
	for k, info := range infos {
		out[k] = fs.FileInfoToDirEntry(fileInfo{info, info.Name})
	}
	return out, nil
}

func (i ioFS) ReadFile(name string) ([]byte, error) {
	p, err := absPath("readfile", name)
	if err != nil {
		return nil, err
	}
	ctx, cancel := i.ctx()
	defer cancel()
	file, err := i.f.Open(ctx, p)
	if err != nil {
		return nil, pathErr("readfile", name, err)
	}
	defer file.Close()
	data := make([]byte, file.Size())
	if _, err := file.ReadAt(data, 0); err != nil && err != io.EOF {
		return nil, pathErr("readfile", name, err)
	}
	return data, nil
}

// fileInfo is a meta.Info as an fs.FileInfo.
type fileInfo struct {
	info meta.Info
	name string
}

func (fi fileInfo) Name() string {
	if fi.name == "." || fi.name == "/" {
		return "."
	}
	return fi.name
}
func (fi fileInfo) Size() int64        { return int64(fi.info.Size) }
func (fi fileInfo) ModTime() time.Time { return time.Unix(0, fi.info.MTime) }
func (fi fileInfo) IsDir() bool        { return fi.info.Dir }
func (fi fileInfo) Sys() any           { return fi.info }
func (fi fileInfo) Mode() fs.FileMode {
	m := fs.FileMode(fi.info.Mode).Perm()
	if fi.info.Dir {
		m |= fs.ModeDir
	}
	return m
}

// ioFile is an open file of the io/fs view.
type ioFile struct {
	*File
	name   string
	cancel context.CancelFunc
}

func (f *ioFile) Stat() (fs.FileInfo, error) { return fileInfo{f.info, path.Base(f.name)}, nil }

func (f *ioFile) Close() error {
	if f.File.closed() {
		return &fs.PathError{Op: "close", Path: f.name, Err: fs.ErrClosed}
	}
	err := f.File.Close()
	f.cancel()
	return err
}

func (f *ioFile) Read(p []byte) (int, error) {
	if f.File.closed() {
		return 0, &fs.PathError{Op: "read", Path: f.name, Err: fs.ErrClosed}
	}
	return f.File.Read(p)
}

// ioDir is an open directory of the io/fs view; its entries are read on
// the first ReadDir.
type ioDir struct {
	fs      ioFS
	name    string
	path    string
	info    meta.Info
	entries []fs.DirEntry
	read    bool
	closed  bool
}

func (d *ioDir) Stat() (fs.FileInfo, error) { return fileInfo{d.info, path.Base(d.name)}, nil }

func (d *ioDir) Read([]byte) (int, error) {
	return 0, &fs.PathError{Op: "read", Path: d.name, Err: errors.New("is a directory")}
}

func (d *ioDir) Close() error {
	if d.closed {
		return &fs.PathError{Op: "close", Path: d.name, Err: fs.ErrClosed}
	}
	d.closed = true
	return nil
}

// ReadDir returns the next n entries (all the rest when n <= 0), as
// fs.ReadDirFile says.
func (d *ioDir) ReadDir(n int) ([]fs.DirEntry, error) {
	if d.closed {
		return nil, &fs.PathError{Op: "readdir", Path: d.name, Err: fs.ErrClosed}
	}
	if !d.read {
		es, err := d.fs.ReadDir(d.name)
		if err != nil {
			return nil, err
		}
		d.entries, d.read = es, true
	}
	if n <= 0 {
		out := d.entries
		d.entries = nil
		return out, nil
	}
	if len(d.entries) == 0 {
		return nil, io.EOF
	}
	k := min(n, len(d.entries))
	out := d.entries[:k:k]
	d.entries = d.entries[k:]
	return out, nil
}
