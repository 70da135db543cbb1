package meta

import (
	"fmt"
	"math/rand/v2"
	"reflect"
	"slices"
	"sort"
	"strings"
)

// compare checks every read of s against m: each path of the model's tree
// and of the small universe of names, now and as of a random earlier time.
func compare(s *State, m *model, r *rand.Rand) error {
	if i, t := s.Applied(); i != m.applied || t != m.now {
		return fmt.Errorf("applied (%d, %d), model (%d, %d)", i, t, m.applied, m.now)
	}
	ats := []int64{Latest}
	if len(m.past) > 0 {
		// An event's time and just before it, where an off-by-one shows;
		// or any time at all.
		t := m.past[r.IntN(len(m.past))].t
		if r.IntN(3) == 0 {
			t = r.Int64N(min(m.now, 1<<62) + 2)
		}
		ats = append(ats, t, t-1)
	}
	for _, at := range ats {
		for _, p := range comparePaths(m, at) {
			if err := compareRead(s, m, p, at); err != nil {
				return err
			}
		}
	}
	for _, p := range universe {
		l, ok := s.Lease(p)
		cp, err := CleanPath(p)
		ml, mok := m.leases[cp]
		mok = mok && err == nil && m.now < ml.Expires
		if ok != mok || ok && l != ml {
			return fmt.Errorf("lease %s: %v %v, model %v %v", p, l, ok, ml, mok)
		}
	}
	if got, want := s.Nodes(), sortedNodes(m.nodes); !reflect.DeepEqual(got, want) && len(got)+len(want) > 0 {
		return fmt.Errorf("nodes %v, model %v", got, want)
	}
	var order []uint64
	s.mu.RLock()
	s.mu.sessions.each(func(se *session) {
		order = append(order, se.client)
		if ms := m.sessions[se.client]; ms == nil || ms.seq != se.seq || ms.index != se.index {
			order = append(order, 0) // forces the mismatch below
		}
	})
	s.mu.RUnlock()
	if !slices.Equal(order, m.order) {
		return fmt.Errorf("sessions (least recent first) %v, model %v", order, m.order)
	}
	return nil
}

// universe is every path of up to three elements over the generator's
// names, and a few invalid ones.
var universe = func() []string {
	out := []string{"/", "", "a", "/a/../b", "/a//b", "/a/"}
	var add func(p string, depth int)
	add = func(p string, depth int) {
		if depth == 0 {
			return
		}
		for _, n := range []string{"a", "b", "c"} {
			out = append(out, p+"/"+n)
			add(p+"/"+n, depth-1)
		}
	}
	add("", 3)
	return out
}()

func comparePaths(m *model, at int64) []string {
	ps := slices.Clone(universe)
	for p := range m.treeAt(at) {
		ps = append(ps, p)
	}
	return ps
}

func compareRead(s *State, m *model, p string, at int64) error {
	in, err := s.Stat(p, at)
	min, mk := m.stat(p, at)
	if KindOf(err) != mk || mk == 0 && in != min {
		return fmt.Errorf("stat %q at %d: %+v, %v\n  model %+v, %v", p, at, in, err, min, mk)
	}
	ents, err := s.ReadDir(p, at)
	ments, mk := m.readDir(p, at)
	if KindOf(err) != mk || mk == 0 && !(len(ents) == 0 && len(ments) == 0 || reflect.DeepEqual(ents, ments)) {
		return fmt.Errorf("readdir %q at %d: %+v, %v\n  model %+v, %v", p, at, ents, err, ments, mk)
	}
	vs, err := s.History(p, at)
	mvs, mk := m.history(p, at)
	if KindOf(err) != mk || mk == 0 && !slices.Equal(vs, mvs) {
		return fmt.Errorf("history %q at %d: %+v, %v\n  model %+v, %v", p, at, vs, err, mvs, mk)
	}
	if mk == 0 && len(mvs) > 0 {
		n := uint64(1 + len(mvs)/2)
		full, _ := m.historyFull(p, at)
		if v, err := s.VersionOf(p, n, at); err != nil || v != full[n-1] {
			return fmt.Errorf("version %d of %q at %d: %+v, %v; model %+v", n, p, at, v, err, full[n-1])
		}
		if _, err := s.VersionOf(p, uint64(len(mvs))+1, at); KindOf(err) != KindNotExist {
			return fmt.Errorf("version past the last of %q at %d: %v", p, at, err)
		}
	}
	return nil
}

// The model's reads.

// treeAt is the tree as of time at.
func (m *model) treeAt(at int64) map[string]mentry {
	i := sort.Search(len(m.past), func(i int) bool { return m.past[i].t > at })
	if i == 0 {
		return map[string]mentry{"/": {id: 1, dir: true, mode: 0o755}}
	}
	return m.past[i-1].tree
}

func (m *model) stat(path string, at int64) (Info, Kind) {
	p, err := CleanPath(path)
	if err != nil {
		return Info{}, KindInvalid
	}
	tree := m.treeAt(at)
	e, k := find(tree, p)
	if k != 0 {
		return Info{}, k
	}
	name := "/"
	if p != "/" {
		name = p[strings.LastIndexByte(p, '/')+1:]
	}
	return e.info(name, at), 0
}

func (e mentry) info(name string, at int64) Info {
	in := Info{Name: name, ID: e.id}
	if e.dir {
		in.Dir, in.Owner, in.Mode, in.CTime, in.MTime = true, e.owner, e.mode, e.ctime, e.mtime
		return in
	}
	vs := e.file.versionsAt(at)
	cur := vs[len(vs)-1]
	in.Size, in.Mode, in.Owner, in.CTime, in.MTime = cur.Size, cur.Mode, vs[0].Writer, vs[0].Time, cur.Time
	in.Version, in.Versions = cur, uint64(len(vs))
	return in
}

func (f *mfile) versionsAt(at int64) []Version {
	var out []Version
	for _, v := range f.versions {
		if v.Time <= at {
			out = append(out, v)
		}
	}
	return out
}

func (m *model) readDir(path string, at int64) ([]Info, Kind) {
	p, err := CleanPath(path)
	if err != nil {
		return nil, KindInvalid
	}
	tree := m.treeAt(at)
	e, k := find(tree, p)
	if k != 0 {
		return nil, k
	}
	if !e.dir {
		return nil, KindNotDir
	}
	prefix := p + "/"
	if p == "/" {
		prefix = "/"
	}
	var out []Info
	for q, c := range tree {
		if rest, ok := strings.CutPrefix(q, prefix); ok && rest != "" && !strings.Contains(rest, "/") {
			in := c.info(rest, at)
			in.Version.Data = "" // listings leave inline data out
			out = append(out, in)
		}
	}
	slices.SortFunc(out, func(a, b Info) int { return strings.Compare(a.Name, b.Name) })
	return out, 0
}

// history is History: without inline data.
func (m *model) history(path string, at int64) ([]Version, Kind) {
	vs, k := m.historyFull(path, at)
	for i := range vs {
		vs[i].Data = ""
	}
	return vs, k
}

// historyFull is the history with inline data, as VersionOf gives each.
func (m *model) historyFull(path string, at int64) ([]Version, Kind) {
	p, err := CleanPath(path)
	if err != nil {
		return nil, KindInvalid
	}
	e, k := find(m.treeAt(at), p)
	if k != 0 {
		return nil, k
	}
	if e.dir {
		return nil, KindIsDir
	}
	return e.file.versionsAt(at), 0
}
