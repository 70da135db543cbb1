package blockstore

import (
	"bytes"
	"crypto/sha256"
	"io"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/puddlestore/puddlestore/wal"
)

// load rebuilds the index from the pack files, oldest first, and reopens
// the newest for appending. A record's effect is its position: a later
// record for the same ref replaces an earlier one.
func (d *Disk) load() error {
	names, err := d.fs.ReadDir(d.dir)
	if err != nil {
		return err
	}
	var seqs []uint64
	for _, name := range names {
		hexSeq, ok := strings.CutSuffix(name, ".pack")
		if !ok || len(hexSeq) != 16 {
			continue
		}
		seq, err := strconv.ParseUint(hexSeq, 16, 64)
		if err != nil {
			continue
		}
		seqs = append(seqs, seq) // ReadDir sorts names, so seqs ascend
	}
	for i, seq := range seqs {
		if err := d.loadPack(seq, i == len(seqs)-1); err != nil {
			return err
		}
	}
	if len(seqs) > 0 {
		last := seqs[len(seqs)-1]
		d.nextSeq = last + 1
		d.active = d.mu.packs[last]
		if d.w, err = d.fs.OpenAppend(d.active.name); err != nil {
			return err
		}
	}
	return nil
}

// loadPack scans one pack's headers and applies its records. In the last
// pack, which alone can hold records written after the last fsync, a torn
// tail is cut off: garbage after the last valid header, and block records
// at the end whose bytes do not match their ref (a header that reached the
// disk before its data). Only the last maxBatchSpan bytes are checked that
// way: an unsynced batch is never longer.
func (d *Disk) loadPack(seq uint64, last bool) error {
	name := filepath.Join(d.dir, packName(seq))
	r, err := d.fs.OpenReadAt(name)
	if err != nil {
		return err
	}
	p := &pack{seq: seq, name: name, r: r, dead: map[Ref]struct{}{}}
	d.mu.packs[seq] = p
	size, err := r.Size()
	if err != nil {
		return err
	}
	sc := scanner{r: r, size: size}
	recs, end, err := sc.scan(d, name)
	if err != nil {
		return err
	}
	cut := int64(-1)
	if end < size {
		cut = end
	}
	if last {
		for i := len(recs) - 1; i >= 0 && recs[i].off >= size-maxBatchSpan; i-- {
			ok, err := verifyRecord(r, recs[i])
			if err != nil {
				return err
			}
			if ok {
				break
			}
			cut, recs = recs[i].off, recs[:i]
		}
	}
	switch {
	case cut >= 0 && last:
		d.log.Warn("cutting torn tail of pack", "pack", name, "offset", cut, "bytes", size-cut)
		if err := truncate(d.fs, name, cut); err != nil {
			return err
		}
		size = cut
	case cut >= 0:
		d.log.Warn("ignoring damaged end of sealed pack", "pack", name, "offset", cut, "bytes", size-cut)
	}
	p.size = size
	for _, rec := range recs {
		d.applyLocked(rec.h.kind, rec.h.ref, loc{pack: seq, off: rec.off, length: rec.h.length})
	}
	return nil
}

// verifyRecord reports whether a record's data matches its header.
func verifyRecord(r wal.ReadAtFile, rec scanned) (bool, error) {
	if rec.h.kind != kindBlock {
		return true, nil
	}
	data := make([]byte, rec.h.length)
	if n, err := r.ReadAt(data, rec.off+headerSize); n < len(data) {
		return false, err
	}
	return sha256.Sum256(data) == rec.h.ref, nil
}

func truncate(fs wal.FS, name string, size int64) error {
	f, err := fs.OpenAppend(name)
	if err != nil {
		return err
	}
	if err := f.Truncate(size); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// scanned is a record found by a scan.
type scanned struct {
	h   header
	off int64
}

// scanner reads a pack's record headers through a small window, skipping
// data by length.
type scanner struct {
	r    wal.ReadAtFile
	size int64
	buf  []byte
	off  int64 // file offset of buf[0]
}

const scanWindow = 64 << 10

// at returns the k bytes at off (k <= scanWindow, off+k <= size).
func (s *scanner) at(off int64, k int) ([]byte, error) {
	if off >= s.off && off+int64(k) <= s.off+int64(len(s.buf)) {
		return s.buf[off-s.off:][:k], nil
	}
	if s.buf == nil {
		s.buf = make([]byte, scanWindow)
	}
	s.buf = s.buf[:min(scanWindow, s.size-off)]
	s.off = off
	if n, err := s.r.ReadAt(s.buf, off); n < len(s.buf) {
		if err == nil {
			err = io.ErrUnexpectedEOF
		}
		return nil, err
	}
	return s.buf[:k], nil
}

// scan returns the valid records and where the valid part ends. Damage in
// the middle (a header that does not decode, followed by valid records) is
// skipped by searching for the next valid header, and logged.
func (s *scanner) scan(d *Disk, name string) ([]scanned, int64, error) {
	var recs []scanned
	pos := int64(0)
	for pos < s.size {
		if h, ok, err := s.headerAt(pos); err != nil {
			return nil, 0, err
		} else if ok {
			recs = append(recs, scanned{h, pos})
			pos += h.recordSize()
			continue
		}
		next, err := s.next(pos + 1)
		if err != nil {
			return nil, 0, err
		}
		if next < 0 {
			return recs, pos, nil
		}
		d.log.Warn("skipping damaged bytes in pack", "pack", name, "offset", pos, "bytes", next-pos)
		pos = next
	}
	return recs, pos, nil
}

// headerAt decodes the header at pos; ok is false if there is none whose
// record fits in the file.
func (s *scanner) headerAt(pos int64) (header, bool, error) {
	if s.size-pos < headerSize {
		return header{}, false, nil
	}
	p, err := s.at(pos, headerSize)
	if err != nil {
		return header{}, false, err
	}
	h, err := decodeHeader(p)
	if err != nil || pos+h.recordSize() > s.size {
		return header{}, false, nil
	}
	return h, true, nil
}

// next returns the offset of the first valid header at or after from, or -1.
func (s *scanner) next(from int64) (int64, error) {
	for pos := from; s.size-pos >= headerSize; {
		p, err := s.at(pos, int(min(scanWindow, s.size-pos)))
		if err != nil {
			return 0, err
		}
		i := bytes.Index(p, []byte(magic))
		if i < 0 {
			pos += int64(len(p)) - int64(len(magic)) + 1
			continue
		}
		if _, ok, err := s.headerAt(pos + int64(i)); err != nil {
			return 0, err
		} else if ok {
			return pos + int64(i), nil
		}
		pos += int64(i) + 1
	}
	return -1, nil
}
