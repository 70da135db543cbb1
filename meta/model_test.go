package meta

import (
	"maps"
	"slices"
	"strings"
)

// model is the naive reference the randomized test compares State with:
// the current tree is a map from every path to its entry, and the tree as
// of a time is a copy of that map taken after each command. Rename moves
// keys, remove deletes them; no timelines, no inodes. It repeats the
// documented order of checks (ops.go) but shares no code with the state
// machine beyond CleanPath and the codec.
type model struct {
	maxSessions int
	applied     uint64
	now         int64
	nextID      uint64
	nextToken   uint64
	tree        map[string]mentry
	past        []mpast // the tree after each executed command, by time
	leases      map[string]Lease
	sessions    map[uint64]*msession
	order       []uint64 // clients, least recently active first
	nodes       map[uint64]Node
}

type mentry struct {
	id           uint64
	dir          bool
	owner        string // directories
	mode         uint32 // directories
	ctime, mtime int64  // directories
	file         *mfile // files: shared by every copy of the tree
}

type mfile struct{ versions []Version }

type mpast struct {
	t    int64
	tree map[string]mentry
}

// outcome is a command's result, or its error's kind and current version.
type outcome struct {
	res  Result
	kind Kind
	cur  *Version
}

type msession struct {
	seq, index uint64
	out        outcome
}

func newModel(maxSessions int) *model {
	return &model{
		maxSessions: maxSessions, nextID: 2, nextToken: 1,
		tree:     map[string]mentry{"/": {id: 1, dir: true, mode: 0o755}},
		leases:   map[string]Lease{},
		sessions: map[uint64]*msession{},
		nodes:    map[uint64]Node{},
	}
}

func fail(k Kind) outcome { return outcome{kind: k} }

// apply applies an encoded command at index.
func (m *model) apply(index uint64, b []byte) outcome {
	m.applied = index
	c, err := DecodeCommand(b)
	if err != nil {
		return fail(KindInvalid)
	}
	if c.Client == 0 {
		return m.execute(index, c)
	}
	if c.Seq == 0 {
		return fail(KindInvalid)
	}
	if se, ok := m.sessions[c.Client]; ok && c.Seq <= se.seq {
		m.touch(c.Client, index)
		if c.Seq < se.seq {
			return fail(KindInvalid)
		}
		return se.out
	}
	out := m.execute(index, c)
	m.sessions[c.Client] = &msession{seq: c.Seq, out: out}
	m.touch(c.Client, index)
	for len(m.order) > m.maxSessions {
		delete(m.sessions, m.order[0])
		m.order = m.order[1:]
	}
	return out
}

func (m *model) touch(client, index uint64) {
	m.sessions[client].index = index
	m.order = append(slices.DeleteFunc(m.order, func(c uint64) bool { return c == client }), client)
}

func (m *model) execute(index uint64, c Command) outcome {
	if m.now >= Latest-1 || c.Time >= Latest {
		return fail(KindInvalid)
	}
	t := max(c.Time, m.now+1)
	m.now = t
	out := m.op(c, t)
	if out.kind == 0 {
		out.res.Index, out.res.Time = index, t
		m.past = append(m.past, mpast{t, maps.Clone(m.tree)})
	}
	return out
}

func (m *model) op(c Command, t int64) outcome {
	switch c.Op {
	case OpMkdir:
		return m.mkdir(c, t)
	case OpRemove:
		return m.remove(c, t)
	case OpRename:
		return m.rename(c, t)
	case OpCommit, OpCommitInline, OpRestore:
		return m.commit(c, t)
	case OpLock:
		return m.lock(c, t)
	case OpUnlock:
		p, err := CleanPath(c.Path)
		if err != nil {
			return fail(KindInvalid)
		}
		l, ok := m.leases[p]
		if !ok {
			return fail(KindNotExist)
		}
		if l.Token != c.Token || l.Owner != c.Owner {
			return fail(KindLocked)
		}
		delete(m.leases, p)
		return outcome{}
	case OpSetNode:
		if c.NodeID == 0 || c.Addr == "" || len(c.Addr) > MaxName || c.Roles&^(RoleMeta|RoleBlocks|RoleGateway) != 0 {
			return fail(KindInvalid)
		}
		m.nodes[c.NodeID] = Node{ID: c.NodeID, Addr: c.Addr, Roles: c.Roles, Updated: t}
		return outcome{}
	case OpRemoveNode:
		if c.NodeID == 0 {
			return fail(KindInvalid)
		}
		if _, ok := m.nodes[c.NodeID]; !ok {
			return fail(KindNotExist)
		}
		delete(m.nodes, c.NodeID)
		return outcome{}
	}
	panic("model: unknown op")
}

