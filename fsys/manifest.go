package fsys

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"math/bits"
	"slices"

	"github.com/puddlestore/puddlestore/blockstore"
)

// Manifest wire format (version 1). A manifest is one block; a file
// version's ref is its root manifest's ref. Integers are uvarints in their
// shortest form (a longer form is rejected, so every manifest has exactly
// one encoding and decode(encode(m)) == m byte for byte); refs are 32 raw
// bytes.
//
//	manifest  "PSM" version kind size body
//	inline    body = the file's size bytes
//	leaf      body = count (ref chunk-size)...         chunks, in file order
//	node      body = level count (ref covered-size)... child manifests
//
// Every manifest states the size of what it covers, so a reader finds the
// chunk holding an offset by walking down from the root, one block per
// level, and a file's size is known from its root alone.
const (
	manifestMagic   = "PSM"
	ManifestVersion = 1
)

// InlineLimit is the largest file stored inside its manifest. A separate
// chunk costs a second block (placement, replicas, index entries) and a
// second round trip on every read; below 4 KiB, where most files of a
// general file system fall and one disk page holds the data, that doubles
// the cost of a file. Above it the extra round trip is small beside the
// transfer, and keeping manifests small keeps size lookups and tree walks
// cheap. The limit is the writer's policy, not part of the format: a
// decoder accepts inline data of any size.
const InlineLimit = 4 << 10

// DefaultFanout is the most entries a manifest block lists. At about 36
// bytes an entry, a full manifest is ~150 KiB, far below
// blockstore.MaxBlockSize (16 MiB); one leaf covers ~4 GiB of 1 MiB chunks,
// so files up to that size resolve any offset with the root alone, and two
// levels reach ~16 TiB. Much smaller blocks would add a level (a round
// trip) for files of a few GiB; larger ones make each edit of a big file
// rewrite a larger leaf.
const DefaultFanout = 4096

// ManifestKind says what a manifest lists.
type ManifestKind uint8

const (
	// KindInline: the manifest holds the file's bytes itself.
	KindInline ManifestKind = 1
	// KindLeaf: the manifest lists the file's chunks.
	KindLeaf ManifestKind = 2
	// KindNode: an interior node of the tree of a file too large for one
	// leaf; it lists manifests one level down.
	KindNode ManifestKind = 3
)

const (
	// maxLevel bounds a node's level, and so how far a reader descends:
	// trees of fanout 2 or more reach it only past 2^62 chunks.
	maxLevel = 62
	// minEntrySize is an entry's smallest encoding, to bound counts
	// before allocating.
	minEntrySize = len(blockstore.Ref{}) + 1
)

// ErrCorrupt reports file contents that are not what their manifests say:
// a manifest that does not decode or does not fit its place in the tree, or
// a chunk whose length is not the one its manifest lists. The blocks
// themselves are verified against their refs by the BlockGetter, so this
// means a bad writer, or a ref that does not name a manifest.
var ErrCorrupt = errors.New("fsys: corrupt content")

// ManifestEntry is one entry of a leaf (a chunk) or a node (a manifest).
type ManifestEntry struct {
	Ref  blockstore.Ref
	Size int64 // bytes of the file the block covers
}

// Manifest is a decoded manifest block.
type Manifest struct {
	Kind    ManifestKind
	Size    int64           // bytes of the file it covers
	Level   int             // KindNode only: 1 if the children are leaves, and so on up
	Data    []byte          // KindInline only
	Entries []ManifestEntry // KindLeaf and KindNode
}

// Validate checks what a decoder checks: the kind's fields are set and
// the others are not; a leaf lists at least one chunk of 1 to
// blockstore.MaxBlockSize bytes; a node lists at least one entry and has a
// level from 1 to 62; the entries' sizes add up to Size.
func (m *Manifest) Validate() error {
	if m.Size < 0 {
		return corruptf("manifest size %d", m.Size)
	}
	if m.Kind != KindNode && m.Level != 0 {
		return corruptf("kind %d manifest with level %d", m.Kind, m.Level)
	}
	switch m.Kind {
	case KindInline:
		if int64(len(m.Data)) != m.Size || len(m.Entries) != 0 {
			return corruptf("inline manifest: %d bytes, size %d, %d entries", len(m.Data), m.Size, len(m.Entries))
		}
		return nil
	case KindLeaf:
		if len(m.Entries) < 1 {
			return corruptf("leaf manifest lists no chunk")
		}
	case KindNode:
		if m.Level < 1 || m.Level > maxLevel || len(m.Entries) < 1 {
			return corruptf("node manifest: level %d, %d entries", m.Level, len(m.Entries))
		}
	default:
		return corruptf("unknown manifest kind %d", m.Kind)
	}
	if len(m.Data) != 0 {
		return corruptf("kind %d manifest with inline data", m.Kind)
	}
	var sum int64
	for i, e := range m.Entries {
		if e.Size < 1 || (m.Kind == KindLeaf && e.Size > blockstore.MaxBlockSize) {
			return corruptf("entry %d of kind %d manifest: size %d", i, m.Kind, e.Size)
		}
		if e.Size > m.Size-sum {
			return corruptf("entries of manifest exceed its size %d", m.Size)
		}
		sum += e.Size
	}
	if sum != m.Size {
		return corruptf("entries of manifest cover %d bytes, its size is %d", sum, m.Size)
	}
	return nil
}

