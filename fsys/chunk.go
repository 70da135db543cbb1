package fsys

import (
	"io"
)

// The chunking parameters are part of the storage format: a chunk's ref is
// the hash of bytes these constants and the gear table choose, so changing
// any of them changes the ref of almost every chunk and ends deduplication
// between files written before and after. TestChunkFormatPinned fixes them.
//
// The average is 1 MiB because a chunk is a block, and each block costs a
// placement, R replicas, an index entry and a locate on read: at 1 MiB that
// overhead is small beside the transfer, while an edit still rewrites only
// a few MiB (DESIGN: copy-on-write versions).
const (
	// MinChunkSize is the smallest chunk except a file's last. Cut points
	// are not even looked for below it ("cut-point skipping", FastCDC §3.1),
	// which is most of why the chunker is fast.
	MinChunkSize = 256 << 10
	// AvgChunkSize is the FastCDC "normal size" (§3.3): below it the
	// harder mask maskS is used, from it the easier maskL, which pulls
	// chunk sizes towards it. The mean chunk is about 1.01 MiB.
	AvgChunkSize = 1 << 20
	// MaxChunkSize forces a cut where content finds none (e.g. zeros).
	MaxChunkSize = 4 << 20
)

// Normalized chunking (§3.3): a cut is a position where the gear hash has
// its top bits zero, maskSBits of them below AvgChunkSize (probability
// 2^-20 a byte) and maskLBits from it (2^-19). The paper derives its masks
// from the normal size (NC1: 21 and 19 bits for 1 MiB), but with cut-point
// skipping at 256 KiB those make the mean chunk 1.21 MiB. With 20 and 19
// bits the expected size is
//
//	256 KiB + 1 MiB·(1-e^-0.75) + e^-0.75·512 KiB ≈ 1.01 MiB
//
// (a cut before 1 MiB with probability 1-e^-0.75, else one 512 KiB on
// average after it; 0.12% of chunks reach MaxChunkSize). Among the settings
// tried (500 random 1 MiB overwrites of a 128 MiB random file each),
// 20/19 stored about the fewest new bytes per edit, 2.5 MiB on average,
// against 2.9 MiB for NC1 and 3.4 MiB for NC2: a harder mask before the
// normal size makes a boundary that was cut with the easier mask late in a
// chunk invisible from a later start, so chunking takes longer to fall back
// into step after an edit.
//
// The mask bits are the top ones, not the low ones: bit i of a gear hash
// depends on the last i+1 bytes only, so the top bits make every cut
// decision depend on the whole 64-byte window (the purpose of §3.2's
// "padding zeros" into the mask) rather than on the last few bytes.
const (
	maskSBits = 20
	maskLBits = 19
	maskS     = (1<<maskSBits - 1) << (64 - maskSBits)
	maskL     = (1<<maskLBits - 1) << (64 - maskLBits)
	// gearWindow is how many bytes a gear hash remembers: a byte is
	// shifted out of the 64-bit hash 64 steps after it entered.
	gearWindow = 64
)

// gearSeed seeds the gear table: the ASCII bytes "fsys/cdc", big-endian.
const gearSeed = 0x667379732f636463

// gear is the table of the gear hash (FastCDC §2, after Ddelta): one
// random 64-bit value per byte value, drawn from SplitMix64 (Steele, Lea
// and Flood, OOPSLA 2014) seeded with gearSeed. Generating it in code from
// a named generator makes the table reproducible and reviewable;
// TestChunkFormatPinned pins its hash.
var gear = gearTable(gearSeed)

func gearTable(seed uint64) [256]uint64 {
	var t [256]uint64
	for i := range t {
		t[i] = splitmix64(&seed)
	}
	return t
}

// splitmix64 advances the state s and returns its next output.
func splitmix64(s *uint64) uint64 {
	*s += 0x9e3779b97f4a7c15
	z := *s
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
	z = (z ^ (z >> 27)) * 0x94d049bb133111eb
	return z ^ (z >> 31)
}

