package main

import (
	"encoding/binary"
	"io"
	"math/rand/v2"
)

// genBlock is the unit of the generator: each genBlock-sized piece of a
// stream comes from its own ChaCha8 key, so any offset can be produced
// without generating what comes before it.
const genBlock = 1 << 20

// stream is the big file's content: size deterministic pseudo-random bytes
// (ChaCha8, keyed by seed and the piece's index), held one piece at a time,
// never whole. The edited version differs in [editOff, editEnd), whose bytes
// come from other keys; outside it the two are the same.
type stream struct {
	seed             uint64
	size             int64
	editOff, editEnd int64 // empty (editOff == editEnd): the original

	off   int64
	piece int64  // index of the piece in buf; -1: none
	buf   []byte // the piece's bytes
	alt   []byte // scratch for the edited bytes
}

func newStream(seed uint64, size int64) *stream {
	return &stream{seed: seed, size: size, piece: -1}
}

// edited returns the stream with [off, off+n) replaced.
func (s *stream) edited(off, n int64) *stream {
	e := newStream(s.seed, s.size)
	e.editOff, e.editEnd = off, min(off+n, s.size)
	return e
}

func key(seed uint64, a, b int64) [32]byte {
	var k [32]byte
	binary.LittleEndian.PutUint64(k[0:], seed)
	binary.LittleEndian.PutUint64(k[8:], uint64(a))
	binary.LittleEndian.PutUint64(k[16:], uint64(b))
	copy(k[24:], "bench/fs")
	return k
}

// fill generates piece i into s.buf.
func (s *stream) fill(i int64) {
	start := i * genBlock
	n := min(genBlock, s.size-start)
	if cap(s.buf) < int(n) {
		s.buf = make([]byte, genBlock)
	}
	s.buf = s.buf[:n]
	_, _ = rand.NewChaCha8(key(s.seed, i, 0)).Read(s.buf)
	if lo, hi := max(start, s.editOff), min(start+n, s.editEnd); lo < hi {
		if cap(s.alt) < int(n) {
			s.alt = make([]byte, genBlock)
		}
		s.alt = s.alt[:n]
		_, _ = rand.NewChaCha8(key(s.seed, i, 1)).Read(s.alt)
		copy(s.buf[lo-start:hi-start], s.alt[lo-start:hi-start])
	}
	s.piece = i
}

// Read implements io.Reader.
func (s *stream) Read(p []byte) (int, error) {
	if s.off >= s.size {
		return 0, io.EOF
	}
	total := 0
	for len(p) > 0 && s.off < s.size {
		i := s.off / genBlock
		if i != s.piece {
			s.fill(i)
		}
		n := copy(p, s.buf[s.off-i*genBlock:])
		p, s.off, total = p[n:], s.off+int64(n), total+n
	}
	return total, nil
}

// ReadAt implements io.ReaderAt (it moves the Read offset too).
func (s *stream) ReadAt(p []byte, off int64) (int, error) {
	s.off = off
	n, _ := io.ReadFull(s, p)
	if n < len(p) {
		return n, io.EOF
	}
	return n, nil
}

// smallFile is the content of small file i: n pseudo-random bytes, distinct
// per file, so that no two share a block.
func smallFile(seed uint64, i, n int) []byte {
	b := make([]byte, n)
	_, _ = rand.NewChaCha8(key(seed, int64(i), 2)).Read(b)
	return b
}
