package wal

import (
	"errors"
	"fmt"
	"path/filepath"
	"testing"

	"github.com/puddlestore/puddlestore/raft/raftpb"
)

// build writes a small log in one segment and returns its file name.
func build(t testing.TB, fsys *MemFS) string {
	t.Helper()
	w, _ := open(t, fsys, 0)
	for i := uint64(0); i < 5; i++ {
		mustSave(t, w, raftpb.HardState{Term: 1, Commit: i}, ents(1+2*i, 2, 1))
	}
	w.Close()
	return filepath.Join(dir, segmentName(0, 1))
}

func rewrite(fsys *MemFS, name string, b []byte) {
	f, _ := fsys.Create(name)
	f.Write(b)
	f.Sync()
	f.Close()
}

func TestTornTailTruncated(t *testing.T) {
	for _, tail := range [][]byte{{0}, make([]byte, 100), {9, 0, 0, 0, 1, 2, 3, 4, 1}} {
		fsys := NewMemFS(1)
		name := build(t, fsys)
		good, _ := fsys.ReadFile(name)
		rewrite(fsys, name, append(good, tail...))
		w, st := open(t, fsys, 0)
		checkState(t, st, State{HardState: raftpb.HardState{Term: 1, Commit: 4}, Entries: ents(1, 10, 1)})
		if b, _ := fsys.ReadFile(name); len(b) != len(good) {
			t.Fatalf("tail not truncated: %d bytes, want %d", len(b), len(good))
		}
		mustSave(t, w, raftpb.HardState{}, ents(11, 1, 1))
		w.Close()
		_, st = open(t, fsys, 0)
		checkState(t, st, State{HardState: raftpb.HardState{Term: 1, Commit: 4}, Entries: ents(1, 11, 1)})
	}
}

func TestMidLogCorruption(t *testing.T) {
	fsys := NewMemFS(1)
	name := build(t, fsys)
	good, _ := fsys.ReadFile(name)
	b := append([]byte(nil), good...)
	b[headerSize+3] ^= 0x40 // inside the first record, valid ones follow
	rewrite(fsys, name, b)
	if _, _, err := Open(Options{Dir: dir, FS: fsys}); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("damaged first record: err = %v, want ErrCorrupt", err)
	}

	// Damage at the end of a segment that is not the last.
	fsys = NewMemFS(1)
	w, _ := open(t, fsys, 64)
	for i := uint64(1); i <= 5; i++ {
		mustSave(t, w, raftpb.HardState{Term: 1}, ents(i, 1, 1))
	}
	w.Close()
	first := filepath.Join(dir, segmentNames(t, fsys)[0])
	b, _ = fsys.ReadFile(first)
	b[len(b)-1] ^= 1
	rewrite(fsys, first, b)
	if _, _, err := Open(Options{Dir: dir, FS: fsys}); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("damaged full segment: err = %v, want ErrCorrupt", err)
	}

	// A missing segment.
	fsys = NewMemFS(1)
	w, _ = open(t, fsys, 64)
	for i := uint64(1); i <= 5; i++ {
		mustSave(t, w, raftpb.HardState{Term: 1}, ents(i, 1, 1))
	}
	w.Close()
	fsys.Remove(filepath.Join(dir, segmentNames(t, fsys)[1]))
	if _, _, err := Open(Options{Dir: dir, FS: fsys}); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("missing segment: err = %v, want ErrCorrupt", err)
	}
}

// TestBitFlips flips every bit of a small log: Open must return ErrCorrupt
// or a prefix of the log (a damaged last record looks torn), never panic.
func TestBitFlips(t *testing.T) {
	fsys := NewMemFS(1)
	name := build(t, fsys)
	good, _ := fsys.ReadFile(name)
	for bit := 0; bit < 8*len(good); bit++ {
		b := append([]byte(nil), good...)
		b[bit/8] ^= 1 << (bit % 8)
		if err := openDamaged(b); err != nil {
			t.Fatalf("bit %d: %v", bit, err)
		}
	}
}

// openDamaged opens a log whose only segment holds b and checks that the
// result is ErrCorrupt or a consistent log.
func openDamaged(b []byte) error {
	fsys := NewMemFS(1)
	fsys.MkdirAll(dir)
	rewrite(fsys, filepath.Join(dir, segmentName(0, 1)), b)
	w, st, err := Open(Options{Dir: dir, FS: fsys})
	if err != nil {
		if !errors.Is(err, ErrCorrupt) {
			return fmt.Errorf("open: %w, want ErrCorrupt", err)
		}
		return nil
	}
	next := st.Snapshot.Metadata.Index + 1
	for _, e := range st.Entries {
		if e.Index != next {
			return fmt.Errorf("recovered entries %v not contiguous", indexes(st.Entries))
		}
		next++
	}
	// The recovered log must accept the next entry and recover it.
	if err := w.Save(raftpb.HardState{Term: 99}, []raftpb.Entry{{Term: 99, Index: next}}); err != nil {
		return fmt.Errorf("save after recovery: %w", err)
	}
	w.Close()
	_, st2, err := Open(Options{Dir: dir, FS: fsys})
	if err != nil {
		return fmt.Errorf("reopen: %w", err)
	}
	if n := len(st2.Entries); n != len(st.Entries)+1 || st2.Entries[n-1].Index != next {
		return fmt.Errorf("reopen: entries %v after saving %d", indexes(st2.Entries), next)
	}
	return nil
}

func FuzzOpen(f *testing.F) {
	fsys := NewMemFS(1)
	good, _ := fsys.ReadFile(build(f, fsys))
	f.Add(good)
	f.Add(good[:len(good)-3])
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, b []byte) {
		if err := openDamaged(b); err != nil {
			t.Fatal(err)
		}
	})
}
