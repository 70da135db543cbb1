package meta

import (
	"bytes"
	"fmt"
	"maps"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
)

// dump prints the whole internal state, derived fields included, without
// going through the snapshot codec: comparing dumps catches a field that
// the encoder and decoder both forget, which comparing bytes cannot.
func dump(s *State) string {
	s.mu.RLock()
	defer s.mu.RUnlock()
	var b strings.Builder
	fmt.Fprintf(&b, "applied=%d now=%d nextToken=%d root=%d\n", s.mu.applied, s.mu.now, s.mu.nextToken, s.mu.root.id)
	for i, n := range s.mu.inodes {
		if n.id != uint64(i+1) {
			fmt.Fprintf(&b, "inode %d at position %d\n", n.id, i)
		}
		if !n.isDir() {
			fmt.Fprintf(&b, "file %d %+v\n", n.id, n.versions)
			continue
		}
		d := n.dir
		fmt.Fprintf(&b, "dir %d owner=%q mode=%o ctime=%d live=%d changes=%v\n", n.id, d.owner, d.mode, d.ctime, d.live, d.changes)
		for _, name := range slices.Sorted(maps.Keys(d.kids)) {
			fmt.Fprintf(&b, "  %q:", name)
			for _, l := range d.kids[name] {
				id := uint64(0)
				if l.n != nil {
					id = l.n.id
				}
				fmt.Fprintf(&b, " %d@%d", id, l.t)
			}
			b.WriteString("\n")
		}
	}
	for _, p := range slices.Sorted(maps.Keys(s.mu.leases)) {
		fmt.Fprintf(&b, "lease %+v\n", s.mu.leases[p])
	}
	s.mu.sessions.each(func(se *session) {
		fmt.Fprintf(&b, "session %d seq=%d index=%d res=%+v", se.client, se.seq, se.index, se.res)
		if se.err != nil {
			e := *se.err
			e.Current = nil // printed by value below, not by address
			fmt.Fprintf(&b, " err=%+v", e)
			if se.err.Current != nil {
				fmt.Fprintf(&b, " current=%+v", *se.err.Current)
			}
		}
		b.WriteString("\n")
	})
	for _, n := range sortedNodes(s.mu.nodes) {
		fmt.Fprintf(&b, "node %+v\n", n)
	}
	return b.String()
}

// randomState applies steps random commands (the randomized test's
// generator) to a fresh State.
func randomState(t testing.TB, seed uint64, steps int, cfg Config) *State {
	t.Helper()
	r := rand.New(rand.NewPCG(seed, 1))
	s, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	m := newModel(max(cfg.MaxSessions, 1))
	g := &gen{r: r, m: m, seqs: map[uint64]uint64{}}
	for i := 1; i <= steps; i++ {
		b := g.next()
		m.apply(uint64(i), b)
		s.Apply(uint64(i), b)
	}
	return s
}

// TestSnapshotRoundTrip: a restored State is the same State, derived
// fields, sessions (in recency order, with cached results and errors),
// expired leases and tokens included.
func TestSnapshotRoundTrip(t *testing.T) {
	var sessions, errs, leases int
	for seed := uint64(1); seed <= 20; seed++ {
		s := randomState(t, seed, 400, Config{MaxSessions: 3})
		b := snapshot(t, s)
		r, _ := New(Config{MaxSessions: 3})
		if err := r.Restore(b); err != nil {
			t.Fatalf("seed %d: %v", seed, err)
		}
		if got, want := dump(r), dump(s); got != want {
			t.Fatalf("seed %d: restored state differs:\n%s\nwant:\n%s", seed, got, want)
		}
		d := dump(s)
		sessions += strings.Count(d, "\nsession ")
		errs += strings.Count(d, " err=")
		leases += strings.Count(d, "\nlease ")
	}
	if sessions < 20 || errs < 5 || leases < 5 {
		t.Fatalf("the random states hold %d sessions, %d cached errors, %d leases: too few to prove much", sessions, errs, leases)
	}
}

// TestRestoreTruncated: every strict prefix of a snapshot, and the
// snapshot with a byte more, is refused, and a refused Restore leaves the
// state as it was.
func TestRestoreTruncated(t *testing.T) {
	b := snapshot(t, randomState(t, 7, 200, Config{}))
	s := randomState(t, 8, 50, Config{})
	before := dump(s)
	for i := range b {
		if err := s.Restore(b[:i]); KindOf(err) != KindInvalid {
			t.Fatalf("prefix of %d/%d bytes: %v", i, len(b), err)
		}
	}
	if err := s.Restore(append(b, 0)); KindOf(err) != KindInvalid {
		t.Fatalf("trailing byte: %v", err)
	}
	if dump(s) != before {
		t.Fatal("a refused Restore changed the state")
	}
	if err := s.Restore(b); err != nil {
		t.Fatal(err)
	}
}

// TestRestoreVersion1: a snapshot written before inline versions (version
// 1: no Inline byte) still restores, and is written back as version 2.
func TestRestoreVersion1(t *testing.T) {
	h := newHarness(t, Config{})
	h.must(10, Mkdir("/a/b", true, 0o755, "ann"))
	b := snapshot(t, h.s) // no file versions: versions 1 and 2 differ only in the first byte
	v1 := append([]byte{1}, b[1:]...)
	r, _ := New(Config{})
	if err := r.Restore(v1); err != nil {
		t.Fatalf("version 1 refused: %v", err)
	}
	if got := snapshot(t, r); !bytes.Equal(got, b) {
		t.Fatalf("version 1 restored and written back:\n got %x\nwant %x", got, b)
	}
	if err := r.Restore(append([]byte{snapshotVersion + 1}, b[1:]...)); KindOf(err) != KindInvalid {
		t.Fatalf("version %d: %v", snapshotVersion+1, err)
	}
}

// TestRestoreInlineLimits: Restore refuses inline data whose length is
// not the version's size, or over MaxInline.
func TestRestoreInlineLimits(t *testing.T) {
	h := newHarness(t, Config{})
	h.must(10, CommitInline("/f", ExpectAny(), refOf("f"), []byte("abc"), 0o644, "w", 0))
	s := h.s
	b := snapshot(t, s)
	i := bytes.Index(b, []byte("\x01\x03abc"))
	if i < 0 {
		t.Fatalf("no inline data in %x", b)
	}
	for name, bad := range map[string][]byte{
		"short":      slices.Concat(b[:i], []byte("\x01\x02ab"), b[i+5:]),
		"not a bool": slices.Concat(b[:i], []byte("\x02\x03abc"), b[i+5:]),
	} {
		if err := s.Restore(bad); KindOf(err) != KindInvalid {
			t.Errorf("%s: %v", name, err)
		}
	}
	big := newHarness(t, Config{})
	big.must(10, CommitInline("/f", ExpectAny(), refOf("f"), bytes.Repeat([]byte{'x'}, MaxInline), 0o644, "w", 0))
	b = snapshot(t, big.s)
	r, _ := New(Config{})
	if err := r.Restore(b); err != nil {
		t.Fatal(err)
	}
}
