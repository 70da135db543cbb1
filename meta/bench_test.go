package meta

import (
	"fmt"
	"testing"
)

// benchState holds dirs×files files with versions versions each.
func benchState(b *testing.B, dirs, files, versions int) *harness {
	h := newHarness(b, Config{})
	for d := range dirs {
		h.must(0, Mkdir(fmt.Sprintf("/d%d", d), false, 0o755, "o"))
		for f := range files {
			for v := range versions {
				h.must(0, Commit(fmt.Sprintf("/d%d/f%d", d, f), ExpectAny(), refOf(fmt.Sprint(d, f, v)), 1, 0o644, "w", 0))
			}
		}
	}
	return h
}

// BenchmarkApplyCommit: decode and apply a compare-and-swap commit to an
// existing file, with a session, in a tree of 10,000 files.
func BenchmarkApplyCommit(b *testing.B) {
	h := benchState(b, 10, 1000, 1)
	cur, _ := h.s.Stat("/d5/f500", Latest)
	v := cur.Version
	b.ReportAllocs()
	for i := range b.N {
		c := Commit("/d5/f500", ExpectVersion(v), refOf(fmt.Sprint(i)), 1, 0o644, "w", 0)
		c.Client, c.Seq = 1+uint64(i%100), 1+uint64(i)
		res, err := h.s.Apply(h.index+uint64(i)+1, c.Encode())
		if err != nil {
			b.Fatal(err)
		}
		v = res.(Result).Version
	}
}

// BenchmarkStat: a path of two elements, now and as of a time in the
// middle of a 100-version history.
func BenchmarkStat(b *testing.B) {
	h := benchState(b, 10, 100, 100)
	_, now := h.s.Applied()
	for _, at := range []int64{Latest, now / 2} {
		name := "latest"
		if at != Latest {
			name = "asof"
		}
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			for range b.N {
				if _, err := h.s.Stat("/d3/f42", at); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkSnapshot: encode and restore 100,000 files of one version.
func BenchmarkSnapshot(b *testing.B) {
	h := benchState(b, 100, 1000, 1)
	data := snapshot(b, h.s)
	b.Run("encode", func(b *testing.B) {
		b.SetBytes(int64(len(data)))
		for range b.N {
			h.s.Snapshot()
		}
	})
	b.Run("restore", func(b *testing.B) {
		b.SetBytes(int64(len(data)))
		s, _ := New(Config{})
		for range b.N {
			if err := s.Restore(data); err != nil {
				b.Fatal(err)
			}
		}
	})
}
