package wal

import (
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"sync"

	"github.com/puddlestore/puddlestore/raft/raftpb"
)

var (
	// ErrCorrupt means the log or snapshots are damaged in a way recovery
	// must not guess about: Open refuses to start.
	ErrCorrupt = errors.New("wal: corrupt")
	// ErrClosed is returned by methods called after Close.
	ErrClosed = errors.New("wal: closed")
	// ErrInvalid is returned for arguments that break the log's rules
	// (non-contiguous entries, overwriting entries covered by a snapshot).
	ErrInvalid = errors.New("wal: invalid argument")
	// ErrFailed is returned after a write or fsync failed: what reached the
	// disk is unknown, so the WAL accepts nothing more; reopen it.
	ErrFailed = errors.New("wal: failed")
)

// DefaultSegmentBytes is the segment size used when Options.SegmentBytes is 0.
const DefaultSegmentBytes = 64 << 20

// Options configures Open.
type Options struct {
	// Dir holds the segments and snapshots; it is created if absent.
	Dir string
	// SegmentBytes is the size in bytes past which a new segment is started
	// (a segment may exceed it by one Save). 0 means DefaultSegmentBytes.
	SegmentBytes int64
	// FS is the file system; nil means the operating system's (OSFS).
	FS FS
	// Logger receives recovery events (torn tails, snapshot fallbacks);
	// nil discards them.
	Logger *slog.Logger
}

// State is what Open recovered.
type State struct {
	HardState raftpb.HardState
	// Snapshot is the newest valid snapshot, with its data, or empty.
	Snapshot raftpb.Snapshot
	// Entries follow the snapshot in index order, overwrites resolved.
	Entries []raftpb.Entry
}

// segment is one log file.
type segment struct {
	seq      uint64
	name     string
	maxIndex uint64 // largest entry index written to it
}

// WAL is an open write-ahead log. Its methods are safe for concurrent use,
// though a raft driver calls them from one goroutine.
type WAL struct {
	fs      FS
	dir     string
	segSize int64
	log     *slog.Logger

	mu struct {
		sync.Mutex
		f      File      // the last segment, open for appending
		size   int64     // bytes in the last segment
		segs   []segment // oldest first; the last is f
		first  uint64    // index of terms[0]: entries before it are in a snapshot
		terms  []uint64  // terms of the entries first..lastIndex
		snap   uint64    // index of the newest snapshot, 0 if none
		snaps  []uint64  // indexes of snapshot files kept, oldest first
		hs     raftpb.HardState
		buf    []byte // reused record buffer
		err    error  // sticky failure
		closed bool
		dirty  bool // the last segment holds writes no fsync has covered yet
	}
}

func (w *WAL) lastIndexLocked() uint64 { return w.mu.first + uint64(len(w.mu.terms)) - 1 }

// checkLocked returns the error every call must return once closed or
// failed.
func (w *WAL) checkLocked() error {
	if w.mu.closed {
		return ErrClosed
	}
	if w.mu.err != nil {
		return fmt.Errorf("%w: %w", ErrFailed, w.mu.err)
	}
	return nil
}

// Save appends hs and ents durably: it returns only after one fsync covers
// the whole batch (group commit). An empty hs means unchanged. A batch
// that only advances the commit index is written but not synced: Raft
// needs the term, the vote and the entries durable, never the commit index
// (a restarted node learns it again from the leader; raft's doc,
// "Membership", says why a stale one is safe), and so the leader's and
// the followers' per-round commit updates cost no fsync. The next synced
// batch, a segment roll or Close makes it durable with everything before. If
// ents[0].Index is at most the last index, the log's suffix from that index
// is replaced (Raft §5.3); ents must be contiguous and start after the
// newest snapshot and at most one past the last index.
func (w *WAL) Save(hs raftpb.HardState, ents []raftpb.Entry) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if err := w.checkLocked(); err != nil {
		return err
	}
	if err := w.checkEntriesLocked(ents); err != nil {
		return err
	}
	if hs.IsEmpty() {
		hs = w.mu.hs
	}
	if len(ents) == 0 && hs == w.mu.hs {
		return nil
	}
	if err := w.rollIfFullLocked(); err != nil {
		return err
	}
	var hsp *raftpb.HardState
	if hs != w.mu.hs || w.mu.size == 0 { // each segment restates the hard state
		hsp = &hs
	}
	buf, err := appendBatch(w.mu.buf[:0], hsp, ents)
	if err != nil {
		return err
	}
	w.mu.buf = buf
	sync := len(ents) > 0 || hs.Term != w.mu.hs.Term || hs.Vote != w.mu.hs.Vote
	if err := w.writeLocked(buf, sync); err != nil {
		return err
	}
	w.mu.hs = hs
	if len(ents) > 0 {
		f := ents[0].Index
		w.mu.terms = w.mu.terms[:f-w.mu.first]
		for i := range ents {
			w.mu.terms = append(w.mu.terms, ents[i].Term)
		}
		seg := &w.mu.segs[len(w.mu.segs)-1]
		seg.maxIndex = max(seg.maxIndex, w.lastIndexLocked())
	}
	return nil
}

