package meta

import (
	"encoding/binary"
	"fmt"
	"time"
)

// Command wire format (version 1), the house style of raft/raftpb: a
// version byte, then fields in a fixed order. Unsigned integers are
// uvarints, signed ones (times, TTL) zig-zag varints, both in their
// shortest form (a longer form is refused, so each value has exactly one
// encoding and Encode(Decode(b)) == b); strings are a uvarint length and
// the bytes; a Ref is 32 raw bytes; booleans and enums are one byte.
//
//	all        version Op Time Client Seq, then by Op:
//	Mkdir      Path Parents Mode Owner
//	Remove     Path Recursive Token
//	Rename     Path To Token
//	Commit     Path Expect Ref Size Mode Owner Token
//	CommitInline Path Expect Ref Mode Owner Token Data (Size is len(Data))
//	Restore    Path Expect Version Owner Token
//	Lock       Path Owner TTL
//	Unlock     Path Owner Token
//	SetNode    NodeID Addr Roles
//	RemoveNode NodeID
//	Expect     Match [Number Ref, under MatchVersion]
//
// CommitInline was added without a new version: it is a new operation,
// so every command of version 1 that decoded before decodes as it did,
// to the same meaning (a log written before it replays unchanged). A node
// that predates it refuses it as an unknown op, so every metadata voter
// must run a build that knows it before clients commit inline.
//
// Decode checks the encoding only; Apply checks the meaning (paths, modes,
// TTLs) and answers a bad one with KindInvalid.
const codecVersion = 1

// Encode returns the command's canonical encoding.
func (c Command) Encode() []byte {
	b := make([]byte, 0, 26+len(c.Path)+len(c.To)+len(c.Owner)+len(c.Addr)+len(c.Data)+2*len(Ref{}))
	b = append(b, codecVersion, byte(c.Op))
	b = binary.AppendVarint(b, c.Time)
	b = binary.AppendUvarint(b, c.Client)
	b = binary.AppendUvarint(b, c.Seq)
	switch c.Op {
	case OpMkdir:
		b = appendString(b, c.Path)
		b = appendBool(b, c.Parents)
		b = binary.AppendUvarint(b, uint64(c.Mode))
		b = appendString(b, c.Owner)
	case OpRemove:
		b = appendString(b, c.Path)
		b = appendBool(b, c.Recursive)
		b = binary.AppendUvarint(b, c.Token)
	case OpRename:
		b = appendString(b, c.Path)
		b = appendString(b, c.To)
		b = binary.AppendUvarint(b, c.Token)
	case OpCommit:
		b = appendString(b, c.Path)
		b = appendExpect(b, c.Expect)
		b = append(b, c.Ref[:]...)
		b = binary.AppendUvarint(b, c.Size)
		b = binary.AppendUvarint(b, uint64(c.Mode))
		b = appendString(b, c.Owner)
		b = binary.AppendUvarint(b, c.Token)
	case OpCommitInline:
		b = appendString(b, c.Path)
		b = appendExpect(b, c.Expect)
		b = append(b, c.Ref[:]...)
		b = binary.AppendUvarint(b, uint64(c.Mode))
		b = appendString(b, c.Owner)
		b = binary.AppendUvarint(b, c.Token)
		b = appendString(b, c.Data)
	case OpRestore:
		b = appendString(b, c.Path)
		b = appendExpect(b, c.Expect)
		b = binary.AppendUvarint(b, c.Version)
		b = appendString(b, c.Owner)
		b = binary.AppendUvarint(b, c.Token)
	case OpLock:
		b = appendString(b, c.Path)
		b = appendString(b, c.Owner)
		b = binary.AppendVarint(b, int64(c.TTL))
	case OpUnlock:
		b = appendString(b, c.Path)
		b = appendString(b, c.Owner)
		b = binary.AppendUvarint(b, c.Token)
	case OpSetNode:
		b = binary.AppendUvarint(b, c.NodeID)
		b = appendString(b, c.Addr)
		b = binary.AppendUvarint(b, uint64(c.Roles))
	case OpRemoveNode:
		b = binary.AppendUvarint(b, c.NodeID)
	}
	return b
}

// DecodeCommand decodes a command. Malformed input (truncated, trailing
// bytes, a non-minimal varint, an unknown operation) is a KindInvalid
// *Error.
func DecodeCommand(b []byte) (Command, error) {
	d := decoder{b: b, what: "command"}
	var c Command
	d.version()
	c.Op = Op(d.byte("op"))
	if d.err == nil && (c.Op == 0 || c.Op >= opEnd) {
		d.failAt(d.off-1, "unknown op %d", c.Op)
	}
	c.Time = d.varint("time")
	c.Client = d.uvarint("client")
	c.Seq = d.uvarint("seq")
	switch c.Op {
	case OpMkdir:
		c.Path = d.string("path")
		c.Parents = d.bool("parents")
		c.Mode = d.uint32("mode")
		c.Owner = d.string("owner")
	case OpRemove:
		c.Path = d.string("path")
		c.Recursive = d.bool("recursive")
		c.Token = d.uvarint("token")
	case OpRename:
		c.Path = d.string("path")
		c.To = d.string("to")
		c.Token = d.uvarint("token")
	case OpCommit:
		c.Path = d.string("path")
		c.Expect = d.expect()
		c.Ref = d.ref("ref")
		c.Size = d.uvarint("size")
		c.Mode = d.uint32("mode")
		c.Owner = d.string("owner")
		c.Token = d.uvarint("token")
	case OpCommitInline:
		c.Path = d.string("path")
		c.Expect = d.expect()
		c.Ref = d.ref("ref")
		c.Mode = d.uint32("mode")
		c.Owner = d.string("owner")
		c.Token = d.uvarint("token")
		c.Data = d.string("data")
		c.Size = uint64(len(c.Data))
	case OpRestore:
		c.Path = d.string("path")
		c.Expect = d.expect()
		c.Version = d.uvarint("version")
		c.Owner = d.string("owner")
		c.Token = d.uvarint("token")
	case OpLock:
		c.Path = d.string("path")
		c.Owner = d.string("owner")
		c.TTL = time.Duration(d.varint("ttl"))
	case OpUnlock:
		c.Path = d.string("path")
		c.Owner = d.string("owner")
		c.Token = d.uvarint("token")
	case OpSetNode:
		c.NodeID = d.uvarint("node")
		c.Addr = d.string("addr")
		c.Roles = Roles(d.uint32("roles"))
	case OpRemoveNode:
		c.NodeID = d.uvarint("node")
	}
	if err := d.finish(); err != nil {
		return Command{}, err
	}
	return c, nil
}

