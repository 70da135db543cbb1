package meta

import (
	"bytes"
	"math/rand/v2"
	"reflect"
	"testing"
	"time"
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
		// A version 1 snapshot is read (upgrades) but written as
		// version 2: the round trip holds for the current version.
		if got := snapshot(t, s); b[0] == snapshotVersion && !bytes.Equal(got, b) {
			t.Fatalf("re-encoding differs:\n in %x\nout %x", b, got)
		}
		exercise(t, s)
	})
}

// FuzzApply is the randomized test steered by coverage: each 6-byte
// record of the input is a well-formed command over the small universe
// of paths (op, path, second path, flags, time step, a value), applied to
// a State and to the reference model, whose outcomes must agree; at the
// end every read is compared, the snapshot must restore to the same
// bytes, and the state must keep working.
func FuzzApply(f *testing.F) {
	f.Add([]byte("\x00\x07\x00\x01\x05\x00\x03\x07\x00\x00\x05\x01\x02\x07\x0b\x00\x05\x00"))
	f.Add([]byte("\x03\x07\x00\x01\x05\x00\x05\x07\x00\x00\x05\x40\x03\x07\x00\x08\x05\x02"))
	f.Add([]byte("\x09\x07\x00\x01\x05\x05\x03\x07\x00\x00\x05\x01\x04\x07\x00\x00\x05\x01\x09\x07\x00\x00\x05\xff"))
	f.Fuzz(func(t *testing.T, data []byte) {
		s, _ := New(Config{MaxSessions: 2})
		m := newModel(2)
		seq := map[uint64]uint64{}
		for i := uint64(1); len(data) >= 6 && i <= 64; i++ {
			c := fuzzCommand(data[:6], m, seq)
			data = data[6:]
			b := c.Encode()
			want := m.apply(i, b)
			res, err := resultOf(s.Apply(i, b))
			got := outcome{res: res, kind: KindOf(err)}
			if e, ok := err.(*Error); ok {
				got.cur = e.Current
			}
			if !reflect.DeepEqual(got, want) {
				t.Fatalf("command %d %+v:\n got %+v (%v)\nwant %+v", i, c, got, err, want)
			}
		}
		if err := compare(s, m, rand.New(rand.NewPCG(1, 2))); err != nil {
			t.Fatal(err)
		}
		b := snapshot(t, s)
		r, _ := New(Config{MaxSessions: 2})
		if err := r.Restore(b); err != nil {
			t.Fatalf("own snapshot refused: %v", err)
		}
		if !bytes.Equal(snapshot(t, r), b) || dump(r) != dump(s) {
			t.Fatal("restored state differs")
		}
		exercise(t, s)
	})
}

// fuzzCommand turns a 6-byte record into a command: op, path, second
// path, flags (bit 0 parents/recursive, bits 1-2 expectation, bits 3-4
// token, bit 5 session, bit 6 retry), time step, and a value for ref,
// size, version, TTL and node id.
func fuzzCommand(rec []byte, m *model, seq map[uint64]uint64) Command {
	p, q := universe[int(rec[1])%len(universe)], universe[int(rec[2])%len(universe)]
	flags, v := rec[3], rec[5]
	ref := refOf(string(rune('a' + v%4)))
	expect := []Expect{ExpectAny(), ExpectAbsent(), {Match: MatchVersion, Number: 1 + uint64(v%3), Ref: ref}, {}}[flags>>1&3]
	if flags>>1&3 == 3 {
		if e, ok := m.tree[p]; ok && !e.dir {
			expect = ExpectVersion(e.file.versions[len(e.file.versions)-1])
		}
	}
	token := []uint64{0, 0, m.leases[p].Token, uint64(v % 4)}[flags>>3&3]
	owner := []string{"ann", "ben", ""}[v%3]
	var c Command
	switch rec[0] % 10 {
	case 0:
		c = Mkdir(p, flags&1 != 0, 0o755, owner)
	case 1:
		c = Remove(p, flags&1 != 0)
		c.Token = token
	case 2:
		c = Rename(p, q)
		c.Token = token
	case 3:
		c = Commit(p, expect, ref, uint64(v), 0o644, owner, token)
	case 9:
		// Inline: v bytes, or past the limit when v is 255.
		n := int(v)
		if v == 255 {
			n = MaxInline + 1
		}
		c = CommitInline(p, expect, ref, bytes.Repeat([]byte{'d'}, n), 0o644, owner, token)
	case 4:
		c = RestoreVersion(p, uint64(v%4), owner, token)
		c.Expect = expect
	case 5:
		c = Lock(p, owner, time.Duration(v))
	case 6:
		c = Unlock(p, owner, token)
		if l, ok := m.leases[p]; ok && flags&1 != 0 {
			c.Owner = l.Owner
		}
	case 7:
		c = SetNode(uint64(v%3), "h:1", Roles(v%9))
	default:
		c = RemoveNode(uint64(v % 3))
	}
	c.Time = m.now + int64(int8(rec[4]))
	if flags&(1<<5) != 0 {
		c.Client = 1 + uint64(v%3)
		if flags&(1<<6) == 0 || seq[c.Client] == 0 {
			seq[c.Client]++
		}
		c.Seq = seq[c.Client] // bit 6: the same seq again, a retry
	}
	return c
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
