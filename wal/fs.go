package wal

import (
	"io"
	"os"
	"path/filepath"
	"slices"
)

// FS is the file system the WAL writes to: the operations it needs and no
// more, so a fault-injecting implementation (MemFS) can stand in for the
// disk in tests. Names are slash-separated paths as built by filepath.Join.
type FS interface {
	// MkdirAll creates dir and its parents if absent.
	MkdirAll(dir string) error
	// Create creates name, or truncates it if it exists, for writing.
	Create(name string) (File, error)
	// OpenAppend opens an existing file for writing at its end.
	OpenAppend(name string) (File, error)
	// ReadFile returns the whole content of name.
	ReadFile(name string) ([]byte, error)
	// ReadDir returns the names (not paths) of the entries of dir, sorted.
	ReadDir(dir string) ([]string, error)
	// Remove deletes name.
	Remove(name string) error
	// Rename moves oldname to newname, replacing newname.
	Rename(oldname, newname string) error
	// SyncDir makes dir's entries (creations, renames, removals) durable.
	SyncDir(dir string) error
}

// File is a file open for writing.
type File interface {
	// Write appends p.
	Write(p []byte) (int, error)
	// Sync makes the file's content and size durable.
	Sync() error
	// Truncate changes the file's size; later writes append at the new end.
	Truncate(size int64) error
	Close() error
}

// OSFS is the operating system's file system.
type OSFS struct{}

var _ FS = OSFS{}

func (OSFS) MkdirAll(dir string) error { return os.MkdirAll(dir, 0o755) }

func (OSFS) Create(name string) (File, error) {
	return openOS(name, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o644)
}

func (OSFS) OpenAppend(name string) (File, error) {
	return openOS(name, os.O_WRONLY|os.O_APPEND, 0)
}

// osFile syncs with fdatasync where the system has it: the file's data and
// the metadata needed to read it back (its size), without its times, as
// etcd's wal does.
type osFile struct{ *os.File }

func openOS(name string, flag int, perm os.FileMode) (File, error) {
	f, err := os.OpenFile(name, flag, perm)
	if err != nil {
		return nil, err
	}
	return osFile{f}, nil
}

func (f osFile) Sync() error { return datasync(f.File) }

func (OSFS) ReadFile(name string) ([]byte, error) { return os.ReadFile(name) }

func (OSFS) ReadDir(dir string) ([]string, error) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	names := make([]string, len(ents))
	for i, e := range ents {
		names[i] = e.Name()
	}
	slices.Sort(names)
	return names, nil
}

func (OSFS) Remove(name string) error { return os.Remove(name) }

func (OSFS) Rename(oldname, newname string) error { return os.Rename(oldname, newname) }

func (OSFS) SyncDir(dir string) error {
	d, err := os.Open(filepath.Clean(dir))
	if err != nil {
		return err
	}
	err = d.Sync()
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	return err
}

// ReadAtFS is an FS that can also open a file for reading at offsets. The
// WAL does not need it; the block store does, to read one record of a large
// pack file (and the pack's size) without loading the whole file. It is a
// separate interface so that existing FS implementations stay valid.
type ReadAtFS interface {
	FS
	// OpenReadAt opens an existing file for reading.
	OpenReadAt(name string) (ReadAtFile, error)
}

// ReadAtFile is a file open for reading at offsets. It sees writes made
// through other handles on the same file, as an os.File does.
type ReadAtFile interface {
	io.ReaderAt
	// Size returns the file's current size in bytes.
	Size() (int64, error)
	Close() error
}

var _ ReadAtFS = OSFS{}

func (OSFS) OpenReadAt(name string) (ReadAtFile, error) {
	f, err := os.Open(name)
	if err != nil {
		return nil, err
	}
	return osReadFile{f}, nil
}

type osReadFile struct{ *os.File }

func (f osReadFile) Size() (int64, error) {
	fi, err := f.Stat()
	if err != nil {
		return 0, err
	}
	return fi.Size(), nil
}
