package wal

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"path/filepath"
	"slices"

	"github.com/puddlestore/puddlestore/raft/raftpb"
)

// A snapshot file, named snapshotName(index, term), holds the encoded
// raftpb.Snapshot followed by the CRC-32C of those bytes (4 bytes LE).

// SaveSnapshot stores s durably: PrepareSnapshot, then CommitSnapshot.
func (w *WAL) SaveSnapshot(s raftpb.Snapshot) error {
	if err := w.PrepareSnapshot(s); err != nil {
		return err
	}
	return w.CommitSnapshot(s.Metadata)
}

// PrepareSnapshot makes the snapshot file of s durable: it writes a
// temporary file, fsyncs it, renames it into place and fsyncs the
// directory. It does not hold the log's lock while it writes, so a driver
// can write a large snapshot on another goroutine while Save goes on. The
// file counts for nothing until CommitSnapshot names it in the log.
func (w *WAL) PrepareSnapshot(s raftpb.Snapshot) error {
	w.mu.Lock()
	err := w.checkSnapshotLocked(s.Metadata)
	w.mu.Unlock()
	if err != nil {
		return err
	}
	return w.writeSnapshotFile(&s)
}

func (w *WAL) checkSnapshotLocked(md raftpb.SnapshotMetadata) error {
	if err := w.checkLocked(); err != nil {
		return err
	}
	if md.Index == 0 || md.Index < w.mu.snap {
		return fmt.Errorf("%w: snapshot at %d, newest is %d", ErrInvalid, md.Index, w.mu.snap)
	}
	return nil
}

// CommitSnapshot appends the marker of a snapshot that PrepareSnapshot made
// durable (one write, one fsync), so a marker always names a complete
// snapshot. Entries up to md.Index are no longer needed afterwards: if the
// log's entry at that index has md's term the entries after it are kept,
// otherwise the log restarts after it (a follower installing a leader's
// snapshot). Segments holding only entries covered by the previous
// snapshot are then deleted, and snapshots older than it: one snapshot
// interval is kept so a damaged newest snapshot can fall back.
func (w *WAL) CommitSnapshot(md raftpb.SnapshotMetadata) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if err := w.checkSnapshotLocked(md); err != nil {
		return err
	}
	if md.Index == w.mu.snap {
		return nil // already saved
	}
	if err := w.rollIfFullLocked(); err != nil {
		return err
	}
	buf := w.mu.buf[:0]
	var err error
	if w.mu.size == 0 && !w.mu.hs.IsEmpty() { // each segment restates the hard state
		if buf, err = appendBatch(buf, &w.mu.hs, nil); err != nil {
			return err
		}
	}
	if buf, err = appendSnapshotMarker(buf, &md); err != nil {
		return err
	}
	w.mu.buf = buf
	if err := w.writeLocked(buf, true); err != nil {
		return err
	}
	prev := w.mu.snap
	w.mu.snap = md.Index
	w.mu.snaps = append(w.mu.snaps, md.Index)
	if i := md.Index - w.mu.first; md.Index >= w.mu.first && i < uint64(len(w.mu.terms)) && w.mu.terms[i] == md.Term {
		w.mu.terms = slices.Clone(w.mu.terms[i+1:])
	} else {
		w.mu.terms = nil
	}
	w.mu.first = md.Index + 1
	w.releaseLocked(prev)
	return nil
}

// snapshotSyncBytes is how much of a snapshot file is written between
// fsyncs.
const snapshotSyncBytes = 2 << 20

// writeSnapshotFile makes the snapshot file durable under its final name.
func (w *WAL) writeSnapshotFile(s *raftpb.Snapshot) error {
	name := snapshotName(s.Metadata.Index, s.Metadata.Term)
	path := filepath.Join(w.dir, name)
	tmp := path + ".tmp"
	b := s.AppendMarshal(make([]byte, 0, s.Size()+4))
	b = binary.LittleEndian.AppendUint32(b, crc32.Checksum(b, castagnoli))
	f, err := w.fs.Create(tmp)
	if err != nil {
		return fmt.Errorf("wal: snapshot %s: %w", name, err)
	}
	// Write and sync in slices: one fsync of a whole large file makes the
	// file system flush it all at once, and the log's own fsyncs (which
	// acknowledge writes) would queue behind that burst.
	for len(b) > 0 && err == nil {
		n := min(len(b), snapshotSyncBytes)
		if _, err = f.Write(b[:n]); err == nil {
			err = f.Sync()
		}
		b = b[n:]
	}
	if err == nil {
		err = f.Sync() // an empty file, too
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = w.fs.Rename(tmp, path)
	}
	if err == nil {
		err = w.fs.SyncDir(w.dir)
	}
	if err != nil {
		w.fs.Remove(tmp)
		return fmt.Errorf("wal: snapshot %s: %w", name, err)
	}
	return nil
}

