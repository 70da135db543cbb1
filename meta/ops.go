package meta

import (
	"strconv"
	"strings"
)

// The namespace commands. Each checks everything before it changes
// anything, so a command either happens whole or not at all; checks run in
// a fixed order, which the reference model in model_test.go repeats:
// arguments (Invalid), then the namespace (NotExist, NotDir, IsDir, Exist,
// NotEmpty), then leases (Locked), then the expected version (Conflict).

func (s *State) mkdirLocked(c Command, t int64) error {
	p, err := CleanPath(c.Path)
	if err != nil {
		return err
	}
	if err := checkMode(p, c.Mode); err != nil {
		return err
	}
	if err := checkPrincipal(p, c.Owner); err != nil {
		return err
	}
	if p == "/" {
		if c.Parents {
			return nil
		}
		return errf(KindExist, p, "")
	}
	// Find the deepest existing ancestor. Every element after it is
	// missing, so once creation starts nothing can fail.
	n := s.mu.root
	rest := p[1:]
	for {
		name, more, found := strings.Cut(rest, "/")
		next := n.dir.cur(name)
		if next == nil {
			if found && !c.Parents {
				return errf(KindNotExist, p, "parent %s does not exist", p[:len(p)-len(more)-1])
			}
			break
		}
		if !found {
			if next.isDir() && c.Parents {
				return nil
			}
			return errf(KindExist, p, "")
		}
		if !next.isDir() {
			return errf(KindNotDir, p, "%s is a file", p[:len(p)-len(more)-1])
		}
		n, rest = next, more
	}
	owner := s.internLocked(c.Owner)
	for {
		name, more, found := strings.Cut(rest, "/")
		d := s.newDirLocked(owner, c.Mode, t)
		n.dir.set(name, t, d)
		if !found {
			return nil
		}
		n, rest = d, more
	}
}

func (s *State) removeLocked(c Command, t int64) error {
	p, err := CleanPath(c.Path)
	if err != nil {
		return err
	}
	if p == "/" {
		return errf(KindInvalid, p, "the root cannot be removed")
	}
	d, name, n, err := s.entryLocked(p)
	if err != nil {
		return err
	}
	if n.isDir() && n.dir.live > 0 && !c.Recursive {
		return errf(KindNotEmpty, p, "")
	}
	if err := s.checkTreeLeasesLocked(c.Token, t, p); err != nil {
		return err
	}
	// Only the entry ends: what lies under a removed directory stays as
	// it was, reachable by reads as of earlier times.
	d.set(name, t, nil)
	return nil
}

// renameLocked moves an entry. The target must not exist: an overwrite
// would end another file's timeline silently, so a writer who wants to
// replace a file removes it first (or commits to it, keeping its history).
func (s *State) renameLocked(c Command, t int64) error {
	from, err := CleanPath(c.Path)
	if err != nil {
		return err
	}
	to, err := CleanPath(c.To)
	if err != nil {
		return err
	}
	switch {
	case from == "/" || to == "/":
		return errf(KindInvalid, from, "the root cannot be renamed or replaced")
	case from == to:
		return errf(KindInvalid, from, "source and target are the same")
	case under(to, from):
		return errf(KindInvalid, from, "cannot move a directory into itself (%s)", to)
	}
	fd, fname, n, err := s.entryLocked(from)
	if err != nil {
		return err
	}
	td, tname, err := s.parentLocked(to)
	if err != nil {
		return err
	}
	if td.cur(tname) != nil {
		return errf(KindExist, to, "rename target exists")
	}
	if err := s.checkTreeLeasesLocked(c.Token, t, from, to); err != nil {
		return err
	}
	fd.set(fname, t, nil)
	td.set(tname, t, n)
	return nil
}

