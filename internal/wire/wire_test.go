package wire

import (
	"errors"
	"testing"

	"github.com/puddlestore/puddlestore/id"
)

var errBad = errors.New("bad")

func TestNodeRoundTrip(t *testing.T) {
	x := id.Hash([]byte("n"))
	b := AppendNode(nil, x, "10.0.0.1:7000")
	if len(b) != NodeSize("10.0.0.1:7000") {
		t.Fatalf("size %d, NodeSize %d", len(b), NodeSize("10.0.0.1:7000"))
	}
	d := Decoder{B: b, Malformed: errBad, Minimal: true}
	gx, ga := d.Node(64)
	if d.Err != nil || gx != x || ga != "10.0.0.1:7000" || len(d.B) != 0 {
		t.Fatalf("got %v %q rest %d, %v", gx, ga, len(d.B), d.Err)
	}
	// Every truncation fails, wrapping Malformed, without a panic.
	for n := range len(b) {
		d := Decoder{B: b[:n], Malformed: errBad}
		d.Node(64)
		if !errors.Is(d.Err, errBad) {
			t.Fatalf("truncated to %d: err %v", n, d.Err)
		}
	}
	// An address longer than allowed.
	d = Decoder{B: b, Malformed: errBad}
	if d.Node(4); !errors.Is(d.Err, errBad) {
		t.Fatalf("long address: err %v", d.Err)
	}
}

func TestMinimalUvarint(t *testing.T) {
	padded := []byte{0x81, 0x00} // 1, in two bytes
	d := Decoder{B: padded, Malformed: errBad, Minimal: true}
	if d.Uvarint(); !errors.Is(d.Err, errBad) {
		t.Fatalf("minimal: non-minimal varint accepted")
	}
	d = Decoder{B: padded, Malformed: errBad}
	if v := d.Uvarint(); d.Err != nil || v != 1 {
		t.Fatalf("not minimal: %d, %v", v, d.Err)
	}
	// After a failure, reads return zero and keep the first error.
	d = Decoder{B: nil, Malformed: errBad}
	d.Byte()
	first := d.Err
	if d.ID() != (id.ID{}) || d.Err != first {
		t.Fatal("a read after a failure changed the error or returned data")
	}
}