func (w *WAL) checkEntriesLocked(ents []raftpb.Entry) error {
	if len(ents) == 0 {
		return nil
	}
	f := ents[0].Index
	if f < w.mu.first || f > w.lastIndexLocked()+1 {
		return fmt.Errorf("%w: entries start at %d, want %d..%d", ErrInvalid, f, w.mu.first, w.lastIndexLocked()+1)
	}
	for i := 1; i < len(ents); i++ {
		if ents[i].Index != ents[i-1].Index+1 {
			return fmt.Errorf("%w: entry %d follows %d", ErrInvalid, ents[i].Index, ents[i-1].Index)
		}
	}
	return nil
}

// writeLocked appends buf to the last segment with one write, and one
// fsync if sync. A failure makes the WAL unusable: the segment may hold
// part of buf.
func (w *WAL) writeLocked(buf []byte, sync bool) error {
	if _, err := w.mu.f.Write(buf); err != nil {
		w.mu.err = err
		return fmt.Errorf("%w: write %s: %w", ErrFailed, w.mu.segs[len(w.mu.segs)-1].name, err)
	}
	w.mu.size += int64(len(buf))
	w.mu.dirty = true
	if sync {
		return w.syncLocked()
	}
	return nil
}

// syncLocked makes every write to the last segment durable.
func (w *WAL) syncLocked() error {
	if !w.mu.dirty {
		return nil
	}
	if err := w.mu.f.Sync(); err != nil {
		w.mu.err = err
		return fmt.Errorf("%w: sync %s: %w", ErrFailed, w.mu.segs[len(w.mu.segs)-1].name, err)
	}
	w.mu.dirty = false
	return nil
}

// rollIfFullLocked starts a new segment once the last one is full. The old
// segment is synced first, so only the last segment ever has a torn tail.
func (w *WAL) rollIfFullLocked() error {
	if w.mu.size < w.segSize {
		return nil
	}
	if err := w.syncLocked(); err != nil {
		return err
	}
	last := w.mu.segs[len(w.mu.segs)-1]
	seg := segment{seq: last.seq + 1, name: segmentName(last.seq+1, w.lastIndexLocked()+1)}
	f, err := w.createSegment(seg.name)
	if err != nil {
		return err // nothing changed: the old segment stays in use
	}
	if err := w.mu.f.Close(); err != nil {
		w.log.Warn("wal: closing full segment failed", "segment", last.name, "err", err)
	}
	w.mu.f, w.mu.size, w.mu.dirty = f, 0, false
	w.mu.segs = append(w.mu.segs, seg)
	return nil
}

// createSegment creates an empty segment and makes its name durable.
func (w *WAL) createSegment(name string) (File, error) {
	path := filepath.Join(w.dir, name)
	f, err := w.fs.Create(path)
	if err != nil {
		return nil, fmt.Errorf("wal: create %s: %w", name, err)
	}
	if err := w.fs.SyncDir(w.dir); err != nil {
		f.Close()
		w.fs.Remove(path)
		return nil, fmt.Errorf("wal: sync dir for %s: %w", name, err)
	}
	return f, nil
}

// Close closes the WAL. Every entry, term and vote Save returned for is
// already durable; Close syncs the last commit index too.
func (w *WAL) Close() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.mu.closed {
		return ErrClosed
	}
	w.mu.closed = true
	if w.mu.err == nil {
		if err := w.syncLocked(); err != nil {
			w.mu.f.Close()
			return err
		}
	}
	if err := w.mu.f.Close(); err != nil {
		return fmt.Errorf("wal: close: %w", err)
	}
	return nil
}

func segmentName(seq, first uint64) string { return fmt.Sprintf("%016x-%016x.wal", seq, first) }

func snapshotName(index, term uint64) string { return fmt.Sprintf("%016x-%016x.snap", index, term) }
