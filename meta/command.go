package meta

import (
	"encoding/hex"
	"time"
)

// Ref names a block by the SHA-256 of its bytes; a file version's Ref is
// its manifest's. meta never reads blocks: it stores refs.
type Ref [32]byte

// String returns the ref in hex.
func (r Ref) String() string { return hex.EncodeToString(r[:]) }

// IsZero reports whether r is the zero ref, which names no block.
func (r Ref) IsZero() bool { return r == Ref{} }

// Version is one committed version of a file. Versions are numbered 1, 2,
// 3... per file; a file keeps every version it ever had (see doc.go on
// retention).
type Version struct {
	Number uint64
	Ref    Ref    // the version's manifest
	Size   uint64 // bytes
	Time   int64  // commit time, unix nanoseconds (the command's time)
	Writer string // who committed it
	Mode   uint32 // permission bits as of this version
	// Inline says that the content is held here, in the metadata, and
	// not in a block: Ref is then the SHA-256 of the inline manifest
	// that would hold it (package fsys), so that it still names the
	// content, but no block of that ref need exist. Data is the content,
	// Size bytes, at most MaxInline. Listings leave Data out (doc.go,
	// "Inline contents"): a version whose Inline is set and whose Data is
	// shorter than Size was read without it, and VersionOf or Stat gives
	// it whole.
	Inline bool
	Data   string
}

// MaxInline is the most bytes a version holds inline (Version.Data): a
// CommitInline of more is Invalid. It is fsys.InlineLimit.
const MaxInline = 4096

// HasData reports whether v carries its whole content: it is inline and
// its Data was not left out.
func (v Version) HasData() bool { return v.Inline && uint64(len(v.Data)) == v.Size }

// bare returns v without its inline data: how versions travel in
// listings, results and errors.
func (v Version) bare() Version {
	v.Data = ""
	return v
}

// Op is a command's operation. The values are part of the command
// encoding: never renumber.
type Op uint8

// The operations.
const (
	OpMkdir Op = 1 + iota
	OpRemove
	OpRename
	OpCommit
	OpRestore
	OpLock
	OpUnlock
	OpSetNode
	OpRemoveNode
	OpCommitInline
	opEnd
)

var opNames = [opEnd]string{
	OpMkdir: "mkdir", OpRemove: "remove", OpRename: "rename", OpCommit: "commit",
	OpRestore: "restore", OpLock: "lock", OpUnlock: "unlock", OpSetNode: "setnode",
	OpRemoveNode: "removenode", OpCommitInline: "commitinline",
}

func (o Op) String() string {
	if o == 0 || o >= opEnd {
		return "op?"
	}
	return opNames[o]
}

// Match says what a commit expects of the file's current version.
type Match uint8

const (
	MatchAny     Match = iota // unconditional: create or overwrite
	MatchAbsent               // create: the file must not exist
	MatchVersion              // compare-and-swap: the current version must be Number with Ref
	matchEnd
)

// Expect is a commit's precondition. Both Number and Ref must match under
// MatchVersion: a path that was removed and created again restarts at
// version 1, and the ref tells the two files' first versions apart.
type Expect struct {
	Match  Match
	Number uint64
	Ref    Ref
}

// ExpectAny is an unconditional commit.
func ExpectAny() Expect { return Expect{} }

// ExpectAbsent is a create: a Conflict if the file exists.
func ExpectAbsent() Expect { return Expect{Match: MatchAbsent} }

// ExpectVersion is a compare-and-swap from v.
func ExpectVersion(v Version) Expect {
	return Expect{Match: MatchVersion, Number: v.Number, Ref: v.Ref}
}

