package blockstore

import (
	"encoding/binary"
	"fmt"
	"hash/crc32"
)

// A pack file is a sequence of records, each a fixed header followed, for a
// block, by its bytes:
//
//	offset size
//	0      4    magic "PBK1"
//	4      1    kind: 1 block, 2 tombstone
//	5      3    zero
//	8      4    length of the data that follows (uint32 LE; 0 for a tombstone)
//	12     32   ref
//	44     4    CRC-32C (Castagnoli) of bytes 0-43 (uint32 LE)
//
// The header checksum lets Open find record boundaries without reading
// the data; the data needs no checksum of its own, since it must hash to
// the ref and every read checks that.
const (
	headerSize = 48
	magic      = "PBK1"

	kindBlock     = 1
	kindTombstone = 2
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// header is a decoded record header.
type header struct {
	kind   byte
	length uint32
	ref    Ref
}

// recordSize is the header plus the data.
func (h header) recordSize() int64 { return headerSize + int64(h.length) }

func (h header) encode(b []byte) []byte {
	var p [headerSize]byte
	copy(p[0:4], magic)
	p[4] = h.kind
	binary.LittleEndian.PutUint32(p[8:12], h.length)
	copy(p[12:44], h.ref[:])
	binary.LittleEndian.PutUint32(p[44:48], crc32.Checksum(p[:44], castagnoli))
	return append(b, p[:]...)
}

// decodeHeader parses and checks a header. Any error means the bytes are
// not a header written by this package (torn, damaged, or not a boundary).
func decodeHeader(p []byte) (header, error) {
	if len(p) < headerSize {
		return header{}, fmt.Errorf("short header (%d bytes)", len(p))
	}
	p = p[:headerSize]
	if string(p[0:4]) != magic {
		return header{}, fmt.Errorf("bad magic %q", p[0:4])
	}
	if got, want := binary.LittleEndian.Uint32(p[44:48]), crc32.Checksum(p[:44], castagnoli); got != want {
		return header{}, fmt.Errorf("header checksum %08x, want %08x", got, want)
	}
	h := header{kind: p[4], length: binary.LittleEndian.Uint32(p[8:12])}
	copy(h.ref[:], p[12:44])
	switch {
	case h.kind != kindBlock && h.kind != kindTombstone:
		return header{}, fmt.Errorf("unknown record kind %d", h.kind)
	case p[5] != 0 || p[6] != 0 || p[7] != 0:
		return header{}, fmt.Errorf("reserved bytes set")
	case h.length > MaxBlockSize || (h.kind == kindTombstone && h.length != 0):
		return header{}, fmt.Errorf("bad length %d for kind %d", h.length, h.kind)
	}
	return h, nil
}
