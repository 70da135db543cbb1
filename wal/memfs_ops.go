package wal

import (
	"io/fs"
	"path/filepath"
	"slices"
)

func (m *MemFS) MkdirAll(dir string) error {
	dir = filepath.Clean(dir)
	if err := m.fault("mkdir", dir); err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	for d := dir; !m.mu.dirs[d]; d = filepath.Dir(d) {
		m.mu.dirs[d] = true
	}
	return nil
}

func (m *MemFS) Create(name string) (File, error) {
	name = filepath.Clean(name)
	if err := m.fault("create", name); err != nil {
		return nil, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if !m.mu.dirs[filepath.Dir(name)] {
		return nil, notExist("create", name)
	}
	n := m.mu.names[name]
	if n == nil {
		n = &inode{}
		m.mu.names[name] = n
	} else {
		n.truncate(0)
	}
	return &memFile{fs: m, n: n, name: name, gen: m.mu.gen}, nil
}

func (m *MemFS) OpenAppend(name string) (File, error) {
	name = filepath.Clean(name)
	if err := m.fault("open", name); err != nil {
		return nil, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	n := m.mu.names[name]
	if n == nil {
		return nil, notExist("open", name)
	}
	return &memFile{fs: m, n: n, name: name, gen: m.mu.gen}, nil
}

func (m *MemFS) ReadFile(name string) ([]byte, error) {
	name = filepath.Clean(name)
	if err := m.fault("read", name); err != nil {
		return nil, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	n := m.mu.names[name]
	if n == nil {
		return nil, notExist("read", name)
	}
	return n.read(0, n.size), nil
}

func (m *MemFS) ReadDir(dir string) ([]string, error) {
	dir = filepath.Clean(dir)
	if err := m.fault("readdir", dir); err != nil {
		return nil, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if !m.mu.dirs[dir] {
		return nil, notExist("readdir", dir)
	}
	var names []string
	for name := range m.mu.names {
		if filepath.Dir(name) == dir {
			names = append(names, filepath.Base(name))
		}
	}
	for d := range m.mu.dirs {
		if d != dir && filepath.Dir(d) == dir {
			names = append(names, filepath.Base(d))
		}
	}
	slices.Sort(names)
	return names, nil
}

func (m *MemFS) Remove(name string) error {
	name = filepath.Clean(name)
	if err := m.fault("remove", name); err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.mu.names[name] == nil {
		return notExist("remove", name)
	}
	delete(m.mu.names, name)
	return nil
}

func (m *MemFS) Rename(oldname, newname string) error {
	oldname, newname = filepath.Clean(oldname), filepath.Clean(newname)
	if err := m.fault("rename", oldname); err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	n := m.mu.names[oldname]
	if n == nil {
		return notExist("rename", oldname)
	}
	if !m.mu.dirs[filepath.Dir(newname)] {
		return notExist("rename", newname)
	}
	delete(m.mu.names, oldname)
	m.mu.names[newname] = n
	return nil
}

func (m *MemFS) SyncDir(dir string) error {
	dir = filepath.Clean(dir)
	if err := m.fault("syncdir", dir); err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if !m.mu.dirs[dir] {
		return notExist("syncdir", dir)
	}
	for name := range m.mu.durable {
		if filepath.Dir(name) == dir {
			delete(m.mu.durable, name)
		}
	}
	for name, n := range m.mu.names {
		if filepath.Dir(name) == dir {
			m.mu.durable[name] = n
		}
	}
	return nil
}

// memFile is a handle on a MemFS inode, valid until the next Crash.
type memFile struct {
	fs     *MemFS
	n      *inode
	name   string
	gen    uint64
	closed bool
}

// checkLocked fails handles that were closed or outlived a crash.
func (f *memFile) checkLocked() error {
	if f.closed || f.gen != f.fs.mu.gen {
		return ErrCrashed
	}
	return nil
}

func (f *memFile) Write(p []byte) (int, error) {
	if err := f.fs.fault("write", f.name); err != nil {
		return 0, err
	}
	f.fs.mu.Lock()
	defer f.fs.mu.Unlock()
	if err := f.checkLocked(); err != nil {
		return 0, err
	}
	f.n.append(p)
	return len(p), nil
}

func (f *memFile) Sync() error {
	if err := f.fs.fault("sync", f.name); err != nil {
		return err
	}
	f.fs.mu.Lock()
	defer f.fs.mu.Unlock()
	if err := f.checkLocked(); err != nil {
		return err
	}
	f.n.sync()
	f.fs.mu.syncs++
	return nil
}

func (f *memFile) Truncate(size int64) error {
	if err := f.fs.fault("truncate", f.name); err != nil {
		return err
	}
	f.fs.mu.Lock()
	defer f.fs.mu.Unlock()
	if err := f.checkLocked(); err != nil {
		return err
	}
	if n := f.n; int(size) <= n.size {
		n.truncate(int(size))
	} else {
		n.append(make([]byte, int(size)-n.size))
	}
	return nil
}

func (f *memFile) Close() error {
	f.fs.mu.Lock()
	defer f.fs.mu.Unlock()
	if f.closed {
		return fs.ErrClosed
	}
	f.closed = true
	return nil
}
