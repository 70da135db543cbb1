package wal

import (
	"errors"
	"fmt"
	"io/fs"
	"math/rand/v2"
	"slices"
	"sync"
)

// ErrCrashed is returned by a MemFS file handle opened before the last Crash.
var ErrCrashed = errors.New("wal: file handle lost in crash")

// MemFS is an in-memory FS that models what a crash preserves. For each file
// it tracks the content as of its last Sync, and for each directory the
// entries as of its last SyncDir. Crash discards everything else: unsynced
// bytes, and unsynced creations, renames and removals. With torn writes on
// (the default) a crash keeps a seeded-random prefix of a file's unsynced
// appended bytes, sometimes followed by zeros up to the unsynced size, as a
// disk that updated the size but not all the data would.
//
// Directories are durable as soon as MkdirAll returns. A MemFS is
// deterministic for a seed and safe for concurrent use, though the WAL uses
// it from one goroutine at a time.
type MemFS struct {
	mu struct {
		sync.Mutex
		rng     *rand.Rand
		tear    bool
		gen     uint64            // incremented by Crash; older handles fail
		dirs    map[string]bool   // existing directories
		names   map[string]*inode // current directory entries
		durable map[string]*inode // entries as of their directory's last SyncDir
		fault   func(op, name string) error
		syncs   int
	}
}

var _ FS = (*MemFS)(nil)

// NewMemFS returns an empty MemFS whose crashes are driven by seed.
func NewMemFS(seed uint64) *MemFS {
	m := &MemFS{}
	m.mu.rng = rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	m.mu.tear = true
	m.mu.dirs = map[string]bool{"/": true, ".": true}
	m.mu.names = map[string]*inode{}
	m.mu.durable = map[string]*inode{}
	return m
}

// SetTornWrites chooses whether Crash keeps a random prefix of unsynced
// appends (true, the default) or drops all unsynced data.
func (m *MemFS) SetTornWrites(on bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.mu.tear = on
}

// SetFault installs f, called before every operation with its name
// ("create", "open", "write", "sync", "truncate", "read", "readdir",
// "remove", "rename", "syncdir", "mkdir") and path; a non-nil result is
// returned instead of performing the operation. nil removes the hook.
func (m *MemFS) SetFault(f func(op, name string) error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.mu.fault = f
}

// Syncs returns how many times File.Sync has succeeded.
func (m *MemFS) Syncs() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.mu.syncs
}

// fault runs the fault hook outside the lock.
func (m *MemFS) fault(op, name string) error {
	m.mu.Lock()
	f := m.mu.fault
	m.mu.Unlock()
	if f == nil {
		return nil
	}
	if err := f(op, name); err != nil {
		return fmt.Errorf("memfs: %s %s: %w", op, name, err)
	}
	return nil
}

// Crash simulates a power failure: the file system becomes what was
// durable (plus torn tails, see MemFS), and every open handle fails.
func (m *MemFS) Crash() {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.mu.gen++
	names := slices.Sorted(mapKeys(m.mu.durable))
	fresh := make(map[*inode]*inode)
	m.mu.names = make(map[string]*inode, len(names))
	for _, name := range names {
		old := m.mu.durable[name]
		n, ok := fresh[old]
		if !ok {
			n = newInode(m.survivorLocked(old))
			fresh[old] = n
		}
		m.mu.names[name] = n
		m.mu.durable[name] = n
	}
}

func (m *MemFS) survivorLocked(n *inode) []byte {
	keep := n.durableContent()
	unsynced := n.size - n.synced
	if !m.mu.tear || n.diverged || unsynced <= 0 {
		return keep
	}
	k := m.mu.rng.IntN(unsynced + 1)
	keep = append(keep, n.read(n.synced, n.synced+k)...)
	if m.mu.rng.IntN(4) == 0 {
		keep = append(keep, make([]byte, unsynced-k)...)
	}
	return keep
}

func mapKeys(m map[string]*inode) func(func(string) bool) {
	return func(yield func(string) bool) {
		for k := range m {
			if !yield(k) {
				return
			}
		}
	}
}

func notExist(op, name string) error {
	return &fs.PathError{Op: op, Path: name, Err: fs.ErrNotExist}
}
