package fsys

import (
	"bytes"
	"encoding/binary"
	"errors"
	"math"
	"testing"

	"github.com/puddlestore/puddlestore/blockstore"
)

func ref(b byte) blockstore.Ref { return blockstore.RefOf([]byte{b}) }

func sampleManifests() map[string]Manifest {
	return map[string]Manifest{
		"empty":  {Kind: KindInline},
		"inline": {Kind: KindInline, Size: 5, Data: []byte("hello")},
		"leaf":   {Kind: KindLeaf, Size: 300, Entries: []ManifestEntry{{ref(1), 100}, {ref(2), 200}}},
		"leaf max chunk": {Kind: KindLeaf, Size: blockstore.MaxBlockSize,
			Entries: []ManifestEntry{{ref(1), blockstore.MaxBlockSize}}},
		"node": {Kind: KindNode, Size: 1 << 40, Level: 1,
			Entries: []ManifestEntry{{ref(3), 1<<40 - 1}, {ref(4), 1}}},
		"node one entry": {Kind: KindNode, Size: 7, Level: 62, Entries: []ManifestEntry{{ref(5), 7}}},
		"node max size": {Kind: KindNode, Size: math.MaxInt64, Level: 2,
			Entries: []ManifestEntry{{ref(3), math.MaxInt64 - 1}, {ref(4), 1}}},
	}
}

func TestManifestRoundTrip(t *testing.T) {
	for name, m := range sampleManifests() {
		b, err := m.Marshal()
		if err != nil {
			t.Fatalf("%s: Marshal: %v", name, err)
		}
		got, err := UnmarshalManifest(b)
		if err != nil {
			t.Fatalf("%s: Unmarshal(%x): %v", name, b, err)
		}
		again, _ := got.Marshal()
		if !bytes.Equal(again, b) || got.Kind != m.Kind || got.Size != m.Size || got.Level != m.Level ||
			!bytes.Equal(got.Data, m.Data) || len(got.Entries) != len(m.Entries) {
			t.Fatalf("%s: round trip gave %+v, %x; want %+v, %x", name, got, again, m, b)
		}
		for i := range m.Entries {
			if got.Entries[i] != m.Entries[i] {
				t.Fatalf("%s: entry %d = %v, want %v", name, i, got.Entries[i], m.Entries[i])
			}
		}
		// Every proper prefix is truncated, and a trailing byte is extra.
		for n := range len(b) {
			if _, err := UnmarshalManifest(b[:n]); !errors.Is(err, ErrCorrupt) {
				t.Fatalf("%s: prefix of %d of %d bytes: err %v, want ErrCorrupt", name, n, len(b), err)
			}
		}
		if _, err := UnmarshalManifest(append(b[:len(b):len(b)], 0)); !errors.Is(err, ErrCorrupt) {
			t.Fatalf("%s: trailing byte: err %v, want ErrCorrupt", name, err)
		}
	}
}

func TestManifestEncoding(t *testing.T) {
	m := Manifest{Kind: KindLeaf, Size: 300, Entries: []ManifestEntry{{ref(1), 300}}}
	b, _ := m.Marshal()
	r := ref(1)
	want := append([]byte("PSM\x01\x02\xac\x02\x01"), r[:]...)
	want = append(want, 0xac, 0x02)
	if !bytes.Equal(b, want) {
		t.Fatalf("encoding %x, want %x", b, want)
	}
}

func TestManifestInvalid(t *testing.T) {
	r := ref(1)
	entry := func(size uint64) []byte { return binary.AppendUvarint(append([]byte(nil), r[:]...), size) }
	cat := func(parts ...[]byte) []byte { return bytes.Join(parts, nil) }
	hdr := func(kind byte, size ...byte) []byte { return cat([]byte("PSM\x01"), []byte{kind}, size) }
	tests := map[string][]byte{
		"empty":                {},
		"bad magic":            []byte("PSX\x01\x01\x00"),
		"version 2":            []byte("PSM\x02\x01\x00"),
		"unknown kind":         hdr(4, 0),
		"kind 0":               hdr(0, 0),
		"inline short":         cat(hdr(1, 3), []byte("ab")),
		"inline long":          cat(hdr(1, 1), []byte("ab")),
		"non-minimal size":     cat(hdr(1, 0x81, 0x00), []byte("a")),
		"size over int64":      cat(hdr(2, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01), []byte{1}, entry(1)),
		"varint overflow":      cat(hdr(2, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f)),
		"leaf no chunks":       cat(hdr(2, 0), []byte{0}),
		"leaf sum short":       cat(hdr(2, 5), []byte{1}, entry(4)),
		"leaf sum long":        cat(hdr(2, 5), []byte{2}, entry(4), entry(4)),
		"leaf zero chunk":      cat(hdr(2, 5), []byte{2}, entry(5), entry(0)),
		"leaf chunk too big":   cat(hdr(2), binary.AppendUvarint(nil, blockstore.MaxBlockSize+1), []byte{1}, entry(blockstore.MaxBlockSize+1)),
		"forged count":         cat(hdr(2, 5), []byte{0xff, 0xff, 0x03}, entry(5)),
		"count one too many":   cat(hdr(2, 5), []byte{2}, entry(5)),
		"entry ref truncated":  cat(hdr(2, 5), []byte{1}, r[:31]),
		"node level 0":         cat(hdr(3, 5), []byte{0, 1}, entry(5)),
		"node level 63":        cat(hdr(3, 5), []byte{63, 1}, entry(5)),
		"node no entries":      cat(hdr(3, 0), []byte{1, 0}),
		"node non-minimal lvl": cat(hdr(3, 5), []byte{0x81, 0x00, 1}, entry(5)),
		"node sum wraps":       cat(hdr(3, 1), []byte{1, 2}, entry(math.MaxInt64), entry(2)),
	}
	for name, b := range tests {
		if m, err := UnmarshalManifest(b); !errors.Is(err, ErrCorrupt) {
			t.Errorf("%s: Unmarshal(%x) = %+v, %v; want ErrCorrupt", name, b, m, err)
		}
	}
	bad := []Manifest{
		{Kind: KindInline, Size: 2, Data: []byte("a")},
		{Kind: KindInline, Size: 1, Data: []byte("a"), Level: 1},
		{Kind: KindLeaf, Size: 1, Data: []byte("a"), Entries: []ManifestEntry{{r, 1}}},
		{Kind: KindLeaf, Size: -1},
		{Kind: KindInline, Data: nil, Entries: []ManifestEntry{{r, 1}}},
	}
	for _, m := range bad {
		if _, err := m.Marshal(); !errors.Is(err, ErrCorrupt) {
			t.Errorf("Marshal(%+v): err %v, want ErrCorrupt", m, err)
		}
	}
}

