package wal

import (
	"errors"
	"fmt"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/puddlestore/puddlestore/raft/raftpb"
)

const dir = "/data/wal"

func ents(first, n, term uint64) []raftpb.Entry {
	es := make([]raftpb.Entry, n)
	for i := range es {
		idx := first + uint64(i)
		es[i] = raftpb.Entry{Term: term, Index: idx, Data: []byte(fmt.Sprintf("entry %d term %d", idx, term))}
	}
	return es
}

func open(t testing.TB, fsys FS, segBytes int64) (*WAL, *State) {
	t.Helper()
	w, st, err := Open(Options{Dir: dir, FS: fsys, SegmentBytes: segBytes})
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	return w, st
}

func mustSave(t testing.TB, w *WAL, hs raftpb.HardState, es []raftpb.Entry) {
	t.Helper()
	if err := w.Save(hs, es); err != nil {
		t.Fatalf("save %d entries: %v", len(es), err)
	}
}

func checkState(t testing.TB, got *State, want State) {
	t.Helper()
	if len(want.Entries) == 0 {
		want.Entries = nil
	}
	if len(got.Entries) == 0 {
		got.Entries = nil
	}
	if !reflect.DeepEqual(*got, want) {
		t.Fatalf("state:\n got hs %+v snap %+v %d entries %v\nwant hs %+v snap %+v %d entries %v",
			got.HardState, got.Snapshot.Metadata, len(got.Entries), indexes(got.Entries),
			want.HardState, want.Snapshot.Metadata, len(want.Entries), indexes(want.Entries))
	}
}

func indexes(es []raftpb.Entry) string {
	var b strings.Builder
	for _, e := range es {
		fmt.Fprintf(&b, "%d/%d ", e.Index, e.Term)
	}
	return b.String()
}

func segmentNames(t testing.TB, fsys FS) []string {
	t.Helper()
	names, err := fsys.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var segs []string
	for _, n := range names {
		if strings.HasSuffix(n, ".wal") {
			segs = append(segs, n)
		}
	}
	return segs
}

func TestRoundTrip(t *testing.T) {
	for _, fsys := range []FS{NewMemFS(1), nil} {
		t.Run(fmt.Sprintf("%T", fsys), func(t *testing.T) {
			opts := Options{Dir: dir, FS: fsys}
			if fsys == nil {
				opts.Dir = t.TempDir()
			}
			w, st, err := Open(opts)
			if err != nil {
				t.Fatal(err)
			}
			checkState(t, st, State{})
			hs := raftpb.HardState{Term: 2, Vote: 1, Commit: 3}
			mustSave(t, w, hs, ents(1, 5, 2))
			mustSave(t, w, raftpb.HardState{}, ents(6, 1, 2))
			mustSave(t, w, raftpb.HardState{Term: 2, Vote: 1, Commit: 6}, nil)
			if err := w.Close(); err != nil {
				t.Fatal(err)
			}
			if err := w.Save(hs, nil); !errors.Is(err, ErrClosed) {
				t.Fatalf("save after close: %v", err)
			}
			w, st, err = Open(opts)
			if err != nil {
				t.Fatal(err)
			}
			defer w.Close()
			checkState(t, st, State{HardState: raftpb.HardState{Term: 2, Vote: 1, Commit: 6}, Entries: ents(1, 6, 2)})
		})
	}
}

func TestOneSyncPerSave(t *testing.T) {
	fsys := NewMemFS(1)
	w, _ := open(t, fsys, 0)
	before := fsys.Syncs()
	mustSave(t, w, raftpb.HardState{Term: 1}, ents(1, 64, 1))
	if n := fsys.Syncs() - before; n != 1 {
		t.Fatalf("Save made %d fsyncs, want 1", n)
	}
	mustSave(t, w, raftpb.HardState{Term: 1}, nil) // unchanged: no I/O
	if n := fsys.Syncs() - before; n != 1 {
		t.Fatalf("no-op Save synced")
	}
}