// parentOf is the parent of a clean non-root path.
func parentOf(p string) string {
	i := strings.LastIndexByte(p, '/')
	if i == 0 {
		return "/"
	}
	return p[:i]
}

// ancestors checks, in tree, every proper ancestor of p below the root
// in order: the first missing is NotExist, the first file NotDir.
func ancestors(tree map[string]mentry, p string) Kind {
	for i := 1; i < len(p); i++ {
		if p[i] != '/' {
			continue
		}
		e, ok := tree[p[:i]]
		if !ok {
			return KindNotExist
		}
		if !e.dir {
			return KindNotDir
		}
	}
	return 0
}

// find looks p up in tree like a walk: ancestors, then p itself.
func find(tree map[string]mentry, p string) (mentry, Kind) {
	if k := ancestors(tree, p); k != 0 {
		return mentry{}, k
	}
	e, ok := tree[p]
	if !ok {
		return mentry{}, KindNotExist
	}
	return e, 0
}

func (m *model) touchDir(p string, t int64) {
	e := m.tree[p]
	e.mtime = t
	m.tree[p] = e
}

func (m *model) mkdir(c Command, t int64) outcome {
	p, err := CleanPath(c.Path)
	if err != nil || c.Mode&^0o777 != 0 || len(c.Owner) > MaxName {
		return fail(KindInvalid)
	}
	if p == "/" {
		if c.Parents {
			return outcome{}
		}
		return fail(KindExist)
	}
	var create []string
	for i := 1; i <= len(p); i++ {
		if i < len(p) && p[i] != '/' {
			continue
		}
		q := p[:i]
		e, ok := m.tree[q]
		switch {
		case !ok && i < len(p) && !c.Parents:
			return fail(KindNotExist)
		case !ok:
			create = append(create, q)
		case i == len(p) && (!e.dir || !c.Parents):
			return fail(KindExist)
		case !e.dir:
			return fail(KindNotDir)
		}
	}
	for _, q := range create {
		m.tree[q] = mentry{id: m.nextID, dir: true, owner: c.Owner, mode: c.Mode, ctime: t, mtime: t}
		m.nextID++
		m.touchDir(parentOf(q), t)
	}
	return outcome{}
}

// subtree lists p and every path under it.
func (m *model) subtree(p string) []string {
	var out []string
	for q := range m.tree {
		if q == p || strings.HasPrefix(q, p+"/") {
			out = append(out, q)
		}
	}
	return out
}

func (m *model) remove(c Command, t int64) outcome {
	p, err := CleanPath(c.Path)
	if err != nil || p == "/" {
		return fail(KindInvalid)
	}
	e, k := find(m.tree, p)
	if k != 0 {
		return fail(k)
	}
	sub := m.subtree(p)
	if e.dir && len(sub) > 1 && !c.Recursive {
		return fail(KindNotEmpty)
	}
	if k := m.treeLeases(c.Token, t, p); k != 0 {
		return fail(k)
	}
	for _, q := range sub {
		delete(m.tree, q)
	}
	m.touchDir(parentOf(p), t)
	return outcome{}
}

func (m *model) rename(c Command, t int64) outcome {
	from, err1 := CleanPath(c.Path)
	to, err2 := CleanPath(c.To)
	if err1 != nil || err2 != nil || from == "/" || to == "/" || from == to || strings.HasPrefix(to, from+"/") {
		return fail(KindInvalid)
	}
	if _, k := find(m.tree, from); k != 0 {
		return fail(k)
	}
	if k := ancestors(m.tree, to); k != 0 {
		return fail(k)
	}
	if _, ok := m.tree[to]; ok {
		return fail(KindExist)
	}
	if k := m.treeLeases(c.Token, t, from, to); k != 0 {
		return fail(k)
	}
	moved := map[string]mentry{}
	for _, q := range m.subtree(from) {
		moved[to+q[len(from):]] = m.tree[q]
		delete(m.tree, q)
	}
	maps.Copy(m.tree, moved)
	m.touchDir(parentOf(from), t)
	m.touchDir(parentOf(to), t)
	return outcome{}
}
