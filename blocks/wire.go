package blocks

import (
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/puddlestore/puddlestore/blockstore"
)

// The wire format, hand-encoded: one message per transport message on
// transport.ServiceBlock. Byte 0 is the type (high bit set: a response),
// then the request id as a uvarint, then the type's fields:
//
//	storeChunk   ref[32] size:uv off:uv data...          (request)
//	fetch        ref[32] off:uv n:uv whole:byte          (request)
//	has          count:uv ref[32]*count                  (request)
//	enumerate    after[32] limit:uv                      (request)
//	storeAck                                             (response)
//	fetchChunk   total:uv off:uv data...                 (response)
//	hasReply     count:uv bitmap[(count+7)/8]            (response)
//	enumReply    more:byte count:uv (ref[32] size:uv)*   (response)
//	errReply     kind:byte msg...                        (response)
//
// Everything is bounded before anything is allocated: chunks by MaxChunk,
// blocks by blockstore.MaxBlockSize, ref lists by MaxHasRefs and
// MaxEnumerate, error text by maxErrText.
const (
	tStoreChunk byte = 1
	tFetch      byte = 2
	tHas        byte = 3
	tEnumerate  byte = 4

	tStoreAck   byte = 0x81
	tFetchChunk byte = 0x82
	tHasReply   byte = 0x83
	tEnumReply  byte = 0x84
	tErrReply   byte = 0xff

	responseBit byte = 0x80
)

// Limits of the protocol.
const (
	// MaxChunk is the most block bytes one message carries.
	MaxChunk = 1 << 20
	// MaxHasRefs is the most refs one Has request asks about; Client.Has
	// splits longer lists.
	MaxHasRefs = 4096
	// MaxEnumerate is the most refs one Enumerate page holds.
	MaxEnumerate = 4096
	maxErrText   = 512
)

// Kind is the class of an error that crossed the wire.
type Kind byte

// Error kinds on the wire. Values go on the wire and must never be reused.
const (
	KindUnknown     Kind = 0
	KindNotFound    Kind = 1
	KindCorrupt     Kind = 2
	KindInvalid     Kind = 3
	KindUnavailable Kind = 4
)

// Errors of the block layer; test with errors.Is. A remote error wraps the
// sentinel of its kind.
var (
	// ErrNotFound: the peer (or, from Service.Get, every holder tried)
	// does not hold the block.
	ErrNotFound = errors.New("blocks: not found")
	// ErrCorrupt: stored bytes (or bytes received) do not hash to the ref.
	ErrCorrupt = errors.New("blocks: corrupt")
	// ErrInvalid: a malformed request or message, or bad arguments.
	ErrInvalid = errors.New("blocks: invalid")
	// ErrUnavailable: no answer in time, the peer is overloaded or
	// unreachable. Retrying later may succeed.
	ErrUnavailable = errors.New("blocks: unavailable")
	// ErrClosed: the client or service was closed.
	ErrClosed = errors.New("blocks: closed")
)

// kindOf maps a local error to the kind sent back to the peer.
func kindOf(err error) Kind {
	switch {
	case errors.Is(err, blockstore.ErrNotFound), errors.Is(err, ErrNotFound):
		return KindNotFound
	case errors.Is(err, blockstore.ErrCorrupt), errors.Is(err, ErrCorrupt):
		return KindCorrupt
	case errors.Is(err, blockstore.ErrInvalid), errors.Is(err, ErrInvalid):
		return KindInvalid
	}
	return KindUnavailable
}

// sentinel returns the error a kind stands for.
func (k Kind) sentinel() error {
	switch k {
	case KindNotFound:
		return ErrNotFound
	case KindCorrupt:
		return ErrCorrupt
	case KindInvalid:
		return ErrInvalid
	}
	return ErrUnavailable
}