// Marshal returns the manifest's encoding, or an error if it is not valid.
func (m *Manifest) Marshal() ([]byte, error) {
	if err := m.Validate(); err != nil {
		return nil, err
	}
	n := len(manifestMagic) + 2 + uvarintSize(uint64(m.Size)) + len(m.Data) + 2*binary.MaxVarintLen64
	for _, e := range m.Entries {
		n += len(e.Ref) + uvarintSize(uint64(e.Size))
	}
	b := make([]byte, 0, n)
	b = append(b, manifestMagic...)
	b = append(b, ManifestVersion, byte(m.Kind))
	b = binary.AppendUvarint(b, uint64(m.Size))
	if m.Kind == KindInline {
		return append(b, m.Data...), nil
	}
	if m.Kind == KindNode {
		b = binary.AppendUvarint(b, uint64(m.Level))
	}
	b = binary.AppendUvarint(b, uint64(len(m.Entries)))
	for _, e := range m.Entries {
		b = append(b, e.Ref[:]...)
		b = binary.AppendUvarint(b, uint64(e.Size))
	}
	return b, nil
}

// UnmarshalManifest decodes a manifest block. It rejects anything Marshal
// would not produce: a bad magic or version, truncation, trailing bytes,
// varints not in their shortest form, counts the input cannot hold, and
// manifests that fail Validate. Inline data aliases b.
func UnmarshalManifest(b []byte) (*Manifest, error) {
	if len(b) < len(manifestMagic)+2 || string(b[:len(manifestMagic)]) != manifestMagic {
		return nil, corruptf("not a manifest")
	}
	if v := b[len(manifestMagic)]; v != ManifestVersion {
		return nil, corruptf("manifest version %d, want %d", v, ManifestVersion)
	}
	m := &Manifest{Kind: ManifestKind(b[len(manifestMagic)+1])}
	d := decoder{b: b, off: len(manifestMagic) + 2}
	size := d.uvarint("size")
	if size > math.MaxInt64 {
		d.fail("size %d", size)
	}
	m.Size = int64(size)
	switch m.Kind {
	case KindInline:
		if d.err == nil && size != uint64(d.remaining()) {
			d.fail("inline size %d, %d bytes follow", size, d.remaining())
		}
		if d.err == nil && size > 0 {
			m.Data = b[d.off:len(b):len(b)]
			d.off = len(b)
		}
	case KindLeaf, KindNode:
		if m.Kind == KindNode {
			if l := d.uvarint("level"); l <= maxLevel {
				m.Level = int(l)
			} else {
				d.fail("level %d", l)
			}
		}
		n := d.count("entries")
		if d.err == nil {
			m.Entries = make([]ManifestEntry, n)
		}
		for i := range m.Entries {
			if d.err != nil {
				break
			}
			if d.remaining() < len(m.Entries[i].Ref) {
				d.fail("entry %d: truncated at offset %d", i, d.off)
				break
			}
			d.off += copy(m.Entries[i].Ref[:], b[d.off:])
			if s := d.uvarint("entry size"); s <= math.MaxInt64 {
				m.Entries[i].Size = int64(s)
			} else {
				d.fail("entry size %d", s)
			}
		}
	}
	if err := d.finish(); err != nil {
		return nil, err
	}
	if err := m.Validate(); err != nil {
		return nil, err
	}
	return m, nil
}

// buildTree returns the manifest blocks of a file of size bytes made of
// chunks (at least one), children before parents, and the root's ref: a
// leaf listing the chunks if there are at most fanout (>= 2) of them, else
// leaves of fanout chunks each (the last may hold fewer), then nodes of
// fanout manifests each, level by level, up to a root of at most fanout
// entries. Fixed groups rather than balanced ones keep an append from
// rewriting every leaf; content-defined groups would also spare the leaves
// after an insertion, but a leaf is ~150 KiB against the GiB of chunks it
// lists, so the simple rule is kept.
func buildTree(size int64, chunks []ManifestEntry, fanout int) ([][]byte, blockstore.Ref, error) {
	var blocks [][]byte
	entries := chunks
	m := Manifest{Kind: KindLeaf}
	for {
		if len(entries) <= fanout {
			m.Size, m.Entries = size, entries
			b, err := m.Marshal()
			if err != nil {
				return nil, blockstore.Ref{}, err
			}
			return append(blocks, b), blockstore.RefOf(b), nil
		}
		var up []ManifestEntry
		for group := range slices.Chunk(entries, fanout) {
			m.Size, m.Entries = 0, group
			for _, e := range group {
				m.Size += e.Size
			}
			b, err := m.Marshal()
			if err != nil {
				return nil, blockstore.Ref{}, err
			}
			blocks = append(blocks, b)
			up = append(up, ManifestEntry{Ref: blockstore.RefOf(b), Size: m.Size})
		}
		entries = up
		m.Kind, m.Level = KindNode, m.Level+1
	}
}

