package wal

import (
	"encoding/binary"
	"fmt"
	"hash/crc32"

	"github.com/puddlestore/puddlestore/raft/raftpb"
)

// A record is
//
//	length uint32 LE   bytes of type+payload (at least 1)
//	crc    uint32 LE   CRC-32C of the length field, the type and the payload
//	type   byte
//	payload
//
// Every Save and SaveSnapshot appends its records with one write and one
// fsync, so only the last write of the last segment can ever be torn.
const (
	headerSize = 8
	maxRecord  = 1 << 30
)

// Record types.
const (
	recBatch    = 1 // flags, [HardState], entries: one Save
	recSnapshot = 2 // SnapshotMetadata: a snapshot file is durable
)

const batchHasHardState = 1

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// beginRecord appends a header placeholder and the type; finishRecord fills
// the header once the payload is appended after it.
func beginRecord(dst []byte, typ byte) ([]byte, int) {
	start := len(dst)
	dst = append(dst, make([]byte, headerSize)...)
	return append(dst, typ), start
}

func finishRecord(dst []byte, start int) ([]byte, error) {
	n := len(dst) - start - headerSize
	if n > maxRecord {
		return dst[:start], fmt.Errorf("%w: record of %d bytes exceeds %d", ErrInvalid, n, maxRecord)
	}
	binary.LittleEndian.PutUint32(dst[start:], uint32(n))
	crc := crc32.Update(crc32.Checksum(dst[start:start+4], castagnoli), castagnoli, dst[start+headerSize:])
	binary.LittleEndian.PutUint32(dst[start+4:], crc)
	return dst, nil
}

// readRecord parses the record at b[off:]. ok is false if there is no
// complete record with a valid checksum and a known type there.
func readRecord(b []byte, off int) (typ byte, payload []byte, next int, ok bool) {
	if len(b)-off < headerSize+1 {
		return 0, nil, off, false
	}
	n := int(binary.LittleEndian.Uint32(b[off:]))
	if n < 1 || n > maxRecord || n > len(b)-off-headerSize {
		return 0, nil, off, false
	}
	body := b[off+headerSize : off+headerSize+n]
	crc := crc32.Update(crc32.Checksum(b[off:off+4], castagnoli), castagnoli, body)
	if crc != binary.LittleEndian.Uint32(b[off+4:]) || (body[0] != recBatch && body[0] != recSnapshot) {
		return 0, nil, off, false
	}
	return body[0], body[1:], off + headerSize + n, true
}

// validRecordAfter reports whether any valid record starts after off: the
// sign that damage at off is not a torn final write but corruption in the
// middle of the log.
func validRecordAfter(b []byte, off int) bool {
	for p := off + 1; p+headerSize < len(b); p++ {
		if _, _, _, ok := readRecord(b, p); ok {
			return true
		}
	}
	return false
}

func appendBatch(dst []byte, hs *raftpb.HardState, ents []raftpb.Entry) ([]byte, error) {
	dst, start := beginRecord(dst, recBatch)
	if hs != nil {
		dst = append(dst, batchHasHardState)
		dst = binary.AppendUvarint(dst, uint64(hs.Size()))
		dst = hs.AppendMarshal(dst)
	} else {
		dst = append(dst, 0)
	}
	dst = binary.AppendUvarint(dst, uint64(len(ents)))
	for i := range ents {
		dst = binary.AppendUvarint(dst, uint64(ents[i].Size()))
		dst = ents[i].AppendMarshal(dst)
	}
	return finishRecord(dst, start)
}

func appendSnapshotMarker(dst []byte, md *raftpb.SnapshotMetadata) ([]byte, error) {
	dst, start := beginRecord(dst, recSnapshot)
	return finishRecord(md.AppendMarshal(dst), start)
}

// batch is a decoded recBatch.
type batch struct {
	hs    *raftpb.HardState
	ents  []raftpb.Entry
	first uint64 // ents[0].Index, if any
}

// decodeBatch decodes a recBatch payload whose checksum was valid, so an
// error here means a broken writer or a forged record, not a torn write.
func decodeBatch(p []byte) (batch, error) {
	var b batch
	if len(p) == 0 || p[0]&^batchHasHardState != 0 {
		return b, fmt.Errorf("batch: bad flags")
	}
	hasHS := p[0]&batchHasHardState != 0
	p = p[1:]
	next := func() ([]byte, bool) {
		n, k := binary.Uvarint(p)
		if k <= 0 || n > uint64(len(p)-k) {
			return nil, false
		}
		s := p[k : k+int(n)]
		p = p[k+int(n):]
		return s, true
	}
	if hasHS {
		s, ok := next()
		if !ok {
			return b, fmt.Errorf("batch: bad hard state length")
		}
		b.hs = new(raftpb.HardState)
		if err := b.hs.Unmarshal(s); err != nil {
			return b, fmt.Errorf("batch: %w", err)
		}
	}
	n, k := binary.Uvarint(p)
	if k <= 0 || n > uint64(len(p)-k) { // every entry takes at least a byte
		return b, fmt.Errorf("batch: bad entry count")
	}
	p = p[k:]
	if n > 0 {
		b.ents = make([]raftpb.Entry, n)
	}
	for i := range b.ents {
		s, ok := next()
		if !ok {
			return b, fmt.Errorf("batch: entry %d: bad length", i)
		}
		if err := b.ents[i].Unmarshal(s); err != nil {
			return b, fmt.Errorf("batch: entry %d: %w", i, err)
		}
		if i > 0 && b.ents[i].Index != b.ents[i-1].Index+1 {
			return b, fmt.Errorf("batch: entry %d has index %d after %d", i, b.ents[i].Index, b.ents[i-1].Index)
		}
	}
	if len(p) != 0 {
		return b, fmt.Errorf("batch: %d trailing bytes", len(p))
	}
	if len(b.ents) > 0 {
		b.first = b.ents[0].Index
	}
	return b, nil
}
