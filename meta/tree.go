package meta

import (
	"sort"
	"strings"
)

// The namespace is a tree of inodes whose directory entries are timelines
// (doc.go, "As-of reads"). An inode is a file or a directory with a stable
// identity: rename moves the inode, so a file keeps its history and a
// directory its entries; remove only ends the entry's timeline, so an
// as-of read still reaches the inode. Nothing is ever deleted, which is
// why inode ids are dense: inode id is State.mu.inodes[id-1].
type inode struct {
	id       uint64
	versions []Version // a file's history, oldest first (never empty); nil for a directory
	dir      *dir      // nil for a file
}

// dir is a directory's own data. A file's owner, times, mode and size
// derive from its versions, so files carry nothing else.
type dir struct {
	owner string
	mode  uint32
	ctime int64
	// kids maps each name that was ever an entry to its timeline: what
	// the name pointed to from when. Timelines alternate between an
	// inode and nil (removed), start with an inode, and have strictly
	// increasing times.
	kids map[string][]link
	// changes are the times at which kids changed, ascending, so that an
	// as-of mtime is a binary search.
	changes []int64
	live    int // names that point to an inode now
}

// link is one event of a name's timeline: from time t on, the name
// points to n (nil: nothing).
type link struct {
	t int64
	n *inode
}

func (n *inode) isDir() bool { return n.dir != nil }

// linkAt returns what timeline tl points to at time at, or nil.
func linkAt(tl []link, at int64) *inode {
	if len(tl) == 0 {
		return nil
	}
	if last := tl[len(tl)-1]; at >= last.t { // the common case: now
		return last.n
	}
	i := sort.Search(len(tl), func(i int) bool { return tl[i].t > at })
	if i == 0 {
		return nil
	}
	return tl[i-1].n
}

// cur returns the inode name points to now, or nil.
func (d *dir) cur(name string) *inode {
	tl := d.kids[name]
	if len(tl) == 0 {
		return nil
	}
	return tl[len(tl)-1].n
}

// set points name at n (nil: removes it) from time t on. t is later than
// every event already recorded, because command times increase strictly.
func (d *dir) set(name string, t int64, n *inode) {
	tl, ok := d.kids[name]
	if !ok {
		// The key would otherwise share the memory of the whole
		// command's path string.
		name = strings.Clone(name)
	}
	if len(tl) > 0 && tl[len(tl)-1].n != nil {
		d.live--
	}
	if n != nil {
		d.live++
	}
	d.kids[name] = append(tl, link{t, n})
	if len(d.changes) == 0 || d.changes[len(d.changes)-1] != t {
		d.changes = append(d.changes, t)
	}
}

// mtimeAt is the directory's modification time as of at: its last change
// at or before at, else its creation.
func (d *dir) mtimeAt(at int64) int64 {
	i := sort.Search(len(d.changes), func(i int) bool { return d.changes[i] > at })
	if i == 0 {
		return d.ctime
	}
	return d.changes[i-1]
}

// versionsAt returns the number of versions of file n as of at.
func (n *inode) versionsAt(at int64) int {
	vs := n.versions
	if len(vs) > 0 && vs[len(vs)-1].Time <= at {
		return len(vs)
	}
	return sort.Search(len(vs), func(i int) bool { return vs[i].Time > at })
}

// walkLocked returns the inode at clean path p as of at. The errors name
// p: NotExist when an element is missing, NotDir when one that must be a
// directory is a file.
func (s *State) walkLocked(p string, at int64) (*inode, error) {
	n := s.mu.root
	if p == "/" {
		return n, nil
	}
	for rest := p[1:]; ; {
		name, more, found := strings.Cut(rest, "/")
		if !n.isDir() {
			return nil, errf(KindNotDir, p, "%s is a file", p[:len(p)-len(rest)-1])
		}
		if n = linkAt(n.dir.kids[name], at); n == nil {
			return nil, errf(KindNotExist, p, "")
		}
		if !found {
			return n, nil
		}
		rest = more
	}
}

// parentLocked returns the directory that holds clean non-root path p now
// and p's last element: NotExist or NotDir if there is no such directory.
func (s *State) parentLocked(p string) (*dir, string, error) {
	dp, name := split(p)
	d, err := s.walkLocked(dp, Latest)
	if err != nil {
		e := err.(*Error)
		e.Path = p
		if e.Kind == KindNotExist {
			e.Msg = "parent " + dp + " does not exist"
		}
		return nil, "", e
	}
	if !d.isDir() {
		return nil, "", errf(KindNotDir, p, "%s is a file", dp)
	}
	return d.dir, name, nil
}

// entryLocked returns the inode at clean non-root path p now, with its
// parent directory and name: NotExist if there is none.
func (s *State) entryLocked(p string) (*dir, string, *inode, error) {
	d, name, err := s.parentLocked(p)
	if err != nil {
		return nil, "", nil, err
	}
	n := d.cur(name)
	if n == nil {
		return nil, "", nil, errf(KindNotExist, p, "")
	}
	return d, name, n, nil
}

// newInodeLocked allocates the next inode id.
func (s *State) newInodeLocked(n *inode) *inode {
	n.id = uint64(len(s.mu.inodes)) + 1
	s.mu.inodes = append(s.mu.inodes, n)
	return n
}

func (s *State) newDirLocked(owner string, mode uint32, t int64) *inode {
	return s.newInodeLocked(&inode{dir: &dir{owner: owner, mode: mode, ctime: t, kids: map[string][]link{}}})
}