// Walking the tree: a Content resolves offsets to chunks through the
// manifests below its root, fetched as needed and cached.

// maxCachedNodes bounds the manifests a Content caches: 64 leaves of up
// to ~150 KiB, and the nodes above them.
const maxCachedNodes = 64

// node is a manifest and the end offset of each of its entries, relative
// to the start of what it covers.
type node struct {
	m    *Manifest
	ends []int64
}

func newNode(m *Manifest) *node {
	n := &node{m: m, ends: make([]int64, len(m.Entries))}
	var end int64
	for i, e := range m.Entries {
		end += e.Size
		n.ends[i] = end
	}
	return n
}

// span is one chunk of the file: where it starts, and its block (or, for
// an inline file, its bytes).
type span struct {
	off, size int64
	ref       blockstore.Ref
	inline    []byte
}

// spanAt returns the chunk holding byte off, 0 <= off < Size(), walking down
// the tree from the root.
func (c *Content) spanAt(off int64) (span, error) {
	n, base := c.root, int64(0)
	if n.m.Kind == KindInline {
		return span{size: n.m.Size, inline: n.m.Data}, nil
	}
	for {
		i, _ := slices.BinarySearch(n.ends, off-base+1)
		start := base
		if i > 0 {
			start += n.ends[i-1]
		}
		e := n.m.Entries[i]
		if n.m.Kind == KindLeaf {
			return span{off: start, size: e.Size, ref: e.Ref}, nil
		}
		child, err := c.node(e, n.m.Level-1)
		if err != nil {
			return span{}, err
		}
		n, base = child, start
	}
}

// node returns the manifest e names, checking that it is what its parent
// says: a leaf (level 0) or a node of the given level, covering e.Size.
func (c *Content) node(e ManifestEntry, level int) (*node, error) {
	c.mu.Lock()
	n := c.mu.nodes[e.Ref]
	c.mu.Unlock()
	if n != nil {
		return n, nil
	}
	b, err := c.get.Get(c.ctx, e.Ref)
	if err != nil {
		return nil, fmt.Errorf("fsys: manifest %s: %w", e.Ref, err)
	}
	m, err := UnmarshalManifest(b)
	if err != nil {
		return nil, fmt.Errorf("fsys: manifest %s: %w", e.Ref, err)
	}
	fits := m.Kind == KindLeaf && level == 0 || m.Kind == KindNode && m.Level == level
	if !fits || m.Size != e.Size {
		return nil, fmt.Errorf("fsys: manifest %s: %w: kind %d level %d size %d where its parent expects level %d size %d",
			e.Ref, ErrCorrupt, m.Kind, m.Level, m.Size, level, e.Size)
	}
	n = newNode(m)
	c.mu.Lock()
	if len(c.mu.nodes) >= maxCachedNodes {
		clear(c.mu.nodes) // crude, but refilled one block per level
	}
	c.mu.nodes[e.Ref] = n
	c.mu.Unlock()
	return n, nil
}

func corruptf(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrCorrupt}, args...)...)
}

func uvarintSize(v uint64) int { return (bits.Len64(v|1) + 6) / 7 }

// decoder reads uvarints with strict bounds checks, in the manner of
// raftpb's. The first error sticks; later reads return zero.
type decoder struct {
	b   []byte
	off int
	err error
}

func (d *decoder) fail(format string, args ...any) {
	if d.err == nil {
		d.err = corruptf("manifest: "+format, args...)
	}
}

func (d *decoder) remaining() int { return len(d.b) - d.off }

func (d *decoder) uvarint(field string) uint64 {
	if d.err != nil {
		return 0
	}
	v, n := binary.Uvarint(d.b[d.off:])
	switch {
	case n <= 0:
		d.fail("%s: bad varint at offset %d", field, d.off)
		return 0
	case n > 1 && d.b[d.off+n-1] == 0:
		d.fail("%s: non-minimal varint at offset %d", field, d.off)
		return 0
	}
	d.off += n
	return v
}

// count reads an entry count and checks that the rest of the input can
// hold that many entries, so a forged count never allocates much.
func (d *decoder) count(field string) int {
	n := d.uvarint(field)
	if d.err == nil && n > uint64(d.remaining()/minEntrySize) {
		d.fail("%s: count %d exceeds remaining %d bytes", field, n, d.remaining())
		return 0
	}
	return int(n)
}

func (d *decoder) finish() error {
	if d.err == nil && d.off != len(d.b) {
		d.fail("%d trailing bytes", len(d.b)-d.off)
	}
	return d.err
}
