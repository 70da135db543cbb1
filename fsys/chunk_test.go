package fsys

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"flag"
	"io"
	"math/rand/v2"
	"os"
	"slices"
	"sync"
	"testing"
	"testing/iotest"
)

var seedFlag = flag.Uint64("seed", 0, "seed of the randomized tests (0: a fixed default per test)")

// testRand returns the test's random source: -seed if given, else def. A
// failing test prints the seed, and -seed replays it.
func testRand(t testing.TB, def uint64) (*rand.Rand, uint64) {
	seed := def
	if *seedFlag != 0 {
		seed = *seedFlag
	}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("seed %d (rerun with -seed %d)", seed, seed)
		}
	})
	return rand.New(rand.NewPCG(seed, 0x667379732f746573)), seed
}

// randBytes returns n random bytes, quickly (ChaCha8 fills in bulk).
func randBytes(seed uint64, n int) []byte {
	var key [32]byte
	binary.LittleEndian.PutUint64(key[:], seed)
	b := make([]byte, n)
	rand.NewChaCha8(key).Read(b)
	return b
}

// cutPointReference is FastCDC's Algorithm 1 (with the primed hash), one
// byte a step: the definition scan's unrolled loop must agree with.
// go:norace for the reason cutPoint is (it reads only the test's data).
//
//go:norace
func cutPointReference(data []byte) int {
	n := len(data)
	if n <= MinChunkSize {
		return n
	}
	n = min(n, MaxChunkSize)
	var fp uint64
	for i := MinChunkSize - gearWindow; i < n; i++ {
		fp = fp<<1 + gear[data[i]]
		mask := uint64(maskL)
		if i < AvgChunkSize {
			mask = maskS
		}
		if i >= MinChunkSize && fp&mask == 0 {
			return i + 1
		}
	}
	return n
}

// corpus is 128 MiB of random bytes and its chunking, made once and shared
// by the tests that need a big file (-seed changes it).
var corpus = sync.OnceValue(func() (c struct {
	data  []byte
	seed  uint64
	refs  map[[32]byte]int
	sizes []int
}) {
	c.seed = 0xc0
	if *seedFlag != 0 {
		c.seed = *seedFlag
	}
	c.data = randBytes(c.seed, 128<<20)
	c.refs, c.sizes = chunkRefs(c.data)
	return c
})

// chunkRefs chunks data and returns the SHA-256 of each chunk mapped to its
// size, and the sizes in order.
func chunkRefs(data []byte) (map[[32]byte]int, []int) {
	refs := map[[32]byte]int{}
	var sizes []int
	c := NewChunker(bytes.NewReader(data))
	for {
		b, err := c.Next()
		if err != nil {
			return refs, sizes // bytes.Reader fails only with io.EOF
		}
		refs[sha256.Sum256(b)] = len(b)
		sizes = append(sizes, len(b))
	}
}

// newBytes returns the total size of the chunks of b not in a.
func newBytes(a, b map[[32]byte]int) (chunks, bytes int) {
	for h, n := range b {
		if _, ok := a[h]; !ok {
			chunks++
			bytes += n
		}
	}
	return chunks, bytes
}

// chunkAll returns the chunks of data (copies).
func chunkAll(t testing.TB, r io.Reader) [][]byte {
	t.Helper()
	var out [][]byte
	c := NewChunker(r)
	for {
		b, err := c.Next()
		if err == io.EOF {
			return out
		}
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, bytes.Clone(b))
	}
}

func chunkSizes(chunks [][]byte) []int {
	s := make([]int, len(chunks))
	for i, c := range chunks {
		s[i] = len(c)
	}
	return s
}