// msg is one decoded message. Which fields mean something depends on typ.
type msg struct {
	typ   byte
	id    uint64
	ref   blockstore.Ref // storeChunk, fetch; enumerate: after
	size  int64          // storeChunk: block size; fetchChunk: total reply bytes
	off   int64          // storeChunk, fetch, fetchChunk
	n     int64          // fetch: bytes wanted
	whole bool           // fetch: the whole block, verified by the receiver
	limit int            // enumerate
	more  bool           // enumReply
	data  []byte         // storeChunk, fetchChunk
	refs  []blockstore.Ref
	sizes []int64 // enumReply, with refs
	have  []bool  // hasReply
	kind  Kind    // errReply
	text  string  // errReply
}

func (m *msg) isResponse() bool { return m.typ&responseBit != 0 }

// encode appends m's encoding to b.
func (m *msg) encode(b []byte) []byte {
	b = append(b, m.typ)
	b = binary.AppendUvarint(b, m.id)
	switch m.typ {
	case tStoreChunk:
		b = append(b, m.ref[:]...)
		b = binary.AppendUvarint(b, uint64(m.size))
		b = binary.AppendUvarint(b, uint64(m.off))
		b = append(b, m.data...)
	case tFetch:
		b = append(b, m.ref[:]...)
		b = binary.AppendUvarint(b, uint64(m.off))
		b = binary.AppendUvarint(b, uint64(m.n))
		b = append(b, boolByte(m.whole))
	case tHas:
		b = binary.AppendUvarint(b, uint64(len(m.refs)))
		for _, r := range m.refs {
			b = append(b, r[:]...)
		}
	case tEnumerate:
		b = append(b, m.ref[:]...)
		b = binary.AppendUvarint(b, uint64(m.limit))
	case tStoreAck:
	case tFetchChunk:
		b = binary.AppendUvarint(b, uint64(m.size))
		b = binary.AppendUvarint(b, uint64(m.off))
		b = append(b, m.data...)
	case tHasReply:
		b = binary.AppendUvarint(b, uint64(len(m.have)))
		bits := make([]byte, (len(m.have)+7)/8)
		for i, h := range m.have {
			if h {
				bits[i/8] |= 1 << (i % 8)
			}
		}
		b = append(b, bits...)
	case tEnumReply:
		b = append(b, boolByte(m.more))
		b = binary.AppendUvarint(b, uint64(len(m.refs)))
		for i, r := range m.refs {
			b = append(b, r[:]...)
			b = binary.AppendUvarint(b, uint64(m.sizes[i]))
		}
	case tErrReply:
		b = append(b, byte(m.kind))
		t := m.text
		if len(t) > maxErrText {
			t = t[:maxErrText]
		}
		b = append(b, t...)
	}
	return b
}

func boolByte(v bool) byte {
	if v {
		return 1
	}
	return 0
}

// decoder reads fields, remembering the first error.
type decoder struct {
	p   []byte
	err error
}

func (d *decoder) fail(format string, args ...any) {
	if d.err == nil {
		d.err = fmt.Errorf("%w: message: %s", ErrInvalid, fmt.Sprintf(format, args...))
	}
}

func (d *decoder) uvarint(what string, max uint64) uint64 {
	if d.err != nil {
		return 0
	}
	v, k := binary.Uvarint(d.p)
	if k <= 0 {
		d.fail("bad %s", what)
		return 0
	}
	d.p = d.p[k:]
	if v > max {
		d.fail("%s %d exceeds %d", what, v, max)
		return 0
	}
	return v
}

func (d *decoder) bytes(what string, n int) []byte {
	if d.err != nil {
		return nil
	}
	if len(d.p) < n {
		d.fail("%s truncated", what)
		return nil
	}
	v := d.p[:n:n]
	d.p = d.p[n:]
	return v
}

func (d *decoder) ref(what string) (r blockstore.Ref) {
	copy(r[:], d.bytes(what, len(r)))
	return r
}

