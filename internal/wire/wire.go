// Package wire holds the primitives of the overlay cores' binary codecs
// (tapestry and chord messages): a decoder that never panics and reports
// the first problem, and sizes of what encoders append. It is pure (no
// I/O), so the cores may use it.
package wire

import (
	"encoding/binary"
	"fmt"

	"github.com/puddlestore/puddlestore/id"
	"github.com/puddlestore/puddlestore/transport"
)

// Decoder reads from B. After the first failure every read returns a zero
// value and Err keeps that failure, wrapping Malformed.
type Decoder struct {
	B         []byte
	Err       error
	Malformed error // wrapped by every failure (the codec's ErrMalformed)
	// Minimal refuses a uvarint longer than its value needs, so that what
	// decodes re-encodes to the same bytes.
	Minimal bool
}

// Fail records a failure unless one is recorded already.
func (d *Decoder) Fail(what string) {
	if d.Err == nil {
		d.Err = fmt.Errorf("%w: %s", d.Malformed, what)
	}
}

// Byte reads one byte.
func (d *Decoder) Byte() byte {
	if d.Err != nil || len(d.B) < 1 {
		d.Fail("short")
		return 0
	}
	c := d.B[0]
	d.B = d.B[1:]
	return c
}

// Uvarint reads a uvarint (a minimal one if d.Minimal).
func (d *Decoder) Uvarint() uint64 {
	if d.Err != nil {
		return 0
	}
	v, n := binary.Uvarint(d.B)
	if n <= 0 {
		d.Fail("bad varint")
		return 0
	}
	if d.Minimal && n != UvarintLen(v) {
		d.Fail("non-minimal varint")
		return 0
	}
	d.B = d.B[n:]
	return v
}

// Small reads a uvarint that must be at most limit.
func (d *Decoder) Small(limit uint64, what string) int {
	v := d.Uvarint()
	if v > limit {
		d.Fail(what + " out of range")
		return 0
	}
	return int(v)
}

// ID reads an id.
func (d *Decoder) ID() id.ID {
	var x id.ID
	if d.Err != nil || len(d.B) < id.Size {
		d.Fail("short id")
		return x
	}
	copy(x[:], d.B)
	d.B = d.B[id.Size:]
	return x
}

// Node reads an id and an address of at most maxAddr bytes (a length,
// then the bytes): how both overlays name a node on the wire.
func (d *Decoder) Node(maxAddr uint64) (id.ID, transport.Addr) {
	x := d.ID()
	n := d.Small(maxAddr, "address length")
	if d.Err != nil || n > len(d.B) {
		d.Fail("short address")
		return x, ""
	}
	a := transport.Addr(d.B[:n])
	d.B = d.B[n:]
	return x, a
}

// AppendNode appends what Node reads.
func AppendNode(b []byte, x id.ID, a transport.Addr) []byte {
	b = append(b, x[:]...)
	b = binary.AppendUvarint(b, uint64(len(a)))
	return append(b, a...)
}

// NodeSize is the size AppendNode adds.
func NodeSize(a transport.Addr) int { return id.Size + UvarintLen(uint64(len(a))) + len(a) }

// UvarintLen is the size of v as a uvarint.
func UvarintLen(v uint64) int {
	n := 1
	for v >= 0x80 {
		v >>= 7
		n++
	}
	return n
}