// TestChunkFormatPinned fails if the chunking parameters or the gear table
// change: that would change the ref of almost every chunk ever stored (see
// chunk.go). Do not update the expected values; add a new format instead.
func TestChunkFormatPinned(t *testing.T) {
	if MinChunkSize != 256<<10 || AvgChunkSize != 1<<20 || MaxChunkSize != 4<<20 ||
		maskSBits != 20 || maskLBits != 19 || gearSeed != 0x667379732f636463 {
		t.Fatal("chunking constants changed")
	}
	var tb []byte
	for _, g := range gear {
		tb = binary.LittleEndian.AppendUint64(tb, g)
	}
	const wantTable = "befe0cf73740979adf0d441ad552647a232177c2e03acae6736b84f82af44fe7"
	if got := sha256.Sum256(tb); hex.EncodeToString(got[:]) != wantTable {
		t.Errorf("gear table hash = %x, want %s", got, wantTable)
	}
	// SplitMix64 seeded with 0 starts with these (the published test
	// vector of the generator).
	if g := gearTable(0); g[0] != 0xe220a8397b1dcdaf || g[1] != 0x6e789e6aa1b965f4 {
		t.Errorf("gearTable(0) starts %#x %#x: not SplitMix64", g[0], g[1])
	}
	// The boundaries of a fixed 12 MiB input pin the whole algorithm. The
	// input comes from SplitMix64 too, so that no library change moves it.
	input := make([]byte, 0, 12<<20)
	for s := uint64(0); len(input) < cap(input); {
		input = binary.LittleEndian.AppendUint64(input, splitmix64(&s))
	}
	sizes := chunkSizes(chunkAll(t, bytes.NewReader(input)))
	var sb []byte
	for _, s := range sizes {
		sb = binary.AppendUvarint(sb, uint64(s))
	}
	const wantSizes = "16fa91b60aa8ac4623776207e7a0cb765422c6cf36c0452649b4e2b1f4cf01f5"
	if got := sha256.Sum256(sb); hex.EncodeToString(got[:]) != wantSizes {
		t.Errorf("chunk sizes %v hash to %x, want %s", sizes, got, wantSizes)
	}
}

func TestCutPointReference(t *testing.T) {
	t.Parallel()
	r, seed := testRand(t, 1)
	data := randBytes(seed, 12<<20)
	// Low-entropy regions too: runs of one byte never cut, so chunks reach
	// MaxChunkSize; short repeats cut at the same phase.
	copy(data[2<<20:], make([]byte, 5<<20))
	copy(data[8<<20:], bytes.Repeat([]byte("puddle"), 300000))
	for range 200 {
		off := r.IntN(len(data))
		end := off + r.IntN(min(len(data)-off, MaxChunkSize+1)+1)
		if r.IntN(2) == 0 {
			end = min(len(data), off+MaxChunkSize+r.IntN(100))
		}
		if got, want := cutPoint(data[off:end]), cutPointReference(data[off:end]); got != want {
			t.Fatalf("cutPoint(data[%d:%d]) = %d, reference %d", off, end, got, want)
		}
	}
}

func TestChunkerTable(t *testing.T) {
	t.Parallel()
	random := corpus().data[:10<<20]
	tests := []struct {
		name string
		data []byte
		want []int // chunk sizes; nil: only check the invariants
	}{
		{"empty", nil, []int{}},
		{"one byte", []byte{1}, []int{1}},
		{"min", random[:MinChunkSize], []int{MinChunkSize}},
		{"min+1", random[:MinChunkSize+1], nil},
		{"max", random[:MaxChunkSize], nil},
		{"zeros", make([]byte, 10<<20), []int{MaxChunkSize, MaxChunkSize, 2 << 20}},
		{"zeros max+1", make([]byte, MaxChunkSize+1), []int{MaxChunkSize, 1}},
		{"random", random, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			chunks := chunkAll(t, bytes.NewReader(tt.data))
			sizes := chunkSizes(chunks)
			if tt.want != nil && !equalInts(sizes, tt.want) {
				t.Fatalf("sizes %v, want %v", sizes, tt.want)
			}
			checkChunks(t, tt.data, chunks)
		})
	}
}

// checkChunks checks that chunks concatenate to data and respect the
// size limits.
func checkChunks(t *testing.T, data []byte, chunks [][]byte) {
	t.Helper()
	if got := bytes.Join(chunks, nil); !bytes.Equal(got, data) {
		t.Fatalf("chunks join to %d bytes that differ from the %d input bytes", len(got), len(data))
	}
	for i, c := range chunks {
		if len(c) == 0 || len(c) > MaxChunkSize || (len(c) < MinChunkSize && i != len(chunks)-1) {
			t.Fatalf("chunk %d of %d has %d bytes", i, len(chunks), len(c))
		}
	}
}

