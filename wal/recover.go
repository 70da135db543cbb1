package wal

import (
	"cmp"
	"fmt"
	"log/slog"
	"path/filepath"
	"slices"
	"strings"

	"github.com/puddlestore/puddlestore/raft/raftpb"
)

// replay is the log rebuilt from the segments, before a snapshot is chosen.
type replay struct {
	known    bool // whether first is known: false, when leading segments were released, until the first batch
	floating bool // leading segments were released: the log's start is not known
	first    uint64
	ents     []raftpb.Entry // first..lastIndex
	hs       raftpb.HardState
	marker   *raftpb.SnapshotMetadata // the newest snapshot marker
	segs     []segment
	tail     int // valid length of the last segment
	damaged  bool
}

func (r *replay) lastIndex() uint64 { return r.first + uint64(len(r.ents)) - 1 }

// Open opens the log in opts.Dir, creating it if absent, and returns what it
// recovered. A torn write at the end of the last segment (never acknowledged,
// since Save returns only after fsync) is truncated away and logged; any
// other damage returns ErrCorrupt.
func Open(opts Options) (*WAL, *State, error) {
	w := &WAL{fs: opts.FS, dir: filepath.Clean(opts.Dir), segSize: opts.SegmentBytes, log: opts.Logger}
	if w.fs == nil {
		w.fs = OSFS{}
	}
	if w.segSize <= 0 {
		w.segSize = DefaultSegmentBytes
	}
	if w.log == nil {
		w.log = slog.New(slog.DiscardHandler)
	}
	if err := w.fs.MkdirAll(w.dir); err != nil {
		return nil, nil, fmt.Errorf("wal: open %s: %w", w.dir, err)
	}
	names, err := w.fs.ReadDir(w.dir)
	if err != nil {
		return nil, nil, fmt.Errorf("wal: open %s: %w", w.dir, err)
	}
	var segs []segment
	var snaps [][2]uint64 // index, term
	for _, name := range names {
		if seq, _, ok := parseSegmentName(name); ok {
			segs = append(segs, segment{seq: seq, name: name})
		} else if idx, term, ok := parseSnapshotName(name); ok {
			snaps = append(snaps, [2]uint64{idx, term})
		} else if strings.HasSuffix(name, ".snap.tmp") {
			w.fs.Remove(filepath.Join(w.dir, name)) // an interrupted SaveSnapshot
		}
	}
	if len(segs) == 0 {
		if len(snaps) > 0 {
			return nil, nil, fmt.Errorf("%w: %s has snapshots but no log", ErrCorrupt, w.dir)
		}
		return w.create()
	}
	r, err := w.replaySegments(segs)
	if err != nil {
		return nil, nil, err
	}
	st, err := w.chooseSnapshot(r, snaps)
	if err != nil {
		return nil, nil, err
	}
	if err := w.openTail(r); err != nil {
		return nil, nil, err
	}
	w.mu.segs = r.segs
	w.mu.hs = r.hs
	w.mu.snap = st.Snapshot.Metadata.Index
	w.mu.first = w.mu.snap + 1
	w.mu.terms = make([]uint64, len(st.Entries))
	for i := range st.Entries {
		w.mu.terms[i] = st.Entries[i].Term
	}
	return w, st, nil
}

// create starts an empty log.
func (w *WAL) create() (*WAL, *State, error) {
	seg := segment{seq: 0, name: segmentName(0, 1)}
	f, err := w.createSegment(seg.name)
	if err != nil {
		return nil, nil, err
	}
	w.mu.f = f
	w.mu.segs = []segment{seg}
	w.mu.first = 1
	return w, &State{}, nil
}

func (w *WAL) replaySegments(segs []segment) (*replay, error) {
	r := &replay{segs: segs, known: segs[0].seq == 0, floating: segs[0].seq != 0, first: 1}
	for i := range segs {
		if i > 0 && segs[i].seq != segs[i-1].seq+1 {
			return nil, fmt.Errorf("%w: segment %d missing before %s", ErrCorrupt, segs[i-1].seq+1, segs[i].name)
		}
		b, err := w.fs.ReadFile(filepath.Join(w.dir, segs[i].name))
		if err != nil {
			return nil, fmt.Errorf("wal: read %s: %w", segs[i].name, err)
		}
		off := 0
		for off < len(b) {
			typ, payload, next, ok := readRecord(b, off)
			if !ok {
				break
			}
			if err := r.apply(typ, payload, &segs[i]); err != nil {
				return nil, fmt.Errorf("%w: %s at offset %d: %w", ErrCorrupt, segs[i].name, off, err)
			}
			off = next
		}
		if off == len(b) {
			r.tail = off
			continue
		}
		if i < len(segs)-1 || validRecordAfter(b, off) {
			return nil, fmt.Errorf("%w: %s: damaged record at offset %d of %d", ErrCorrupt, segs[i].name, off, len(b))
		}
		r.tail, r.damaged = off, true
		w.log.Warn("wal: truncating torn write at end of log", "segment", segs[i].name, "offset", off, "bytes", len(b)-off)
	}
	if !r.known && r.marker != nil {
		// No entries since the released part: the log ends at the marker.
		r.known, r.first = true, r.marker.Index+1
	}
	return r, nil
}