func appendString(b []byte, s string) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

func appendBool(b []byte, v bool) []byte {
	if v {
		return append(b, 1)
	}
	return append(b, 0)
}

func appendExpect(b []byte, e Expect) []byte {
	b = append(b, byte(e.Match))
	if e.Match == MatchVersion {
		b = binary.AppendUvarint(b, e.Number)
		b = append(b, e.Ref[:]...)
	}
	return b
}

// decoder reads the wire format with strict bounds checks, after
// raft/raftpb's. The first error sticks; later reads return zero values,
// so callers check d.err once, at finish.
type decoder struct {
	b    []byte
	off  int
	what string // "command" or "snapshot", for messages
	snap byte   // a snapshot's version (restore.go)
	err  error
}

// fail records an error at the current offset.
func (d *decoder) fail(format string, args ...any) { d.failAt(d.off, format, args...) }

// failAt records an error at offset off: a byte's offset once it has been
// read and found wrong.
func (d *decoder) failAt(off int, format string, args ...any) {
	if d.err == nil {
		d.err = &Error{Op: "decode", Kind: KindInvalid,
			Msg: fmt.Sprintf("malformed %s at offset %d: ", d.what, off) + fmt.Sprintf(format, args...)}
	}
}

func (d *decoder) remaining() int { return len(d.b) - d.off }

func (d *decoder) version() {
	if v := d.byte("version"); d.err == nil && v != codecVersion {
		d.failAt(d.off-1, "unknown version %d", v)
	}
}

func (d *decoder) byte(field string) byte {
	if d.err != nil {
		return 0
	}
	if d.off >= len(d.b) {
		d.fail("%s: truncated", field)
		return 0
	}
	c := d.b[d.off]
	d.off++
	return c
}

func (d *decoder) bool(field string) bool {
	switch v := d.byte(field); v {
	case 0:
		return false
	case 1:
		return true
	default:
		d.failAt(d.off-1, "%s: bad boolean %d", field, v)
		return false
	}
}

func (d *decoder) uvarint(field string) uint64 {
	if d.err != nil {
		return 0
	}
	v, n := binary.Uvarint(d.b[d.off:])
	if n <= 0 {
		d.fail("%s: bad varint", field)
		return 0
	}
	if n > 1 && d.b[d.off+n-1] == 0 {
		d.fail("%s: non-minimal varint", field)
		return 0
	}
	d.off += n
	return v
}

// varint reads a zig-zag signed varint; the minimality check of uvarint
// makes it canonical too.
func (d *decoder) varint(field string) int64 {
	u := d.uvarint(field)
	x := int64(u >> 1)
	if u&1 != 0 {
		x = ^x
	}
	return x
}

func (d *decoder) uint32(field string) uint32 {
	v := d.uvarint(field)
	if v > 1<<32-1 {
		d.fail("%s: %d overflows 32 bits", field, v)
		return 0
	}
	return uint32(v)
}

// count reads a repetition count and checks that the remaining input can
// hold that many elements of at least minSize bytes, so a forged count
// never causes a large allocation.
func (d *decoder) count(field string, minSize int) int {
	n := d.uvarint(field)
	if d.err == nil && n > uint64(d.remaining()/minSize) {
		d.fail("%s: count %d exceeds the input", field, n)
		return 0
	}
	return int(n)
}

func (d *decoder) string(field string) string {
	n := d.uvarint(field)
	if d.err != nil {
		return ""
	}
	if n > uint64(d.remaining()) {
		d.fail("%s: length %d exceeds the input", field, n)
		return ""
	}
	s := string(d.b[d.off : d.off+int(n)])
	d.off += int(n)
	return s
}

func (d *decoder) ref(field string) Ref {
	var r Ref
	if d.err != nil {
		return r
	}
	if d.remaining() < len(r) {
		d.fail("%s: truncated", field)
		return r
	}
	d.off += copy(r[:], d.b[d.off:])
	return r
}

func (d *decoder) expect() Expect {
	e := Expect{Match: Match(d.byte("expect"))}
	switch {
	case d.err != nil:
	case e.Match >= matchEnd:
		d.failAt(d.off-1, "expect: unknown match %d", e.Match)
	case e.Match == MatchVersion:
		e.Number = d.uvarint("expect number")
		e.Ref = d.ref("expect ref")
	}
	return e
}

// finish reports trailing bytes and returns the sticky error.
func (d *decoder) finish() error {
	if d.err == nil && d.off != len(d.b) {
		d.fail("%d trailing bytes", len(d.b)-d.off)
	}
	if d.err != nil {
		return d.err
	}
	return nil
}