func equalInts(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// jerkyReader returns random short reads and counts what it has handed out.
type jerkyReader struct {
	data []byte
	r    *rand.Rand
	read int
}

func (j *jerkyReader) Read(p []byte) (int, error) {
	if len(j.data) == 0 {
		return 0, io.EOF
	}
	n := copy(p[:min(len(p), 1+j.r.IntN(300<<10))], j.data)
	j.data = j.data[n:]
	j.read += n
	return n, nil
}

// TestChunkerStreaming: the chunks do not depend on how the input is read,
// and the Chunker never holds more than chunkBufSize bytes of it.
func TestChunkerStreaming(t *testing.T) {
	t.Parallel()
	r, _ := testRand(t, 2)
	data := corpus().data[:20<<20]
	want := chunkSizes(chunkAll(t, bytes.NewReader(data)))
	j := &jerkyReader{data: data, r: r}
	c := NewChunker(j)
	var got []int
	returned := 0
	for {
		b, err := c.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(b, data[returned:returned+len(b)]) {
			t.Fatalf("chunk at %d differs from the input", returned)
		}
		returned += len(b)
		got = append(got, len(b))
		if held := j.read - returned; held > chunkBufSize {
			t.Fatalf("after %d bytes of chunks the chunker holds %d bytes", returned, held)
		}
	}
	if !equalInts(got, want) {
		t.Fatalf("chunk sizes with short reads %v, with whole reads %v", got, want)
	}
}

// TestChunkerDataWithEOF: a reader may return its last bytes with io.EOF.
func TestChunkerDataWithEOF(t *testing.T) {
	data := corpus().data[:3<<20]
	want := chunkSizes(chunkAll(t, bytes.NewReader(data)))
	got := chunkSizes(chunkAll(t, iotest.DataErrReader(bytes.NewReader(data))))
	if !equalInts(got, want) {
		t.Fatalf("chunk sizes %v, want %v", got, want)
	}
}

func TestChunkerReadError(t *testing.T) {
	boom := errors.New("boom")
	c := NewChunker(io.MultiReader(bytes.NewReader(make([]byte, 100)), &errReader{boom}))
	for range 2 {
		if _, err := c.Next(); !errors.Is(err, boom) {
			t.Fatalf("Next = %v, want %v", err, boom)
		}
	}
}

type errReader struct{ err error }

func (e *errReader) Read([]byte) (int, error) { return 0, e.err }

// TestChunkSizes: on random data the mean chunk is within 15% of 1 MiB
// (the expected mean is 1.01 MiB; over 128 MiB, 15% is about three
// standard deviations).
func TestChunkSizes(t *testing.T) {
	t.Parallel()
	c := corpus()
	total := 0
	for i, n := range c.sizes {
		if n > MaxChunkSize || (n < MinChunkSize && i != len(c.sizes)-1) {
			t.Fatalf("seed %d: chunk %d of %d has %d bytes", c.seed, i, len(c.sizes), n)
		}
		total += n
	}
	if total != len(c.data) {
		t.Fatalf("chunks add up to %d bytes, want %d", total, len(c.data))
	}
	mean := float64(total) / float64(len(c.sizes))
	t.Logf("%d chunks, mean %.3f MiB", len(c.sizes), mean/(1<<20))
	if mean < 0.85*AvgChunkSize || mean > 1.15*AvgChunkSize {
		t.Fatalf("seed %d: mean chunk %.0f bytes, want within 15%% of %d", c.seed, mean, AvgChunkSize)
	}
}

// TestChunkBoundariesContentDefined: an insertion or deletion near the
// start of a 64 MiB file changes the first few chunks only; all the others
// are found again.
func TestChunkBoundariesContentDefined(t *testing.T) {
	t.Parallel()
	r, seed := testRand(t, 4)
	data := corpus().data[:64<<20]
	orig, _ := chunkRefs(data)
	edits := []struct {
		name string
		edit func(off int) []byte
	}{
		{"insert 1", func(off int) []byte { return concat(data[:off], []byte{0x55}, data[off:]) }},
		{"insert 1000", func(off int) []byte { return concat(data[:off], randBytes(seed+1, 1000), data[off:]) }},
		{"delete 1", func(off int) []byte { return concat(data[:off], data[off+1:]) }},
		{"delete 70000", func(off int) []byte { return concat(data[:off], data[off+70000:]) }},
	}
	for _, e := range edits {
		off := r.IntN(2 << 20)
		t.Run(e.name, func(t *testing.T) {
			t.Parallel()
			edited, _ := chunkRefs(e.edit(off))
			n, _ := newBytes(orig, edited)
			t.Logf("at %d: %d of %d chunks new", off, n, len(edited))
			if n > 4 {
				t.Errorf("at %d: %d of %d chunks new, want at most 4", off, n, len(edited))
			}
		})
	}
}

func concat(parts ...[]byte) []byte { return bytes.Join(parts, nil) }

// editCost returns the bytes of new chunks when data[off:] is overwritten
// with patch, given data's chunk sizes. It rechunks from the last boundary
// at or before off and stops at the first old boundary it reaches past the
// patch: chunking from a boundary depends only on the bytes after it, so
// from there on the chunks are the old ones.
func editCost(data []byte, sizes []int, off int, patch []byte) int {
	start, end := 0, off+len(patch)
	old := map[int]bool{}
	pos := 0
	for _, n := range sizes {
		old[pos] = true
		if pos+n <= off {
			start = pos + n
		}
		pos += n
	}
	// Rechunk a copy of a window of the file, widened if chunking is not
	// back in step within it (copying all of a big file is slow under
	// -race).
	for window := 8 << 20; ; window *= 2 {
		mod := bytes.Clone(data[start:min(len(data), end+window)])
		copy(mod[off-start:], patch)
		cost := 0
		for pos := 0; pos < len(mod) && (start+pos < end || !old[start+pos]); {
			if len(mod)-pos < MaxChunkSize && start+len(mod) < len(data) {
				cost = -1
				break
			}
			n := cutPoint(mod[pos:])
			cost += n
			pos += n
		}
		if cost >= 0 {
			return cost
		}
	}
}

// TestEditMiddle: overwriting 1 MiB in the middle of a big file stores at
// most 4 MiB of new chunks. Which chunks an edit touches depends on the
// data: over random files and places about 5% of 1 MiB overwrites store
// more (mean 2.5 MiB; see chunk.go), so the test checks nine overwrites
// around the middle of the 128 MiB corpus and requires their median to be
// at most 4 MiB (fails for about 1 seed in 10,000) and their mean at most
// 3.5 MiB. An edit of a 24 MiB file is also checked by chunking the whole
// edited file, which validates editCost. PUDDLE_FSYS_BIG=1 adds a 1 GiB file, the
// size of the benchmark target.
func TestEditMiddle(t *testing.T) {
	t.Parallel()
	c := corpus()
	check := func(data []byte, sizes []int) {
		mid := len(data)/2 - 512<<10
		var costs []int
		sum := 0
		for k := -4; k <= 4; k++ {
			off := mid + k*(3<<20+12345)
			n := editCost(data, sizes, off, randBytes(c.seed+uint64(k+5), 1<<20))
			costs = append(costs, n)
			sum += n
		}
		t.Logf("%d MiB file, 1 MiB overwritten at 9 places around the middle: new chunk MiB %.2f",
			len(data)>>20, mib(costs...))
		slices.Sort(costs)
		if med, mean := costs[4], sum/len(costs); med > 4<<20 || mean > 3584<<10 {
			t.Errorf("seed %d: %d MiB file: median %d, mean %d bytes of new chunks per 1 MiB edit; want at most 4 MiB and 3.5 MiB",
				c.seed, len(data)>>20, med, mean)
		}
	}
	check(c.data, c.sizes)

	small := c.data[:24<<20]
	orig, sizes := chunkRefs(small)
	edited := bytes.Clone(small)
	patch := randBytes(c.seed+5, 1<<20)
	copy(edited[12<<20:], patch)
	refs, _ := chunkRefs(edited)
	_, full := newBytes(orig, refs)
	if est := editCost(small, sizes, 12<<20, patch); est != full {
		t.Errorf("editCost says %d bytes, chunking the whole file %d", est, full)
	}

	if os.Getenv("PUDDLE_FSYS_BIG") != "" {
		big := randBytes(c.seed, 1<<30)
		_, sizes := chunkRefs(big)
		check(big, sizes)
	}
}

func mib(ns ...int) []float64 {
	f := make([]float64, len(ns))
	for i, n := range ns {
		f[i] = float64(n) / (1 << 20)
	}
	return f
}

// BenchmarkChunker measures chunking alone (no hashing of chunks) on
// random data, reported in MB/s.
func BenchmarkChunker(b *testing.B) {
	data := randBytes(1, 64<<20)
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		c := NewChunker(bytes.NewReader(data))
		for {
			if _, err := c.Next(); err == io.EOF {
				break
			}
		}
	}
}
