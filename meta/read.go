package meta

import (
	"slices"
	"strconv"
	"strings"
)

// Info describes a file or directory as of a time.
type Info struct {
	Name string // last path element; "/" for the root
	// ID is the entry's identity: it survives renames, and a path removed
	// and created again gets a new one.
	ID    uint64
	Dir   bool
	Size  uint64 // a file's size; 0 for a directory
	Mode  uint32 // permission bits
	Owner string // a directory's creator; a file's first writer
	// MTime is a file's last commit, or a directory's last change of
	// entries (creation, removal, rename in or out), as of the read.
	MTime int64
	// CTime is when the file or directory was created (its birth time,
	// not POSIX's change time).
	CTime int64
	// Version is a file's version current as of the read (with its
	// inline Data from Stat, without it from ReadDir), Versions the
	// number of versions it had then. Zero for a directory.
	Version  Version
	Versions uint64
}

// Stat describes the entry at path as of time at (unix nanoseconds;
// Latest for now).
//
// A read as of a time after the last applied command's (Applied) is a
// read of the current state, which later commands may still change: an
// as-of read is stable once Applied's time has passed at.
func (s *State) Stat(path string, at int64) (Info, error) {
	p, err := CleanPath(path)
	if err != nil {
		return Info{}, withOp(err, "stat")
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	n, err := s.walkLocked(p, at)
	if err != nil {
		return Info{}, withOp(err, "stat")
	}
	name := "/"
	if p != "/" {
		_, name = split(p)
	}
	return infoAt(n, name, at), nil
}

// ReadDir lists the directory at path as of time at, sorted by name. Its
// files' versions come without their inline Data (Stat has it).
func (s *State) ReadDir(path string, at int64) ([]Info, error) {
	p, err := CleanPath(path)
	if err != nil {
		return nil, withOp(err, "readdir")
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	n, err := s.walkLocked(p, at)
	if err != nil {
		return nil, withOp(err, "readdir")
	}
	if !n.isDir() {
		return nil, &Error{Op: "readdir", Kind: KindNotDir, Path: p}
	}
	var out []Info
	if at >= s.mu.now {
		out = make([]Info, 0, n.dir.live)
	}
	for name, tl := range n.dir.kids {
		if k := linkAt(tl, at); k != nil {
			in := infoAt(k, name, at)
			in.Version = in.Version.bare() // a listing stays small
			out = append(out, in)
		}
	}
	slices.SortFunc(out, func(a, b Info) int { return strings.Compare(a.Name, b.Name) })
	return out, nil
}

// History returns the versions, oldest first, that the file at path as of
// time at had by then, without their inline Data (VersionOf has it). The file is the one at path at that time: after a
// rename its history is under the new path (including versions committed
// before the rename); a path removed and created again names a new file
// whose history starts at 1; the removed file's history is read as of a
// time when it existed.
func (s *State) History(path string, at int64) ([]Version, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	n, err := s.fileAtLocked(path, at, "history")
	if err != nil {
		return nil, err
	}
	vs := slices.Clone(n.versions[:n.versionsAt(at)])
	for i := range vs {
		vs[i] = vs[i].bare()
	}
	return vs, nil
}

// VersionOf returns version number of the file at path as of at (see
// History), with its inline Data: the version a reader opens to read an
// old content.
func (s *State) VersionOf(path string, number uint64, at int64) (Version, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	n, err := s.fileAtLocked(path, at, "version")
	if err != nil {
		return Version{}, err
	}
	if number == 0 || number > uint64(n.versionsAt(at)) {
		return Version{}, &Error{Op: "version", Kind: KindNotExist, Path: path,
			Msg: "no version " + strconv.FormatUint(number, 10)}
	}
	return n.versions[number-1], nil
}

// fileAtLocked returns the file at path as of at.
func (s *State) fileAtLocked(path string, at int64, op string) (*inode, error) {
	p, err := CleanPath(path)
	if err != nil {
		return nil, withOp(err, op)
	}
	n, err := s.walkLocked(p, at)
	if err != nil {
		return nil, withOp(err, op)
	}
	if n.isDir() {
		return nil, &Error{Op: op, Kind: KindIsDir, Path: p}
	}
	return n, nil
}

// Applied returns the log index and the effective time of the last
// applied command: how fresh the state a reader sees is.
func (s *State) Applied() (index uint64, t int64) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.mu.applied, s.mu.now
}

// infoAt describes inode n, named name, as of at. The caller has found n
// through a link that exists at at, so a file has a version by then (its
// first version and its first link have the same time; Restore checks
// that a snapshot keeps it so).
func infoAt(n *inode, name string, at int64) Info {
	in := Info{Name: name, ID: n.id}
	if n.isDir() {
		in.Dir, in.Mode, in.Owner, in.CTime = true, n.dir.mode, n.dir.owner, n.dir.ctime
		in.MTime = n.dir.mtimeAt(at)
		return in
	}
	k := n.versionsAt(at)
	first, cur := n.versions[0], n.versions[k-1]
	in.Size, in.Mode, in.Owner = cur.Size, cur.Mode, first.Writer
	in.MTime, in.CTime = cur.Time, first.Time
	in.Version, in.Versions = cur, uint64(k)
	return in
}