func (d *decoder) flag(what string) bool {
	b := d.bytes(what, 1)
	if b == nil {
		return false
	}
	if b[0] > 1 {
		d.fail("%s flag %d", what, b[0])
	}
	return b[0] == 1
}

// rest takes the remaining bytes (aliasing p: decode's caller owns it).
func (d *decoder) rest() []byte {
	v := d.p
	d.p = nil
	return v
}

func (d *decoder) end() {
	if d.err == nil && len(d.p) != 0 {
		d.fail("%d trailing bytes", len(d.p))
	}
}

// decode parses one message. It never panics; anything malformed is an
// error wrapping ErrInvalid. Byte slices in m alias p.
func decode(p []byte) (msg, error) {
	var m msg
	if len(p) == 0 {
		return m, fmt.Errorf("%w: message: empty", ErrInvalid)
	}
	d := &decoder{p: p[1:]}
	m.typ = p[0]
	m.id = d.uvarint("request id", 1<<63)
	const maxBlock = blockstore.MaxBlockSize
	switch m.typ {
	case tStoreChunk:
		m.ref = d.ref("ref")
		m.size = int64(d.uvarint("size", maxBlock))
		m.off = int64(d.uvarint("offset", maxBlock))
		m.data = d.rest()
		if d.err == nil && (len(m.data) > MaxChunk || m.off+int64(len(m.data)) > m.size ||
			(len(m.data) == 0 && m.size != 0)) {
			d.fail("chunk %d+%d of a %d-byte block", m.off, len(m.data), m.size)
		}
	case tFetch:
		m.ref = d.ref("ref")
		m.off = int64(d.uvarint("offset", maxBlock))
		m.n = int64(d.uvarint("length", maxBlock))
		m.whole = d.flag("whole")
		if m.whole && (m.off != 0 || m.n != 0) {
			d.fail("whole fetch with a range")
		}
	case tHas:
		n := d.uvarint("count", MaxHasRefs)
		if d.err == nil && uint64(len(d.p)) < n*32 {
			d.fail("has: %d refs truncated", n)
		}
		for i := uint64(0); i < n && d.err == nil; i++ {
			m.refs = append(m.refs, d.ref("ref"))
		}
	case tEnumerate:
		m.ref = d.ref("after")
		m.limit = int(d.uvarint("limit", MaxEnumerate))
	case tStoreAck:
	case tFetchChunk:
		m.size = int64(d.uvarint("total", maxBlock))
		m.off = int64(d.uvarint("offset", maxBlock))
		m.data = d.rest()
		if d.err == nil && (len(m.data) > MaxChunk || m.off+int64(len(m.data)) > m.size) {
			d.fail("chunk %d+%d of a %d-byte reply", m.off, len(m.data), m.size)
		}
	case tHasReply:
		n := d.uvarint("count", MaxHasRefs)
		bits := d.bytes("bitmap", int((n+7)/8))
		if d.err == nil {
			m.have = make([]bool, n)
			for i := range m.have {
				m.have[i] = bits[i/8]&(1<<(i%8)) != 0
			}
		}
	case tEnumReply:
		m.more = d.flag("more")
		n := d.uvarint("count", MaxEnumerate)
		if d.err == nil && uint64(len(d.p)) < n*33 {
			d.fail("enumerate: %d refs truncated", n)
		}
		for i := uint64(0); i < n && d.err == nil; i++ {
			m.refs = append(m.refs, d.ref("ref"))
			m.sizes = append(m.sizes, int64(d.uvarint("size", maxBlock)))
		}
	case tErrReply:
		k := d.bytes("kind", 1)
		if k != nil {
			m.kind = Kind(k[0])
		}
		t := d.rest()
		if len(t) > maxErrText {
			d.fail("error text of %d bytes", len(t))
		}
		m.text = string(t)
	default:
		return m, fmt.Errorf("%w: message: type %#x", ErrInvalid, m.typ)
	}
	d.end()
	return m, d.err
}