// TestBuildTree: the tree's shape for small fanouts, and that walking it
// from the root finds every chunk in order.
func TestBuildTree(t *testing.T) {
	tests := []struct {
		chunks, fanout int
		blocks, level  int // manifests, root level
	}{
		{1, 2, 1, 0},
		{2, 2, 1, 0},
		{3, 2, 3, 1},         // leaves of 2 and 1, a root node
		{5, 2, 3 + 2 + 1, 2}, // leaves 2,2,1; nodes 2,1; root
		{9, 3, 3 + 1, 1},
		{10, 3, 4 + 2 + 1, 2},
		{4096, 4096, 1, 0},
		{4097, 4096, 2 + 1, 1},
	}
	for _, tt := range tests {
		var chunks []ManifestEntry
		var size int64
		for i := range tt.chunks {
			chunks = append(chunks, ManifestEntry{ref(byte(i)), int64(i + 1)})
			size += int64(i + 1)
		}
		blocks, root, err := buildTree(size, chunks, tt.fanout)
		if err != nil {
			t.Fatal(err)
		}
		store := map[blockstore.Ref]*Manifest{}
		for _, b := range blocks {
			m, err := UnmarshalManifest(b)
			if err != nil {
				t.Fatal(err)
			}
			if len(m.Entries) > tt.fanout {
				t.Fatalf("%d chunks, fanout %d: a manifest lists %d", tt.chunks, tt.fanout, len(m.Entries))
			}
			store[blockstore.RefOf(b)] = m
		}
		if len(blocks) != tt.blocks || store[root] == nil || store[root].Level != tt.level ||
			root != blockstore.RefOf(blocks[len(blocks)-1]) {
			t.Fatalf("%d chunks, fanout %d: %d blocks, root level %v; want %d, %d, root last",
				tt.chunks, tt.fanout, len(blocks), store[root], tt.blocks, tt.level)
		}
		var walk func(m *Manifest) []ManifestEntry
		walk = func(m *Manifest) []ManifestEntry {
			if m.Kind == KindLeaf {
				return m.Entries
			}
			var out []ManifestEntry
			for _, e := range m.Entries {
				out = append(out, walk(store[e.Ref])...)
			}
			return out
		}
		got := walk(store[root])
		if len(got) != len(chunks) {
			t.Fatalf("%d chunks, fanout %d: tree lists %d", tt.chunks, tt.fanout, len(got))
		}
		for i := range got {
			if got[i] != chunks[i] {
				t.Fatalf("%d chunks, fanout %d: chunk %d is %v, want %v", tt.chunks, tt.fanout, i, got[i], chunks[i])
			}
		}
	}
}

// FuzzManifestDecode: decoding never panics, and whatever decodes
// re-encodes to exactly the input (the encoding is canonical).
func FuzzManifestDecode(f *testing.F) {
	for _, m := range sampleManifests() {
		b, _ := m.Marshal()
		f.Add(b)
	}
	f.Add([]byte("PSM\x01\x03\x05\x01\xff\xff\x03"))
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := UnmarshalManifest(b)
		if err != nil {
			if !errors.Is(err, ErrCorrupt) {
				t.Fatalf("error %v does not wrap ErrCorrupt", err)
			}
			return
		}
		got, err := m.Marshal()
		if err != nil || !bytes.Equal(got, b) {
			t.Fatalf("re-encoding: %v\n in %x\nout %x", err, b, got)
		}
	})
}
