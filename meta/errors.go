package meta

import (
	"errors"
	"fmt"
	"strings"
)

// Kind classifies an error so that it survives the wire: a gRPC layer
// carries the Kind (a small integer), not the message, and the CLI and the
// gateway map it to exit codes and HTTP statuses. The values are part of
// the snapshot format (cached session results hold them): never renumber.
type Kind uint8

// The kinds. Zero is not a kind: KindOf returns it for errors that did not
// come from meta.
const (
	KindNotExist Kind = 1 + iota // no such file, directory, version, lease or node
	KindExist                    // the target already exists
	KindInvalid                  // malformed request: bad path, argument or encoding
	KindNotDir                   // a path element that must be a directory is a file
	KindIsDir                    // a file operation named a directory
	KindNotEmpty                 // removal of a non-empty directory without recursive
	KindConflict                 // a commit's expected version is not the current one
	KindLocked                   // another holder's live lease, or a stale fencing token
	kindEnd
)

// Sentinels, one per Kind: errors.Is(err, meta.ErrNotExist) holds for every
// *Error of that kind.
var (
	ErrNotExist = errors.New("meta: not found")
	ErrExist    = errors.New("meta: already exists")
	ErrInvalid  = errors.New("meta: invalid argument")
	ErrNotDir   = errors.New("meta: not a directory")
	ErrIsDir    = errors.New("meta: is a directory")
	ErrNotEmpty = errors.New("meta: directory not empty")
	ErrConflict = errors.New("meta: version conflict")
	ErrLocked   = errors.New("meta: locked")
)

var kinds = [kindEnd]struct {
	name string
	err  error
}{
	KindNotExist: {"NotExist", ErrNotExist},
	KindExist:    {"Exist", ErrExist},
	KindInvalid:  {"Invalid", ErrInvalid},
	KindNotDir:   {"NotDir", ErrNotDir},
	KindIsDir:    {"IsDir", ErrIsDir},
	KindNotEmpty: {"NotEmpty", ErrNotEmpty},
	KindConflict: {"Conflict", ErrConflict},
	KindLocked:   {"Locked", ErrLocked},
}

// String returns the kind's name, e.g. "NotExist".
func (k Kind) String() string {
	if k == 0 || k >= kindEnd {
		return fmt.Sprintf("Kind(%d)", uint8(k))
	}
	return kinds[k].name
}

// Err returns the kind's sentinel, or nil for an unknown kind.
func (k Kind) Err() error {
	if k == 0 || k >= kindEnd {
		return nil
	}
	return kinds[k].err
}

func (k Kind) valid() bool { return k > 0 && k < kindEnd }

// Error is every error the state machine returns, from commands and reads
// alike. Its fields are all plain data because a command's error is its
// result: it is cached in the session table and stored in snapshots.
type Error struct {
	Op   string // the command or read: "commit", "stat", ...; "" for CleanPath
	Kind Kind
	Path string // the path concerned, if any
	Msg  string // detail, may be empty
	// Current is a Conflict's current version of the file, nil when the
	// file does not exist; the writer rebases on it and retries.
	Current *Version
}

func (e *Error) Error() string {
	s := "meta: "
	if e.Op != "" || e.Path != "" {
		s += strings.TrimSpace(e.Op+" "+e.Path) + ": "
	}
	if e.Kind.valid() {
		s += kinds[e.Kind].err.Error()[len("meta: "):]
	} else {
		s += e.Kind.String()
	}
	if e.Msg != "" {
		s += ": " + e.Msg
	}
	return s
}

// Is makes errors.Is(err, ErrX) hold for the sentinel of the error's kind.
func (e *Error) Is(target error) bool { return e.Kind.valid() && target == kinds[e.Kind].err }

// KindOf returns the kind of an *Error in err's chain, or of a sentinel;
// zero when err is nil or not from meta.
func KindOf(err error) Kind {
	var e *Error
	if errors.As(err, &e) {
		return e.Kind
	}
	for k := KindNotExist; k < kindEnd; k++ {
		if errors.Is(err, kinds[k].err) {
			return k
		}
	}
	return 0
}

// errf builds an error without an Op: Apply and the read methods fill in
// the operation's name in one place.
func errf(k Kind, path, format string, args ...any) *Error {
	msg := format
	if len(args) > 0 {
		msg = fmt.Sprintf(format, args...)
	}
	return &Error{Kind: k, Path: path, Msg: msg}
}

// withOp sets the operation on an *Error that has none and returns err.
func withOp(err error, op string) error {
	if e, ok := err.(*Error); ok && e.Op == "" {
		e.Op = op
	}
	return err
}