// Command is one state-machine command: the unit a client proposes and
// Raft replicates. Build it with the helper of its operation, then set
// Time (always; the state machine never reads a clock) and, for
// exactly-once delivery, Client and Seq; Encode gives the bytes to propose.
// Each operation uses only the fields its helper sets; Encode writes no
// others.
type Command struct {
	Op Op
	// Time is the proposer's wall clock, unix nanoseconds. The state
	// machine makes time monotonic (doc.go, "Time").
	Time int64
	// Client and Seq make the command exactly-once: a client numbers its
	// commands 1, 2, 3...; Client 0 means no session.
	Client, Seq uint64

	Path      string
	To        string // Rename: the new path
	Parents   bool   // Mkdir: create missing parents; an existing directory is fine
	Recursive bool   // Remove: remove a directory and everything under it
	Mode      uint32 // Mkdir, Commit: permission bits (at most 0o777)
	// Owner is the principal: a new directory's owner (Mkdir), the writer
	// (Commit, Restore; a file's owner is its first writer) or the lease
	// holder (Lock, Unlock).
	Owner   string
	Expect  Expect        // Commit, Restore
	Ref     Ref           // Commit, CommitInline: the new version's manifest
	Size    uint64        // Commit: the new version's size (CommitInline: len(Data))
	Data    string        // CommitInline: the new version's content
	Version uint64        // Restore: the version number to restore
	Token   uint64        // Commit, Restore, Remove, Rename, Unlock: lease fencing token; 0 for none
	TTL     time.Duration // Lock

	NodeID uint64 // SetNode, RemoveNode
	Addr   string // SetNode
	Roles  Roles  // SetNode
}

// Mkdir makes a directory owned by owner.
func Mkdir(path string, parents bool, mode uint32, owner string) Command {
	return Command{Op: OpMkdir, Path: path, Parents: parents, Mode: mode, Owner: owner}
}

// Remove removes a file, an empty directory, or with recursive a directory
// and everything under it. History is kept: as-of reads still see it.
func Remove(path string, recursive bool) Command {
	return Command{Op: OpRemove, Path: path, Recursive: recursive}
}

// Rename moves a file or directory, with its history, to a path that does
// not exist.
func Rename(from, to string) Command { return Command{Op: OpRename, Path: from, To: to} }

// Commit makes a new version of the file at path if expect holds, creating
// the file if it does not exist (under MatchAny or MatchAbsent). token is
// the writer's lease token, 0 without a lease.
func Commit(path string, expect Expect, ref Ref, size uint64, mode uint32, writer string, token uint64) Command {
	return Command{Op: OpCommit, Path: path, Expect: expect, Ref: ref, Size: size, Mode: mode, Owner: writer, Token: token}
}

// CommitInline is Commit of a small content held in the metadata itself
// (Version.Inline): data, at most MaxInline bytes, is the whole content,
// and ref names it (fsys uses the SHA-256 of its inline manifest). The
// file's reader needs no block.
func CommitInline(path string, expect Expect, ref Ref, data []byte, mode uint32, writer string, token uint64) Command {
	return Command{Op: OpCommitInline, Path: path, Expect: expect, Ref: ref, Size: uint64(len(data)), Data: string(data),
		Mode: mode, Owner: writer, Token: token}
}

// RestoreVersion commits, as a new version, the content and mode of an
// earlier version of the file; history only grows. Set Expect on the
// command for a compare-and-swap; the default is unconditional.
func RestoreVersion(path string, version uint64, writer string, token uint64) Command {
	return Command{Op: OpRestore, Path: path, Version: version, Owner: writer, Token: token}
}

// Lock takes, or renews if owner holds it, the lease on path (which need
// not exist) for ttl from the command's time.
func Lock(path, owner string, ttl time.Duration) Command {
	return Command{Op: OpLock, Path: path, Owner: owner, TTL: ttl}
}

// Unlock releases the lease on path that owner holds with token.
func Unlock(path, owner string, token uint64) Command {
	return Command{Op: OpUnlock, Path: path, Owner: owner, Token: token}
}

// SetNode adds a cluster member or updates its address and roles.
func SetNode(id uint64, addr string, roles Roles) Command {
	return Command{Op: OpSetNode, NodeID: id, Addr: addr, Roles: roles}
}

// RemoveNode removes a cluster member from the registry.
func RemoveNode(id uint64) Command { return Command{Op: OpRemoveNode, NodeID: id} }

// Result is what a successful command returns from Apply (an error is
// returned as the error, an *Error). A retried command returns the result
// of its first application.
type Result struct {
	Index   uint64  // log index the command was applied at
	Time    int64   // the command's effective time (doc.go, "Time")
	Version Version // Commit, CommitInline, Restore: the new version (without its Data); zero otherwise
	Lease   Lease   // Lock: the lease held; zero otherwise
}
