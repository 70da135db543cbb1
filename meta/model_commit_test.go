package meta

import "strings"

// commit is the model of Commit and RestoreVersion.
func (m *model) commit(c Command, t int64) outcome {
	p, err := CleanPath(c.Path)
	if err != nil {
		return fail(KindInvalid)
	}
	restore, inline := c.Op == OpRestore, c.Op == OpCommitInline
	if !restore && (c.Ref == Ref{} || c.Mode&^0o777 != 0) || restore && c.Version == 0 || len(c.Owner) > MaxName ||
		inline && len(c.Data) > MaxInline {
		return fail(KindInvalid)
	}
	if p == "/" {
		return fail(KindIsDir)
	}
	var e mentry
	var ok bool
	if restore {
		var k Kind
		if e, k = find(m.tree, p); k != 0 {
			return fail(k)
		}
		ok = true
	} else {
		if k := ancestors(m.tree, p); k != 0 {
			return fail(k)
		}
		e, ok = m.tree[p]
	}
	if ok && e.dir {
		return fail(KindIsDir)
	}
	ref, size, mode, data := c.Ref, c.Size, c.Mode, c.Data
	if inline {
		size = uint64(len(c.Data))
	}
	if restore {
		if c.Version > uint64(len(e.file.versions)) {
			return fail(KindNotExist)
		}
		old := e.file.versions[c.Version-1]
		ref, size, mode, inline, data = old.Ref, old.Size, old.Mode, old.Inline, old.Data
	}
	if l, live := m.leases[p]; live && t < l.Expires {
		if c.Token != l.Token {
			return fail(KindLocked)
		}
	} else if c.Token != 0 {
		return fail(KindLocked)
	}
	var cur *Version
	if ok {
		v := e.file.versions[len(e.file.versions)-1]
		v.Data = "" // errors carry versions bare
		cur = &v
	}
	switch x := c.Expect; {
	case x.Match == MatchAbsent && cur != nil,
		x.Match == MatchVersion && (cur == nil || cur.Number != x.Number || cur.Ref != x.Ref):
		return outcome{kind: KindConflict, cur: cur}
	}
	if !ok {
		e = mentry{id: m.nextID, file: &mfile{}}
		m.nextID++
		m.tree[p] = e
		m.touchDir(parentOf(p), t)
	}
	v := Version{Number: uint64(len(e.file.versions)) + 1, Ref: ref, Size: size, Time: t, Writer: c.Owner, Mode: mode}
	if inline {
		v.Inline, v.Data = true, data
	}
	e.file.versions = append(e.file.versions, v)
	v.Data = "" // results carry versions bare
	return outcome{res: Result{Version: v}}
}

func (m *model) lock(c Command, t int64) outcome {
	p, err := CleanPath(c.Path)
	if err != nil || c.Owner == "" || len(c.Owner) > MaxName || c.TTL <= 0 || int64(c.TTL) >= Latest-t {
		return fail(KindInvalid)
	}
	if l, ok := m.leases[p]; ok && t < l.Expires {
		if l.Owner != c.Owner {
			return fail(KindLocked)
		}
		l.Expires = t + int64(c.TTL)
		m.leases[p] = l
		return outcome{res: Result{Lease: l}}
	}
	for q, l := range m.leases {
		if t >= l.Expires {
			delete(m.leases, q)
		}
	}
	l := Lease{Path: p, Owner: c.Owner, Token: m.nextToken, Expires: t + int64(c.TTL)}
	m.nextToken++
	m.leases[p] = l
	return outcome{res: Result{Lease: l}}
}

// treeLeases: live leases on or under the roots need the token, and a
// token must belong to one of them.
func (m *model) treeLeases(token uint64, t int64, roots ...string) Kind {
	matched := false
	for q, l := range m.leases {
		if t >= l.Expires {
			continue
		}
		for _, r := range roots {
			if q == r || strings.HasPrefix(q, r+"/") {
				if l.Token != token {
					return KindLocked
				}
				matched = true
			}
		}
	}
	if token != 0 && !matched {
		return KindLocked
	}
	return 0
}
