// Package wal is the durable Raft log of a node: hard state, entries and
// snapshots, in one directory.
//
// # Durability contract
//
// When Save or SaveSnapshot returns nil, what it was given is on stable
// storage: each call encodes all its records into one buffer, appends it
// with one write and makes it durable with one fsync (group commit: a raft
// driver passes everything from one Ready in one call). A node must Save
// before it sends the messages of the same Ready (Raft §5.1). After a
// failed write or fsync the WAL returns ErrFailed for every later call; the
// driver must reopen it, which recovers exactly what reached the disk.
//
// # Format
//
// The directory holds segments named <seq>-<first index>.wal (16 hex digits
// each) and snapshots named <index>-<term>.snap. A segment is a sequence of
// records:
//
//	length uint32 LE | CRC-32C (Castagnoli) uint32 LE | type byte | payload
//
// where length counts type and payload and the checksum covers the length,
// type and payload. A batch record (one Save) holds an optional
// raftpb.HardState and the entries, each in raftpb's encoding; the first
// record of each segment restates the hard state, so released segments never
// take it with them. A snapshot record holds the raftpb.SnapshotMetadata of a
// snapshot file already durable. A new segment is started (and its name made
// durable with a directory fsync) once the last one reaches
// Options.SegmentBytes; the full segment was synced by the Save that filled
// it. A snapshot file is the encoded raftpb.Snapshot followed by its
// CRC-32C, written to a temporary name, fsynced, renamed and the directory
// fsynced before its marker is logged.
//
// # Recovery
//
// Open replays every segment in order, applying overwrites (a batch starting
// at or below the last index replaces the suffix, Raft §5.3) and snapshot
// markers (a snapshot whose index has a different term in the log, or lies
// beyond it, restarts the log after it). Then:
//
//   - A record that fails its checksum at the end of the last segment, with
//     no valid record after it, is a torn write from a Save that never
//     returned: the segment is truncated to the last valid record and the
//     event is logged.
//   - A damaged record anywhere else (followed by a valid record, or in a
//     segment that is not the last), a missing segment, or records that
//     break the log's rules return ErrCorrupt: recovery never skips data
//     that was acknowledged.
//   - The snapshot is the one the newest marker names. If its file is
//     missing or damaged, Open falls back to the newest older valid snapshot
//     only if the log still holds every entry after it; otherwise ErrCorrupt.
//     To make that fallback possible, SaveSnapshot keeps one snapshot
//     interval: it deletes segments whose entries are all covered by the
//     previous snapshot, and older snapshot files, so disk use stays bounded
//     by about two snapshot intervals of log.
//
// # Testing
//
// MemFS is an in-memory FS whose Crash discards what was not synced (and
// can tear the last unsynced write), deterministically for a seed; raft
// simulations use it to crash and restart nodes.
package wal