func (r *replay) apply(typ byte, payload []byte, seg *segment) error {
	if typ == recSnapshot {
		var md raftpb.SnapshotMetadata
		if err := md.Unmarshal(payload); err != nil {
			return err
		}
		if r.marker != nil && md.Index <= r.marker.Index {
			return fmt.Errorf("snapshot marker %d after %d", md.Index, r.marker.Index)
		}
		r.marker = &md
		if !r.known {
			// Leading segments were released: the entries after the marker
			// may be there or in the released part; the next batch says.
			return nil
		}
		if i := md.Index - r.first; r.known && md.Index >= r.first && i < uint64(len(r.ents)) && r.ents[i].Term == md.Term {
			return nil // the log continues the snapshot
		}
		if md.Index < r.first {
			// The entry at md.Index is in released segments (it existed, or
			// the entries after it could not have been written): nothing
			// to check, and the log continues.
			return nil
		}
		r.known, r.first, r.ents = true, md.Index+1, nil
		return nil
	}
	b, err := decodeBatch(payload)
	if err != nil {
		return err
	}
	if b.hs != nil {
		r.hs = *b.hs
	}
	if len(b.ents) == 0 {
		return nil
	}
	if !r.known || (r.floating && b.first < r.first) {
		// The entries before b.first, if any, are in released segments;
		// overwriting them is fine until a snapshot marker covers them.
		r.known, r.first, r.ents = true, b.first, r.ents[:0]
	}
	if b.first < r.first || b.first > r.lastIndex()+1 || (r.marker != nil && b.first <= r.marker.Index) {
		return fmt.Errorf("entries start at %d, log holds %d..%d", b.first, r.first, r.lastIndex())
	}
	r.ents = append(r.ents[:b.first-r.first], b.ents...)
	seg.maxIndex = max(seg.maxIndex, r.lastIndex())
	return nil
}

// chooseSnapshot picks the newest snapshot the log continues: the one the
// newest marker names, or, if its file is damaged, an older valid one whose
// following entries are all still in the log.
func (w *WAL) chooseSnapshot(r *replay, files [][2]uint64) (*State, error) {
	if r.marker == nil {
		if !r.known && r.segs[0].seq != 0 {
			return nil, fmt.Errorf("%w: leading segments released but no snapshot marker", ErrCorrupt)
		}
		w.removeUnmarked(files, 0)
		return &State{HardState: r.hs, Entries: r.ents}, nil
	}
	m := r.marker
	w.removeUnmarked(files, m.Index)
	slices.SortFunc(files, func(a, b [2]uint64) int { return cmp.Compare(b[0], a[0]) })
	for _, f := range files {
		idx, term := f[0], f[1]
		if idx > m.Index || (idx == m.Index && term != m.Term) {
			continue
		}
		if idx+1 < r.first || idx > r.lastIndex() {
			continue // the log does not continue this snapshot
		}
		if i := idx - r.first; idx >= r.first && r.ents[i].Term != term {
			continue
		}
		s, err := readSnapshotFile(w.fs, w.dir, idx, term)
		if err != nil {
			w.log.Warn("wal: skipping damaged snapshot", "err", err)
			continue
		}
		if idx != m.Index {
			w.log.Warn("wal: newest snapshot unusable, falling back", "want", m.Index, "using", idx)
		}
		for _, g := range files {
			if g[0] <= m.Index { // damaged ones too, so release deletes them
				w.mu.snaps = append(w.mu.snaps, g[0])
			}
		}
		slices.Sort(w.mu.snaps)
		w.mu.snaps = slices.Compact(w.mu.snaps)
		ents := r.ents[idx+1-r.first:]
		if len(ents) == 0 {
			ents = nil
		}
		return &State{HardState: r.hs, Snapshot: s, Entries: ents}, nil
	}
	return nil, fmt.Errorf("%w: no usable snapshot for marker at index %d term %d", ErrCorrupt, m.Index, m.Term)
}

// removeUnmarked deletes snapshot files newer than the newest marker: an
// interrupted SaveSnapshot that never acknowledged them.
func (w *WAL) removeUnmarked(files [][2]uint64, marked uint64) {
	for _, f := range files {
		if f[0] > marked {
			w.fs.Remove(filepath.Join(w.dir, snapshotName(f[0], f[1])))
		}
	}
}

// openTail opens the last segment for appending, first cutting off a torn
// write so new records follow the last valid one.
func (w *WAL) openTail(r *replay) error {
	last := r.segs[len(r.segs)-1]
	f, err := w.fs.OpenAppend(filepath.Join(w.dir, last.name))
	if err != nil {
		return fmt.Errorf("wal: open %s: %w", last.name, err)
	}
	if r.damaged {
		err = f.Truncate(int64(r.tail))
		if err == nil {
			err = f.Sync()
		}
		if err != nil {
			f.Close()
			return fmt.Errorf("wal: truncate %s: %w", last.name, err)
		}
	}
	w.mu.f, w.mu.size = f, int64(r.tail)
	return nil
}
