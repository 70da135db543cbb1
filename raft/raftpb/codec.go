package raftpb

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math/bits"
)

// Wire format (version 1). Every top-level encoding starts with the version
// byte; the value's fields follow in declaration order. Integers are
// uvarints in their shortest form (a longer form is rejected, so every value
// has exactly one encoding and decode(encode(x)) == x byte for byte); byte
// strings and repeated fields are prefixed with their uvarint length; enums
// and flag sets are single bytes; Message.Checksum is 4 bytes little-endian.
//
//	Entry            Term Index Type Data
//	HardState        Term Vote Commit
//	ConfState        len(Voters) Voters... len(Learners) Learners...
//	SnapshotMetadata Index Term ConfState
//	Snapshot         SnapshotMetadata Data
//	ConfChange       Type NodeID Context
//	Message          Type flags To From Term LogTerm Index Commit RejectHint
//	                 Context len(Entries) Entry... [Snapshot] Offset Total Checksum
//
// Message flags: 1 Reject, 2 Done, 4 Snapshot present.

// Version is the encoding version written by Marshal and required by
// Unmarshal.
const Version = 1

// ErrMalformed is returned (wrapped with detail) when bytes do not decode.
var ErrMalformed = errors.New("raftpb: malformed")

const (
	flagReject   = 1 << 0
	flagDone     = 1 << 1
	flagSnapshot = 1 << 2
	flagsKnown   = flagReject | flagDone | flagSnapshot
)

// Minimum encoded sizes, used to bound counts before allocating.
const (
	minEntrySize = 4 // term, index, type, data length
	minIDSize    = 1
)

func uvarintSize(v uint64) int { return (bits.Len64(v|1) + 6) / 7 }

func bytesSize(b []byte) int { return uvarintSize(uint64(len(b))) + len(b) }

func appendBytes(dst, b []byte) []byte {
	dst = binary.AppendUvarint(dst, uint64(len(b)))
	return append(dst, b...)
}

// decoder reads the wire format with strict bounds checks. The first error
// sticks; later reads return zero values, so callers check d.err once.
type decoder struct {
	b   []byte
	off int
	err error
}

func (d *decoder) fail(format string, args ...any) {
	if d.err == nil {
		d.err = fmt.Errorf("%w: "+format, append([]any{ErrMalformed}, args...)...)
	}
}

func (d *decoder) remaining() int { return len(d.b) - d.off }

func (d *decoder) version(what string) {
	if d.remaining() == 0 {
		d.fail("%s: empty input", what)
		return
	}
	if v := d.b[d.off]; v != Version {
		d.fail("%s: unknown version %d", what, v)
		return
	}
	d.off++
}

func (d *decoder) byte(field string) byte {
	if d.err != nil {
		return 0
	}
	if d.off >= len(d.b) {
		d.fail("%s: truncated at offset %d", field, d.off)
		return 0
	}
	c := d.b[d.off]
	d.off++
	return c
}

func (d *decoder) uvarint(field string) uint64 {
	if d.err != nil {
		return 0
	}
	if d.off < len(d.b) && d.b[d.off] < 0x80 {
		v := d.b[d.off]
		d.off++
		return uint64(v)
	}
	v, n := binary.Uvarint(d.b[d.off:])
	if n <= 0 {
		d.fail("%s: bad varint at offset %d", field, d.off)
		return 0
	}
	if d.b[d.off+n-1] == 0 {
		d.fail("%s: non-minimal varint at offset %d", field, d.off)
		return 0
	}
	d.off += n
	return v
}

// count reads a repetition count and checks that the remaining input can
// hold that many elements of at least minSize bytes, so a forged count
// never causes a large allocation.
func (d *decoder) count(field string, minSize int) int {
	n := d.uvarint(field)
	if d.err != nil {
		return 0
	}
	if n > uint64(d.remaining()/minSize) {
		d.fail("%s: count %d exceeds remaining %d bytes", field, n, d.remaining())
		return 0
	}
	return int(n)
}

// bytes returns a length-prefixed byte string aliasing the input (capacity
// clipped, so appending to it never overwrites what follows). Empty strings
// decode as nil.
func (d *decoder) bytes(field string) []byte {
	n := d.uvarint(field)
	if d.err != nil {
		return nil
	}
	if n > uint64(d.remaining()) {
		d.fail("%s: length %d exceeds remaining %d bytes", field, n, d.remaining())
		return nil
	}
	if n == 0 {
		return nil
	}
	end := d.off + int(n)
	s := d.b[d.off:end:end]
	d.off = end
	return s
}

func (d *decoder) fixed32(field string) uint32 {
	if d.err != nil {
		return 0
	}
	if d.remaining() < 4 {
		d.fail("%s: truncated at offset %d", field, d.off)
		return 0
	}
	v := binary.LittleEndian.Uint32(d.b[d.off:])
	d.off += 4
	return v
}

func (d *decoder) ids(field string) []uint64 {
	n := d.count(field, minIDSize)
	if n == 0 {
		return nil
	}
	ids := make([]uint64, n)
	for i := range ids {
		ids[i] = d.uvarint(field)
	}
	return ids
}

// finish reports trailing bytes and returns the sticky error.
func (d *decoder) finish(what string) error {
	if d.err == nil && d.off != len(d.b) {
		d.fail("%s: %d trailing bytes", what, len(d.b)-d.off)
	}
	return d.err
}

// cloneInput copies b once so decoded byte fields can alias the copy: one
// allocation for all of a message's payloads, and callers may reuse b.
func cloneInput(b []byte) []byte {
	return append(make([]byte, 0, len(b)), b...)
}
