package wal

import (
	"io"
	"io/fs"
	"path/filepath"
)

var _ ReadAtFS = (*MemFS)(nil)

// OpenReadAt opens name for reading at offsets. Like an open file on a
// real system, the handle keeps the file even if its name is removed or
// replaced; it fails with ErrCrashed after a Crash. Its fault-hook
// operations are "openread" and "readat".
func (m *MemFS) OpenReadAt(name string) (ReadAtFile, error) {
	name = filepath.Clean(name)
	if err := m.fault("openread", name); err != nil {
		return nil, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	n := m.mu.names[name]
	if n == nil {
		return nil, notExist("openread", name)
	}
	return &memReadFile{memFile{fs: m, n: n, name: name, gen: m.mu.gen}}, nil
}

// memReadFile is a read handle on a MemFS inode.
type memReadFile struct{ f memFile }

func (r *memReadFile) ReadAt(p []byte, off int64) (int, error) {
	if err := r.f.fs.fault("readat", r.f.name); err != nil {
		return 0, err
	}
	r.f.fs.mu.Lock()
	defer r.f.fs.mu.Unlock()
	if err := r.f.checkLocked(); err != nil {
		return 0, err
	}
	n := r.f.n
	if off < 0 {
		return 0, &fs.PathError{Op: "readat", Path: r.f.name, Err: fs.ErrInvalid}
	}
	if off >= int64(n.size) {
		return 0, io.EOF
	}
	end := min(int64(n.size), off+int64(len(p)))
	k := n.readInto(p[:end-off], int(off))
	if k < len(p) {
		return k, io.EOF
	}
	return k, nil
}

func (r *memReadFile) Size() (int64, error) {
	r.f.fs.mu.Lock()
	defer r.f.fs.mu.Unlock()
	if err := r.f.checkLocked(); err != nil {
		return 0, err
	}
	return int64(r.f.n.size), nil
}

func (r *memReadFile) Close() error { return r.f.Close() }

// readInto copies the bytes at off into p, which must lie within the file.
func (n *inode) readInto(p []byte, off int) int {
	k := 0
	for k < len(p) {
		c := n.chunks[off/chunkSize]
		k += copy(p[k:], c[off%chunkSize:])
		off = (off/chunkSize + 1) * chunkSize
	}
	return k
}
