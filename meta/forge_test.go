package meta

import (
	"encoding/binary"
	"testing"
)

// A tiny snapshot writer for forged input: each helper encodes one part
// as snapshot.go lays it out, with whatever values the test wants.
type forge struct{ b []byte }

func (f *forge) u(vs ...uint64) *forge {
	for _, v := range vs {
		f.b = binary.AppendUvarint(f.b, v)
	}
	return f
}

func (f *forge) i(vs ...int64) *forge {
	for _, v := range vs {
		f.b = binary.AppendVarint(f.b, v)
	}
	return f
}

func (f *forge) s(vs ...string) *forge {
	for _, v := range vs {
		f.b = appendString(f.b, v)
	}
	return f
}

func (f *forge) raw(bs ...byte) *forge { f.b = append(f.b, bs...); return f }

// header: version applied now nextToken, then the inode count.
func header(now int64, inodes uint64) *forge {
	return (&forge{}).raw(snapshotVersion).u(9).i(now).u(5).u(inodes)
}

// dirInode starts a directory inode: kind, owner, mode, ctime, names.
func (f *forge) dir(ctime int64, names uint64) *forge {
	return f.raw(1).s("o").u(0o755).i(ctime).u(names)
}

// entry writes a name with events (time, inode) pairs.
func (f *forge) entry(name string, ev ...int64) *forge {
	f.s(name).u(uint64(len(ev) / 2))
	for k := 0; k < len(ev); k += 2 {
		f.i(ev[k]).u(uint64(ev[k+1]))
	}
	return f
}

// file writes a file inode with versions at the given times.
func (f *forge) file(times ...int64) *forge {
	f.raw(0).u(uint64(len(times)))
	for _, t := range times {
		ref := refOf("x")
		f.raw(ref[:]...).u(1).i(t).s("w").u(0o644).raw(0)
	}
	return f
}

// inline writes a file inode with one inline version at time t, of size
// bytes and data.
func (f *forge) inline(t int64, size uint64, data string) *forge {
	ref := refOf("x")
	return f.raw(0).u(1).raw(ref[:]...).u(size).i(t).s("w").u(0o644).raw(1).s(data)
}

// tail: no leases, sessions or nodes.
func (f *forge) tail() []byte { return f.u(0, 0, 0).b }

