package meta

import (
	"bytes"
	"encoding/binary"
	"testing"
)

// FuzzCommandDecode: decoding never panics; whatever decodes re-encodes
// to exactly the input (the encoding is canonical); and applying it to a
// populated State never panics and answers a result or an *Error.
func FuzzCommandDecode(f *testing.F) {
	for _, c := range fullCommands() {
		f.Add(c.Encode())
	}
	f.Add([]byte{})
	f.Add([]byte{codecVersion, byte(OpCommit), 0, 0, 0, 0xff, 0xff, 0xff, 0xff, 0x0f})
	base := snapshot(f, randomState(f, 3, 150, Config{}))
	f.Fuzz(func(t *testing.T, b []byte) {
		c, err := DecodeCommand(b)
		if err == nil {
			if got := c.Encode(); !bytes.Equal(got, b) {
				t.Fatalf("re-encoding differs:\n in %x\nout %x", b, got)
			}
		} else if KindOf(err) != KindInvalid {
			t.Fatalf("decode error of kind %v: %v", KindOf(err), err)
		}
		s, _ := New(Config{})
		if err := s.Restore(base); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Apply(1000, b); err != nil && KindOf(err) == 0 {
			t.Fatalf("Apply error without a kind: %v", err)
		}
	})
}

// FuzzRestore: Restore never panics; what it accepts re-encodes to
// exactly the input, and the restored State goes on working: reads and
// commands on it never panic, and its snapshot still restores.
func FuzzRestore(f *testing.F) {
	for seed := range uint64(4) {
		f.Add(snapshot(f, randomState(f, seed, 20+int(seed)*40, Config{MaxSessions: 3})))
	}
	f.Add([]byte{codecVersion})
	f.Fuzz(func(t *testing.T, b []byte) {
		s, _ := New(Config{})
		if err := s.Restore(b); err != nil {
			if KindOf(err) != KindInvalid {
				t.Fatalf("restore error of kind %v: %v", KindOf(err), err)
			}
			return
		}
		if got := snapshot(t, s); !bytes.Equal(got, b) {
			t.Fatalf("re-encoding differs:\n in %x\nout %x", b, got)
		}
		exercise(t, s)
	})
}

// FuzzApply: a State fed any sequence of commands never panics, and its
// snapshot restores to the same bytes. Input: records of (uvarint
// length, command bytes); a command that does not decode is applied as
// is (an Invalid result).
func FuzzApply(f *testing.F) {
	var seed []byte
	for _, c := range fullCommands() {
		b := c.Encode()
		seed = binary.AppendUvarint(seed, uint64(len(b)))
		seed = append(seed, b...)
	}
	f.Add(seed)
	f.Fuzz(func(t *testing.T, data []byte) {
		s, _ := New(Config{MaxSessions: 2})
		for i := uint64(1); len(data) > 0 && i < 64; i++ {
			l, k := binary.Uvarint(data)
			if k <= 0 {
				return
			}
			data = data[k:]
			l = min(l, uint64(len(data)))
			if _, err := s.Apply(i, data[:l]); err != nil && KindOf(err) == 0 {
				t.Fatalf("Apply error without a kind: %v", err)
			}
			data = data[l:]
		}
		b := snapshot(t, s)
		r, _ := New(Config{MaxSessions: 2})
		if err := r.Restore(b); err != nil {
			t.Fatalf("own snapshot refused: %v", err)
		}
		if !bytes.Equal(snapshot(t, r), b) {
			t.Fatal("restored snapshot differs")
		}
		exercise(t, s)
	})
}

// exercise reads everything reachable now and applies a few commands to
// every entry: none may panic, and the state must still snapshot and
// restore.
func exercise(t *testing.T, s *State) {
	var paths []string
	var walk func(p string)
	walk = func(p string) {
		if len(paths) > 200 {
			return
		}
		paths = append(paths, p)
		ents, err := s.ReadDir(p, Latest)
		if err != nil {
			return
		}
		for _, e := range ents {
			child := p + "/" + e.Name
			if p == "/" {
				child = "/" + e.Name
			}
			if len(child) <= MaxPath {
				walk(child)
			}
		}
	}
	walk("/")
	_, now := s.Applied()
	index, _ := s.Applied()
	for _, p := range paths {
		for _, at := range []int64{0, now / 2, now, Latest} {
			s.Stat(p, at)
			s.ReadDir(p, at)
			s.History(p, at)
			s.VersionOf(p, 1, at)
		}
		for _, c := range []Command{
			Commit(p, ExpectAny(), refOf("z"), 1, 0o644, "z", 0),
			RestoreVersion(p, 1, "z", 0),
			Lock(p, "z", 10),
			Rename(p, "/moved"),
			Mkdir(p+"/sub", true, 0o755, "z"),
			Remove(p, true),
		} {
			index++
			s.Apply(index, c.Encode())
		}
	}
	s.Nodes()
	b := snapshot(t, s)
	r, _ := New(Config{})
	if err := r.Restore(b); err != nil {
		t.Fatalf("snapshot after exercise refused: %v", err)
	}
}