func TestOverwrite(t *testing.T) {
	fsys := NewMemFS(1)
	w, _ := open(t, fsys, 0)
	mustSave(t, w, raftpb.HardState{Term: 1}, ents(1, 10, 1))
	mustSave(t, w, raftpb.HardState{Term: 2}, ents(5, 3, 2))
	mustSave(t, w, raftpb.HardState{}, ents(8, 1, 2))
	mustSave(t, w, raftpb.HardState{Term: 3}, ents(8, 2, 3))
	for _, bad := range [][]raftpb.Entry{ents(11, 1, 3), {{Index: 10}, {Index: 12}}, ents(0, 1, 3)} {
		if err := w.Save(raftpb.HardState{}, bad); !errors.Is(err, ErrInvalid) {
			t.Fatalf("save %v: err = %v, want ErrInvalid", indexes(bad), err)
		}
	}
	w.Close()
	want := append(append(ents(1, 4, 1), ents(5, 3, 2)...), ents(8, 2, 3)...)
	_, st := open(t, fsys, 0)
	checkState(t, st, State{HardState: raftpb.HardState{Term: 3}, Entries: want})
}

func TestManySegments(t *testing.T) {
	fsys := NewMemFS(1)
	w, _ := open(t, fsys, 1024)
	var want []raftpb.Entry
	for i := uint64(0); i < 200; i++ {
		es := ents(1+3*i, 3, 1)
		mustSave(t, w, raftpb.HardState{Term: 1, Commit: i}, es)
		want = append(want, es...)
	}
	if n := len(segmentNames(t, fsys)); n < 10 {
		t.Fatalf("%d segments, want many", n)
	}
	w.Close()
	w, st := open(t, fsys, 1024)
	checkState(t, st, State{HardState: raftpb.HardState{Term: 1, Commit: 199}, Entries: want})
	// Overwrite across a segment boundary.
	mustSave(t, w, raftpb.HardState{Term: 2}, ents(100, 1, 2))
	w.Close()
	_, st = open(t, fsys, 1024)
	checkState(t, st, State{HardState: raftpb.HardState{Term: 2}, Entries: append(want[:99:99], ents(100, 1, 2)...)})
}

func snap(index, term uint64) raftpb.Snapshot {
	return raftpb.Snapshot{
		Metadata: raftpb.SnapshotMetadata{Index: index, Term: term, ConfState: raftpb.ConfState{Voters: []uint64{1, 2, 3}}},
		Data:     []byte(fmt.Sprintf("image at %d", index)),
	}
}

func TestSnapshotRelease(t *testing.T) {
	fsys := NewMemFS(1)
	w, _ := open(t, fsys, 2048)
	hs := raftpb.HardState{Term: 1, Vote: 1}
	var last raftpb.Snapshot
	for i := uint64(0); i < 500; i++ {
		mustSave(t, w, hs, ents(1+4*i, 4, 1))
		if i%50 == 49 {
			last = snap(4*i, 1)
			if err := w.SaveSnapshot(last); err != nil {
				t.Fatal(err)
			}
			if segs := len(segmentNames(t, fsys)); segs > 30 {
				t.Fatalf("after snapshot %d: %d segments, not released", i, segs)
			}
		}
	}
	names, _ := fsys.ReadDir(dir)
	if n := len(names) - len(segmentNames(t, fsys)); n != 2 {
		t.Fatalf("%d snapshot files kept, want 2: %v", n, names)
	}
	w.Close()
	_, st := open(t, fsys, 2048)
	checkState(t, st, State{HardState: hs, Snapshot: last, Entries: ents(last.Metadata.Index+1, 4, 1)})
}

func TestSnapshotResetsLog(t *testing.T) {
	fsys := NewMemFS(1)
	w, _ := open(t, fsys, 0)
	mustSave(t, w, raftpb.HardState{Term: 1}, ents(1, 10, 1))
	// A leader's snapshot with a different term at 8: the log restarts.
	if err := w.SaveSnapshot(snap(8, 2)); err != nil {
		t.Fatal(err)
	}
	if err := w.Save(raftpb.HardState{}, ents(8, 1, 2)); !errors.Is(err, ErrInvalid) {
		t.Fatalf("overwriting the snapshot: err = %v", err)
	}
	mustSave(t, w, raftpb.HardState{Term: 2}, ents(9, 2, 2))
	// A snapshot beyond the log.
	if err := w.SaveSnapshot(snap(20, 3)); err != nil {
		t.Fatal(err)
	}
	mustSave(t, w, raftpb.HardState{Term: 3}, ents(21, 1, 3))
	w.Close()
	_, st := open(t, fsys, 0)
	checkState(t, st, State{HardState: raftpb.HardState{Term: 3}, Snapshot: snap(20, 3), Entries: ents(21, 1, 3)})
}