func TestRestoreForged(t *testing.T) {
	// root with /a (a file, inode 2) created at 10 and removed at 20.
	valid := func() *forge { return header(30, 2).dir(0, 1).entry("a", 10, 2, 20, 0).file(10) }
	tests := []struct {
		name string
		b    []byte
		ok   bool
	}{
		{"valid", valid().tail(), true},
		{"no inodes", header(30, 0).tail(), false},
		{"root is a file", header(30, 1).file(10).tail(), false},
		{"root created after 0", header(30, 1).dir(5, 0).tail(), false},
		{"event after now", header(30, 2).dir(0, 1).entry("a", 40, 2).file(10).tail(), false},
		{"event at time 0", header(30, 2).dir(0, 1).entry("a", 0, 2).file(0).tail(), false},
		{"events out of order", header(30, 2).dir(0, 1).entry("a", 20, 2, 10, 0).file(10).tail(), false},
		{"two links in a row", header(30, 2).dir(0, 1).entry("a", 10, 2, 20, 2).file(10).tail(), false},
		{"starts with a removal", header(30, 2).dir(0, 1).entry("a", 10, 0, 20, 2).file(10).tail(), false},
		{"no events", header(30, 1).dir(0, 1).entry("a").tail(), false},
		{"linked before created", header(30, 2).dir(0, 1).entry("a", 10, 2).file(15).tail(), false},
		{"root is a child", header(30, 1).dir(0, 1).entry("a", 10, 1).tail(), false},
		{"unknown inode", header(30, 1).dir(0, 1).entry("a", 10, 2).tail(), false},
		{"unreachable inode", header(30, 2).dir(0, 0).file(10).tail(), false},
		{"unreachable cycle", header(30, 3).dir(0, 0).dir(5, 1).entry("x", 10, 3).dir(5, 1).entry("y", 10, 2).tail(), false},
		{"bad name", header(30, 2).dir(0, 1).entry("a/b", 10, 2).file(10).tail(), false},
		{"dot name", header(30, 2).dir(0, 1).entry("..", 10, 2).file(10).tail(), false},
		{"names out of order", header(30, 3).dir(0, 2).entry("b", 10, 2).entry("a", 10, 3).file(10).file(10).tail(), false},
		{"file without versions", header(30, 2).dir(0, 1).entry("a", 10, 2).file().tail(), false},
		{"versions out of order", header(30, 2).dir(0, 1).entry("a", 10, 2).file(10, 10).tail(), false},
		{"inline", header(30, 2).dir(0, 1).entry("a", 10, 2).inline(10, 3, "abc").tail(), true},
		{"inline empty", header(30, 2).dir(0, 1).entry("a", 10, 2).inline(10, 0, "").tail(), true},
		{"inline at the limit", header(30, 2).dir(0, 1).entry("a", 10, 2).inline(10, MaxInline, string(make([]byte, MaxInline))).tail(), true},
		{"inline over the limit", header(30, 2).dir(0, 1).entry("a", 10, 2).inline(10, MaxInline+1, string(make([]byte, MaxInline+1))).tail(), false},
		{"inline data shorter than size", header(30, 2).dir(0, 1).entry("a", 10, 2).inline(10, 4, "abc").tail(), false},
		{"inline data longer than size", header(30, 2).dir(0, 1).entry("a", 10, 2).inline(10, 2, "abc").tail(), false},
		{"unknown inode kind", header(30, 1).raw(7, 0, 0, 0, 0).tail(), false},
		{"huge inode count", header(30, 1<<40).dir(0, 0).tail(), false},
		{"now negative", header(-1, 1).dir(0, 0).tail(), false},
		{"lease", valid().u(1).s("/l", "o").u(4).i(99).u(0, 0).b, true},
		{"lease token from the future", valid().u(1).s("/l", "o").u(5).i(99).u(0, 0).b, false},
		{"lease without owner", valid().u(1).s("/l", "").u(4).i(99).u(0, 0).b, false},
		{"lease on a bad path", valid().u(1).s("/l/", "o").u(4).i(99).u(0, 0).b, false},
		{"leases out of order", valid().u(2).s("/m", "o").u(3).i(99).s("/l", "o").u(4).i(99).u(0, 0).b, false},
		{"session", valid().u(0, 1, 7, 1, 9).raw(0).u(9).i(20).u(0).b, true},
		{"session index after applied", valid().u(0, 1, 7, 1, 10).raw(0).u(9).i(20).u(0).b, false},
		{"session client 0", valid().u(0, 1, 0, 1, 9).raw(0).u(9).i(20).u(0).b, false},
		{"session seq 0", valid().u(0, 1, 7, 0, 9).raw(0).u(9).i(20).u(0).b, false},
		{"session error", valid().u(0, 1, 7, 1, 9).raw(outError, byte(KindExist)).s("mkdir", "/a", "").u(0).b, true},
		{"session unknown kind", valid().u(0, 1, 7, 1, 9).raw(outError, 0).s("mkdir", "/a", "").u(0).b, false},
		{"session error with lease", valid().u(0, 1, 7, 1, 9).raw(outError|outLease, byte(KindExist)).s("", "", "").s("/l", "o").u(4).i(9).u(0).b, false},
		{"session lease token 0", valid().u(0, 1, 7, 1, 9).raw(outLease).u(9).i(20).s("/l", "o").u(0).i(9).u(0).b, false},
		{"session unknown flag", valid().u(0, 1, 7, 1, 9).raw(8).u(9).i(20).u(0).b, false},
		{"node", valid().u(0, 0, 1, 3).s("h:1").u(uint64(RoleMeta)).i(20).b, true},
		{"node id 0", valid().u(0, 0, 1, 0).s("h:1").u(0).i(20).b, false},
		{"node unknown role", valid().u(0, 0, 1, 3).s("h:1").u(1 << 9).i(20).b, false},
		{"node updated after now", valid().u(0, 0, 1, 3).s("h:1").u(0).i(31).b, false},
	}
	for _, tt := range tests {
		s, _ := New(Config{})
		err := s.Restore(tt.b)
		if tt.ok != (err == nil) || err != nil && KindOf(err) != KindInvalid {
			t.Errorf("%s: Restore = %v, want ok=%v", tt.name, err, tt.ok)
			continue
		}
		if err == nil {
			if got := snapshot(t, s); string(got) != string(tt.b) {
				t.Errorf("%s: re-encoding differs:\n in %x\nout %x", tt.name, tt.b, got)
			}
		}
	}
}
