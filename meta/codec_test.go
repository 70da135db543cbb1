package meta

import (
	"bytes"
	"math"
	"reflect"
	"testing"
	"time"
)

// fullCommands has one command per operation with every field it uses
// set, to values that need multi-byte varints where they can.
func fullCommands() []Command {
	base := Command{Time: -1 << 40, Client: math.MaxUint64, Seq: 1 << 35}
	with := func(c Command) Command {
		c.Time, c.Client, c.Seq = base.Time, base.Client, base.Seq
		return c
	}
	cas := Expect{Match: MatchVersion, Number: 300, Ref: refOf("e")}
	restore := RestoreVersion("/r", 7, "wri", 99)
	restore.Expect = cas
	rm := Remove("/d/é", true)
	rm.Token = 1 << 50
	mv := Rename("/a", "/b/c")
	mv.Token = 5
	return []Command{
		with(Mkdir("/a/b", true, 0o751, "ownér")),
		with(rm),
		with(mv),
		with(Commit("/c", cas, refOf("c"), math.MaxUint64, 0o640, "w", 12)),
		with(Commit("/c", ExpectAbsent(), refOf("c"), 0, 0, "", 0)),
		with(restore),
		with(CommitInline("/i", cas, refOf("i"), []byte("inline\x00data"), 0o600, "w", 3)),
		with(CommitInline("/i", ExpectAny(), refOf("i"), nil, 0, "", 0)),
		with(Lock("/l", "holder", -time.Hour)),
		with(Unlock("/l", "holder", 3)),
		with(SetNode(1<<63, "[::1]:7000", RoleMeta|RoleGateway)),
		with(RemoveNode(17)),
		Mkdir("/", false, 0, ""), // all zero
	}
}

func TestCommandRoundTrip(t *testing.T) {
	for _, c := range fullCommands() {
		b := c.Encode()
		got, err := DecodeCommand(b)
		if err != nil {
			t.Fatalf("%s: %v", c.Op, err)
		}
		if !reflect.DeepEqual(got, c) {
			t.Errorf("%s: decoded\n %+v\nwant\n %+v", c.Op, got, c)
		}
		if again := got.Encode(); !bytes.Equal(again, b) {
			t.Errorf("%s: re-encoding differs", c.Op)
		}
		// Every strict prefix is refused, and so is a trailing byte.
		for i := range b {
			if _, err := DecodeCommand(b[:i]); KindOf(err) != KindInvalid {
				t.Fatalf("%s: prefix of %d bytes: %v", c.Op, i, err)
			}
		}
		if _, err := DecodeCommand(append(b, 0)); KindOf(err) != KindInvalid {
			t.Fatalf("%s: trailing byte: %v", c.Op, err)
		}
	}
}

// TestEncodeOnlyOpFields: fields an operation does not use are not
// encoded, so they cannot change its meaning or its bytes.
func TestEncodeOnlyOpFields(t *testing.T) {
	for _, c := range fullCommands() {
		noisy := c
		noisy.Path, noisy.To, noisy.Owner, noisy.Addr = c.Path, "/noise"+c.To, c.Owner, "noise"+c.Addr
		noisy.Parents, noisy.Recursive = true, true
		noisy.Mode, noisy.Size, noisy.Version, noisy.TTL, noisy.NodeID, noisy.Roles = 0o777, 1, 2, 3, 4, 5
		noisy.Token, noisy.Ref, noisy.Expect = 6, refOf("noise"), ExpectAbsent()
		if c.Op != OpCommitInline {
			noisy.Data = "noise"
		}
		got, err := DecodeCommand(noisy.Encode())
		if err != nil {
			t.Fatal(err)
		}
		// Decoding keeps exactly the fields of the op, which are those
		// the noisy command shares with itself...
		if !bytes.Equal(got.Encode(), noisy.Encode()) {
			t.Errorf("%s: re-encoding differs", c.Op)
		}
		// ...and the zero command of the same op has none of the noise.
		zero, _ := DecodeCommand(Command{Op: c.Op}.Encode())
		if !reflect.DeepEqual(zero, Command{Op: c.Op}) {
			t.Errorf("%s: zero command decodes to %+v", c.Op, zero)
		}
	}
}

func TestDecodeStrict(t *testing.T) {
	ok := Mkdir("/a", false, 0o755, "").Encode() // 01 01 00 00 00 02 2f 61 00 ed 03 00
	tests := []struct {
		name string
		b    []byte
	}{
		{"empty", nil},
		{"version 0", append([]byte{0}, ok[1:]...)},
		{"version 2", append([]byte{2}, ok[1:]...)},
		{"op 0", append([]byte{1, 0}, ok[2:]...)},
		{"op past the end", append([]byte{1, byte(opEnd)}, ok[2:]...)},
		{"non-minimal time", []byte{1, 1, 0x80, 0, 0, 0, 2, '/', 'a', 0, 0xed, 3, 0}},
		{"bad bool", []byte{1, 1, 0, 0, 0, 2, '/', 'a', 2, 0xed, 3, 0}},
		{"mode over 32 bits", []byte{1, 1, 0, 0, 0, 2, '/', 'a', 0, 0x80, 0x80, 0x80, 0x80, 0x10, 0}},
		{"string past the end", []byte{1, 1, 0, 0, 0, 3, '/', 'a'}},
		{"varint over 64 bits", []byte{1, 1, 0, 0, 0, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f}},
		{"unknown match", append(append([]byte{1, byte(OpCommit), 0, 0, 0, 2, '/', 'a'}, 3), make([]byte, 40)...)},
	}
	if _, err := DecodeCommand(ok); err != nil {
		t.Fatalf("the valid base: %v", err)
	}
	for _, tt := range tests {
		if c, err := DecodeCommand(tt.b); KindOf(err) != KindInvalid {
			t.Errorf("%s: decoded %+v, %v", tt.name, c, err)
		}
	}
}