// cutPoint returns the length of the chunk that starts data: data must hold
// at least MaxChunkSize bytes, or be all that is left of the input. It is
// FastCDC's Algorithm 1 with one change: the hash is primed over the
// gearWindow bytes before MinChunkSize, so that whether a position is a
// cut candidate depends only on the 64 bytes ending there, never on where
// the chunk began. A boundary found from one chunk start is then found from
// any other, which is how chunking falls back into step after an edit.
//
// cutPoint and scan are go:norace: they only read bytes the Chunker owns
// (its writes to them, in fill, are still checked, as are a caller's
// reads of a chunk), and checking each byte read makes chunking some 50
// times slower under -race, which the tests of everything above run.
//
//go:norace
func cutPoint(data []byte) int {
	n := len(data)
	if n <= MinChunkSize {
		return n
	}
	n = min(n, MaxChunkSize)
	normal := min(n, AvgChunkSize)
	var fp uint64
	for _, b := range data[MinChunkSize-gearWindow : MinChunkSize] {
		fp = fp<<1 + gear[b]
	}
	i, fp := scan(data[MinChunkSize:normal], fp, maskS)
	if i >= 0 {
		return MinChunkSize + i
	}
	if i, _ = scan(data[normal:n], fp, maskL); i >= 0 {
		return normal + i
	}
	return n
}

// scan rolls the gear hash fp over data and returns the length of the
// prefix that ends at the first position whose hash has no bit of mask
// set, or -1 and the hash after all of data. It is the loop where chunking
// spends its time: two bytes a step, with the hash after the second byte
// computed from the hash before the first (fp<<2 + g0<<1 + g1), so the
// serial dependency is one shift and one add per two bytes rather than per
// byte; the hash after the first byte is computed beside it, off that
// path. (FastCDC's later "rolling two bytes" does the same, but tests a
// shifted mask and so cuts at different places.) TestCutPointReference
// checks it against the plain loop.
//
//go:norace
func scan(data []byte, fp, mask uint64) (int, uint64) {
	i := 0
	for ; i+1 < len(data); i += 2 {
		g0, g1 := gear[data[i]], gear[data[i+1]]
		h := fp<<1 + g0
		fp = fp<<2 + (g0<<1 + g1)
		if h&mask == 0 {
			return i + 1, h
		}
		if fp&mask == 0 {
			return i + 2, fp
		}
	}
	if i < len(data) {
		fp = fp<<1 + gear[data[i]]
		if fp&mask == 0 {
			return i + 1, fp
		}
	}
	return -1, fp
}

// chunkBufSize is the Chunker's buffer: one maximal chunk of lookahead,
// which cutPoint needs, plus as much again to read into, so that the tail
// is moved to the front about once per MaxChunkSize of input rather than
// once per chunk.
const chunkBufSize = 2 * MaxChunkSize

// Chunker splits a stream into content-defined chunks. It holds at most
// chunkBufSize (8 MiB) of the stream, growing its buffer only as the input
// proves long enough to need it, so small files cost little.
type Chunker struct {
	r          io.Reader
	buf        []byte // the stream's bytes from start to end are buf[start:end]
	start, end int
	eof        bool
	err        error // a read error, returned from then on
}

// NewChunker returns a Chunker reading r.
func NewChunker(r io.Reader) *Chunker { return &Chunker{r: r} }

// Next returns the next chunk, or io.EOF after the last (an empty input
// has no chunks), or r's error. The chunk aliases the Chunker's buffer: it
// is valid only until the next call to Next, so a caller that keeps it
// must copy it. Every chunk but the last is at least MinChunkSize bytes;
// none is more than MaxChunkSize.
func (c *Chunker) Next() ([]byte, error) {
	if c.end-c.start < MaxChunkSize && !c.eof && c.err == nil {
		c.fill()
	}
	if c.err != nil {
		return nil, c.err
	}
	if c.start == c.end {
		return nil, io.EOF
	}
	n := cutPoint(c.buf[c.start:c.end])
	chunk := c.buf[c.start : c.start+n : c.start+n]
	c.start += n
	return chunk, nil
}

// fill moves what is left to the front of the buffer and reads until the
// buffer is full or the input ends.
func (c *Chunker) fill() {
	if c.start > 0 {
		c.end = copy(c.buf, c.buf[c.start:c.end])
		c.start = 0
	}
	for !c.eof && c.err == nil {
		if c.end == len(c.buf) {
			if len(c.buf) == chunkBufSize {
				return
			}
			// Grow by doubling from 64 KiB: a 1 KiB file never
			// allocates 8 MiB.
			size := min(max(2*len(c.buf), 64<<10), chunkBufSize)
			buf := make([]byte, size)
			copy(buf, c.buf[:c.end])
			c.buf = buf
		}
		n, err := c.r.Read(c.buf[c.end:])
		c.end += n
		if err == io.EOF {
			c.eof = true
		} else if err != nil {
			c.err = err
		}
	}
}
