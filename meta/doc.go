// Package meta is PuddleStore's metadata state machine, the state that the
// metadata Raft group replicates: the namespace of directories and files,
// every version of every file, leases, client sessions and the registry of
// cluster members. It is a pure core (DESIGN.md): it imports no os or net,
// never reads a clock, starts no goroutine, and given the same commands
// every replica reaches the same state, byte for byte (Snapshot).
//
// # Use
//
// A client builds a command with the helper of its operation, stamps it
// with its wall clock and its session, and proposes the encoding through
// the node's Raft driver (node.Raft), which applies what commits, in log
// order, and hands the result back to the proposer:
//
//	// proposer
//	c := meta.Commit("/docs/a.txt", meta.ExpectVersion(cur), ref, size, 0o644, "alice", 0)
//	// or, for at most MaxInline bytes kept in the metadata itself:
//	// c := meta.CommitInline("/docs/a.txt", meta.ExpectVersion(cur), ref, data, 0o644, "alice", 0)
//	c.Time = time.Now().UnixNano()
//	c.Client, c.Seq = sessionID, nextSeq() // exactly-once; a retry reuses Seq
//	res, index, err := group.Propose(ctx, c.Encode())
//	// res is a meta.Result; err an *meta.Error (errors.Is(err, meta.ErrConflict)...)
//
//	// the driver's loop, one goroutine (inside node.Raft)
//	for _, e := range rd.CommittedEntries {
//		res, err := st.Apply(e.Index, e.Data)
//		deliver(e.Index, res, err) // to the waiting Propose, if any
//	}
//	// and st.Snapshot() / st.Restore(b) for log compaction
//
//	// readers, any goroutine, concurrently with Apply; after
//	// group.ReadBarrier(ctx) for a linearizable read
//	info, err := st.Stat("/docs/a.txt", meta.Latest)
//	old, err := st.ReadDir("/docs", yesterday) // the tree as of a time
//
// State implements the driver's StateMachine (Apply, Snapshot, Restore);
// the read methods take a read lock, so they see whole commands only.
//
// # Namespace and versions
//
// Files and directories are inodes with a stable identity (Info.ID). A
// directory maps each name to a timeline of what the name pointed to from
// when; a file is the list of its versions {Number, Ref, Size, Time,
// Writer, Mode}, numbered from 1. A file's owner is its first writer, its
// CTime its creation (birth, not POSIX change time), its MTime, size and
// mode those of its current version.
//
// A commit is a compare-and-swap on the file's version, with Expect:
// MatchAbsent (create), MatchAny (unconditional) or MatchVersion (the
// current version's number and ref). A lost race is a KindConflict *Error
// whose Current is the winner's version (nil if the file is absent), so
// the writer rebases and retries. Commit creates the file when it is
// absent; the parent must be an existing directory (NotExist, NotDir), and
// a directory is not a file (IsDir). RestoreVersion commits an old
// version's ref, size and mode as a new version: history only grows.
//
// Mkdir (with Parents: missing parents too, and an existing directory is
// fine), Remove (a file, an empty directory, or with Recursive a whole
// tree; never the root) and Rename (files and directories, across
// directories) are single commands and so atomic. Each checks everything
// before it changes anything, in a fixed order: arguments (Invalid), the
// namespace (NotExist, NotDir, IsDir, Exist, NotEmpty), leases (Locked),
// the expected version (Conflict).
//
// Rename moves the inode: a renamed file keeps its identity and its whole
// history (History of the new path includes versions committed before the
// rename); a renamed directory takes its entries along, in O(1). The
// target must not exist (Exist), even for a file onto a file: replacing
// would silently end another file's timeline, which a versioned store
// should not do as a side effect; the writer who wants it removes the
// target first, or commits the content to it. Moving a directory into its
// own subtree, or a path onto itself, is Invalid. Rename does not check
// the depth of the moved tree, so an entry can end up beyond MaxPath;
// such an entry is unreachable by path until moved back up (as on POSIX
// systems with PATH_MAX).
//
// # Inline contents
//
// A small file's content can live here rather than in a block:
// CommitInline carries the bytes (at most MaxInline, 4 KiB, which is
// fsys.InlineLimit; more is Invalid) and the version keeps them
// (Version.Inline, Version.Data), so that writing a small file is one
// Raft commit and reading it no block fetch. The Ref is still required
// and still names the content: fsys sets it to the SHA-256 of the inline
// manifest it would otherwise have stored as a block (so the same bytes
// get the same ref whichever way they are stored, and a MatchVersion
// compare-and-swap still compares contents). meta does not check that
// hash: it never reads manifests. RestoreVersion of an inline version
// copies its data (a shared string, not a copy of the bytes).
//
// Where the data travels: Stat and VersionOf return it (a reader opens a
// version from them); ReadDir, History, command results and Conflict
// errors carry versions without it (Inline set, Data empty: HasData
// tells), so that a listing of many versions, the session table and its
// snapshots stay small; the writer of a version has its bytes already.
// Data is a string, so Version stays comparable and a reader cannot
// change the state's copy.
//
// # As-of reads
//
// Stat, ReadDir, History and VersionOf take a time (unix nanoseconds;
// Latest for now) and answer as of then: the tree as of T is a walk from
// the root in which each name resolves through its timeline at T, and a
// file's state at T is its last version at or before T. Each step is a
// binary search (the current state is the last element, checked first).
// This works because nothing is ever deleted: Remove appends a removal to
// the name's timeline and leaves the inode (and, for a directory,
// everything under it) as it was; Rename appends a removal at the old name
// and a link at the new one, at the same time. Every version is kept until
// a retention rule drops it; retention is out of scope here, and would
// drop versions and timeline events older than a horizon, with as-of reads
// before it refused.
//
// A read as of T is stable once the state has applied a command at or
// after T (Applied): before that, commands still to come may carry times
// at or before T.
//
// # Time
//
// The state machine never reads a clock: every command carries its
// proposer's wall time, and the command's effective time is
// t = max(Command.Time, now+1ns), where now is the effective time of the
// last executed command. Effective times thus increase strictly along the
// log, whatever the proposers' clocks say: a slow clock is pushed forward,
// a fast one pushes later commands after it (so a proposer far in the
// future would stamp every later command a nanosecond apart; the node that
// proposes should refuse commands stamped far ahead of its own clock).
// Every event of a timeline and
// every version has a distinct time, and as-of reads always see whole
// commands. Lease expiry is judged against t. Failed commands advance now
// too; malformed ones and retries answered from the session table do not.
//
// # Leases
//
// Lock takes a lease on a path (which need not exist) for a TTL from the
// command's time, and returns a fencing token; tokens increase across the
// whole state machine. The holder renews by locking again (same token).
// While a lease is live, commits to its path need its token, and Remove
// and Rename of the path or a directory above it need it too; a token that
// is no longer a live lease's is refused as well, so a writer whose lease
// lapsed cannot commit as if it still held it. The error is KindLocked
// (DESIGN.md's wire kinds would carry it as Permission if they gain no
// Locked). See Lease.
//
// # Sessions
//
// A command with a Client and Seq is exactly-once: a retry of the last
// command of a client returns its first outcome, result or error, without
// executing it again; an older one is Invalid (stale). The table is
// bounded by Config.MaxSessions, the least recently active client going
// first (session.go), as in node.KV.
//
// # Membership
//
// SetNode and RemoveNode keep a registry of cluster members (id, address,
// roles), which Nodes lists: how a client finds nodes.
//
// # Encoding
//
// Commands and snapshots share one hand-written binary codec (codec.go,
// snapshot.go): a version byte, minimal uvarints, length-prefixed strings,
// fixed field order. Decoders are strict (truncation, trailing bytes,
// non-minimal varints, unknown values and counts larger than the input
// are refused before anything is allocated for them) and canonical:
// whatever decodes re-encodes to the same bytes. Commands are still
// version 1: CommitInline is a new op, which leaves the meaning of every
// older command unchanged. Snapshots are version 2 (each version gained
// an Inline byte and its data); Restore still reads version 1, so a
// node keeps the snapshot it took before the upgrade, and writes
// version 2, so the canonical round trip holds for version 2 input. A malformed command is a
// KindInvalid result, never a panic. A snapshot is written in sorted order
// so that equal states give equal bytes, and Restore checks the
// invariants the operations rely on.
//
// # Cost
//
// TestMemoryPerFile measures about 295 bytes of heap for a file with one
// version and a short name, and 96 bytes for each further version (the
// 32-byte ref is most of it; the Inline flag and Data header add 16),
// besides an inline version's bytes (at most 4 KiB); a directory entry's
// removal or rename adds 24. Names of owners and writers are interned (the table keeps every
// name ever stored until the next Restore). On a busy 2-CPU machine
// (bench_test.go): Stat about 0.2µs without allocating, now or as of a
// time; a compare-and-swap commit applied in about 4µs; a snapshot of
// 100,000 files (5.3 MB) encoded in about 0.1s and restored in 0.13s.
//
// # Not done
//
// Retention (above); permissions and ACLs (Mode and Owner are stored, not
// enforced); a cheap snapshot view for snapshotting off the driver's loop
// (node.ViewSnapshotter): Snapshot encodes under the read lock, which
// holds Apply back for as long as it takes.
package meta
