package wal

import (
	"testing"

	"github.com/puddlestore/puddlestore/raft/raftpb"
)

func hsTerm(term uint64) raftpb.HardState { return raftpb.HardState{Term: term} }

// BenchmarkSave measures one Save of 64 entries of 256 bytes on the real
// disk: one write and one fsync each.
func BenchmarkSave(b *testing.B) {
	benchSave(b, nil)
}

// BenchmarkSaveMemFS is the same on MemFS, the encoding and bookkeeping cost.
func BenchmarkSaveMemFS(b *testing.B) {
	benchSave(b, NewMemFS(1))
}

func benchSave(b *testing.B, fsys FS) {
	w, _, err := Open(Options{Dir: b.TempDir(), FS: fsys})
	if fsys != nil {
		w, _, err = Open(Options{Dir: dir, FS: fsys})
	}
	if err != nil {
		b.Fatal(err)
	}
	defer w.Close()
	es := make([]raftpb.Entry, 64)
	for i := range es {
		es[i] = raftpb.Entry{Term: 1, Data: make([]byte, 256)}
	}
	b.SetBytes(64 * 256)
	b.ReportAllocs()
	next := uint64(1)
	for b.Loop() {
		for i := range es {
			es[i].Index = next + uint64(i)
		}
		next += uint64(len(es))
		if err := w.Save(raftpb.HardState{Term: 1, Commit: next - 1}, es); err != nil {
			b.Fatal(err)
		}
	}
}