// readSnapshotFile reads and checks a snapshot file; any damage is
// reported as ErrCorrupt.
func readSnapshotFile(fsys FS, dir string, index, term uint64) (raftpb.Snapshot, error) {
	var s raftpb.Snapshot
	name := snapshotName(index, term)
	b, err := fsys.ReadFile(filepath.Join(dir, name))
	if err != nil {
		return s, fmt.Errorf("wal: snapshot %s: %w", name, err)
	}
	if len(b) < 4 {
		return s, fmt.Errorf("%w: snapshot %s: %d bytes", ErrCorrupt, name, len(b))
	}
	body := b[:len(b)-4]
	if crc32.Checksum(body, castagnoli) != binary.LittleEndian.Uint32(b[len(b)-4:]) {
		return s, fmt.Errorf("%w: snapshot %s: checksum mismatch", ErrCorrupt, name)
	}
	if err := s.Unmarshal(body); err != nil {
		return s, fmt.Errorf("%w: snapshot %s: %w", ErrCorrupt, name, err)
	}
	if s.Metadata.Index != index || s.Metadata.Term != term {
		return s, fmt.Errorf("%w: snapshot %s holds index %d term %d", ErrCorrupt, name, s.Metadata.Index, s.Metadata.Term)
	}
	return s, nil
}

// releaseLocked deletes what recovery can no longer need once a snapshot
// newer than keep is durable: snapshot files older than keep, and leading
// segments (never the last) whose entries are all covered by keep. Failures
// only cost disk space, so they are logged, not returned.
func (w *WAL) releaseLocked(keep uint64) {
	if keep == 0 {
		return
	}
	var errs []error
	for len(w.mu.snaps) > 0 && w.mu.snaps[0] < keep {
		idx := w.mu.snaps[0]
		w.mu.snaps = w.mu.snaps[1:]
		errs = append(errs, w.removeSnapshots(idx))
	}
	n := 0
	for n < len(w.mu.segs)-1 && w.mu.segs[n].maxIndex <= keep {
		errs = append(errs, w.fs.Remove(filepath.Join(w.dir, w.mu.segs[n].name)))
		n++
	}
	w.mu.segs = slices.Delete(w.mu.segs, 0, n)
	errs = append(errs, w.fs.SyncDir(w.dir))
	if err := errors.Join(errs...); err != nil {
		w.log.Warn("wal: releasing old files failed", "err", err)
	}
}

// removeSnapshots deletes every snapshot file at index (whatever its term).
func (w *WAL) removeSnapshots(index uint64) error {
	names, err := w.fs.ReadDir(w.dir)
	if err != nil {
		return err
	}
	var errs []error
	for _, name := range names {
		if idx, _, ok := parseSnapshotName(name); ok && idx == index {
			errs = append(errs, w.fs.Remove(filepath.Join(w.dir, name)))
		}
	}
	return errors.Join(errs...)
}

func parseSnapshotName(name string) (index, term uint64, ok bool) {
	var rest string
	n, err := fmt.Sscanf(name, "%016x-%016x.%s", &index, &term, &rest)
	return index, term, err == nil && n == 3 && rest == "snap" && name == snapshotName(index, term)
}

func parseSegmentName(name string) (seq, first uint64, ok bool) {
	var rest string
	n, err := fmt.Sscanf(name, "%016x-%016x.%s", &seq, &first, &rest)
	return seq, first, err == nil && n == 3 && rest == "wal" && name == segmentName(seq, first)
}

// DiscardSnapshot removes the file of a snapshot that PrepareSnapshot wrote
// and that will not be committed (a newer one was installed meanwhile), so
// it does not linger on disk. A committed snapshot is left alone.
func (w *WAL) DiscardSnapshot(md raftpb.SnapshotMetadata) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if err := w.checkLocked(); err != nil {
		return err
	}
	if slices.Contains(w.mu.snaps, md.Index) {
		return nil
	}
	if err := w.fs.Remove(filepath.Join(w.dir, snapshotName(md.Index, md.Term))); err != nil {
		return fmt.Errorf("wal: discard snapshot %d: %w", md.Index, err)
	}
	return nil
}