func (s *State) commitLocked(c Command, t int64) (Version, error) {
	p, err := CleanPath(c.Path)
	if err != nil {
		return Version{}, err
	}
	if c.Ref.IsZero() {
		return Version{}, errf(KindInvalid, p, "zero ref")
	}
	inline := c.Op == OpCommitInline
	size := c.Size
	if inline {
		if len(c.Data) > MaxInline {
			return Version{}, errf(KindInvalid, p, "%d bytes inline, more than %d", len(c.Data), MaxInline)
		}
		size = uint64(len(c.Data))
	}
	if err := checkMode(p, c.Mode); err != nil {
		return Version{}, err
	}
	if err := checkPrincipal(p, c.Owner); err != nil {
		return Version{}, err
	}
	if p == "/" {
		return Version{}, errf(KindIsDir, p, "")
	}
	d, name, err := s.parentLocked(p)
	if err != nil {
		return Version{}, err
	}
	n := d.cur(name)
	if n != nil && n.isDir() {
		return Version{}, errf(KindIsDir, p, "")
	}
	if err := s.checkLeaseLocked(p, c.Token, t); err != nil {
		return Version{}, err
	}
	if err := checkExpect(p, c.Expect, n); err != nil {
		return Version{}, err
	}
	if n == nil {
		n = s.newInodeLocked(&inode{})
		d.set(name, t, n)
	}
	v := Version{Number: uint64(len(n.versions)) + 1, Ref: c.Ref, Size: size, Time: t,
		Writer: s.internLocked(c.Owner), Mode: c.Mode}
	if inline {
		v.Inline, v.Data = true, c.Data
	}
	n.versions = append(n.versions, v)
	return v, nil
}

// restoreLocked commits an old version's ref, size and mode again (and its
// inline data: the string is shared, not copied).
func (s *State) restoreLocked(c Command, t int64) (Version, error) {
	p, err := CleanPath(c.Path)
	if err != nil {
		return Version{}, err
	}
	if c.Version == 0 {
		return Version{}, errf(KindInvalid, p, "versions are numbered from 1")
	}
	if err := checkPrincipal(p, c.Owner); err != nil {
		return Version{}, err
	}
	if p == "/" {
		return Version{}, errf(KindIsDir, p, "")
	}
	_, _, n, err := s.entryLocked(p)
	if err != nil {
		return Version{}, err
	}
	if n.isDir() {
		return Version{}, errf(KindIsDir, p, "")
	}
	if c.Version > uint64(len(n.versions)) {
		return Version{}, errf(KindNotExist, p, "no version %d (latest %d)", c.Version, len(n.versions))
	}
	if err := s.checkLeaseLocked(p, c.Token, t); err != nil {
		return Version{}, err
	}
	if err := checkExpect(p, c.Expect, n); err != nil {
		return Version{}, err
	}
	old := n.versions[c.Version-1]
	v := Version{Number: uint64(len(n.versions)) + 1, Ref: old.Ref, Size: old.Size, Time: t,
		Writer: s.internLocked(c.Owner), Mode: old.Mode, Inline: old.Inline, Data: old.Data}
	n.versions = append(n.versions, v)
	return v, nil
}

// checkExpect checks a commit's precondition against file n (nil: absent).
func checkExpect(p string, e Expect, n *inode) error {
	var cur *Version
	if n != nil {
		v := n.versions[len(n.versions)-1].bare()
		cur = &v
	}
	switch e.Match {
	case MatchAny:
		return nil
	case MatchAbsent:
		if cur == nil {
			return nil
		}
		return &Error{Kind: KindConflict, Path: p, Msg: "file exists", Current: cur}
	case MatchVersion:
		if cur != nil && cur.Number == e.Number && cur.Ref == e.Ref {
			return nil
		}
		msg := "file does not exist"
		if cur != nil {
			msg = "current version is " + strconv.FormatUint(cur.Number, 10)
		}
		return &Error{Kind: KindConflict, Path: p, Msg: "expected version " + strconv.FormatUint(e.Number, 10) + ", " + msg, Current: cur}
	}
	return errf(KindInvalid, p, "unknown match %d", e.Match)
}