func TestSnapshotFallback(t *testing.T) {
	damage := func(fsys *MemFS, index, term uint64) {
		name := filepath.Join(dir, snapshotName(index, term))
		b, _ := fsys.ReadFile(name)
		b[len(b)/2] ^= 1
		f, _ := fsys.Create(name)
		f.Write(b)
		f.Sync()
		f.Close()
	}
	fsys := NewMemFS(1)
	w, _ := open(t, fsys, 0)
	mustSave(t, w, raftpb.HardState{Term: 1}, ents(1, 30, 1))
	for _, s := range []raftpb.Snapshot{snap(10, 1), snap(20, 1)} {
		if err := w.SaveSnapshot(s); err != nil {
			t.Fatal(err)
		}
	}
	w.Close()
	damage(fsys, 20, 1)
	w, st := open(t, fsys, 0)
	checkState(t, st, State{HardState: raftpb.HardState{Term: 1}, Snapshot: snap(10, 1), Entries: ents(11, 20, 1)})
	w.Close()

	// After a reset the log no longer covers the older snapshot.
	fsys = NewMemFS(1)
	w, _ = open(t, fsys, 0)
	mustSave(t, w, raftpb.HardState{Term: 1}, ents(1, 10, 1))
	w.SaveSnapshot(snap(5, 1))
	w.SaveSnapshot(snap(50, 2))
	w.Close()
	damage(fsys, 50, 2)
	if _, _, err := Open(Options{Dir: dir, FS: fsys}); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("open: err = %v, want ErrCorrupt", err)
	}
}

// A snapshot prepared off the loop counts only once committed: a crash in
// between recovers the log as if it had never been written, and Saves go
// on while it is being prepared.
func TestPrepareThenCommitSnapshot(t *testing.T) {
	fsys := NewMemFS(1)
	w, _ := open(t, fsys, 0)
	hs := raftpb.HardState{Term: 1, Vote: 1, Commit: 8}
	mustSave(t, w, hs, ents(1, 8, 1))
	s := snap(6, 1)
	if err := w.PrepareSnapshot(s); err != nil {
		t.Fatal(err)
	}
	mustSave(t, w, hs, ents(9, 2, 1)) // the loop goes on meanwhile
	fsys.Crash()
	w.Close()
	w, st := open(t, fsys, 0)
	checkState(t, st, State{HardState: hs, Entries: ents(1, 10, 1)})

	if err := w.PrepareSnapshot(s); err != nil {
		t.Fatal(err)
	}
	if err := w.CommitSnapshot(s.Metadata); err != nil {
		t.Fatal(err)
	}
	fsys.Crash()
	w.Close()
	_, st = open(t, fsys, 0)
	checkState(t, st, State{HardState: hs, Snapshot: s, Entries: ents(7, 4, 1)})
}

func TestDiscardSnapshot(t *testing.T) {
	fsys := NewMemFS(1)
	w, _ := open(t, fsys, 0)
	hs := raftpb.HardState{Term: 1, Vote: 1, Commit: 8}
	mustSave(t, w, hs, ents(1, 8, 1))
	kept, dropped := snap(4, 1), snap(6, 1)
	if err := w.SaveSnapshot(kept); err != nil {
		t.Fatal(err)
	}
	if err := w.PrepareSnapshot(dropped); err != nil {
		t.Fatal(err)
	}
	if err := w.DiscardSnapshot(dropped.Metadata); err != nil {
		t.Fatal(err)
	}
	if err := w.DiscardSnapshot(kept.Metadata); err != nil { // committed: kept
		t.Fatal(err)
	}
	names, _ := fsys.ReadDir(dir)
	var snaps []string
	for _, n := range names {
		if strings.HasSuffix(n, ".snap") {
			snaps = append(snaps, n)
		}
	}
	if len(snaps) != 1 || snaps[0] != snapshotName(4, 1) {
		t.Fatalf("snapshot files %v, want only %s", snaps, snapshotName(4, 1))
	}
}
