package meta

import (
	"bytes"
	"fmt"
	"strings"
)

// read runs the script commands that do not change the state.
func (e *env) read(c cmd, at int64) string {
	s := e.h.s
	switch c.Name {
	case "stat":
		in, err := s.Stat(e.arg(c, 0), at)
		if err != nil {
			return e.errString(err)
		}
		return e.info(e.arg(c, 0), in)
	case "ls":
		ents, err := s.ReadDir(e.arg(c, 0), at)
		if err != nil {
			return e.errString(err)
		}
		if len(ents) == 0 {
			return "(empty)"
		}
		var out []string
		for _, in := range ents {
			out = append(out, e.info(in.Name, in))
		}
		return strings.Join(out, "\n")
	case "history":
		vs, err := s.History(e.arg(c, 0), at)
		if err != nil {
			return e.errString(err)
		}
		var out []string
		for _, v := range vs {
			out = append(out, e.version(v))
		}
		return strings.Join(out, "\n")
	case "version":
		v, err := s.VersionOf(e.arg(c, 0), e.uint(c, "n", 0), at)
		if err != nil {
			return e.errString(err)
		}
		return e.version(v)
	case "tree":
		var out []string
		e.tree(&out, "/", at)
		return strings.Join(out, "\n")
	case "lease":
		l, ok := s.Lease(e.arg(c, 0))
		if !ok {
			return "no live lease"
		}
		return l.String()
	case "nodes":
		var out []string
		for _, n := range s.Nodes() {
			out = append(out, fmt.Sprintf("node %d addr=%s roles=%s updated=%d", n.ID, n.Addr, n.Roles, n.Updated))
		}
		if len(out) == 0 {
			return "(none)"
		}
		return strings.Join(out, "\n")
	case "applied":
		index, t := s.Applied()
		return fmt.Sprintf("index=%d t=%d", index, t)
	case "sessions":
		var out []string
		s.mu.RLock()
		s.mu.sessions.each(func(se *session) {
			res := "ok"
			if se.err != nil {
				res = se.err.Kind.String()
			}
			out = append(out, fmt.Sprintf("client %d seq=%d index=%d %s", se.client, se.seq, se.index, res))
		})
		s.mu.RUnlock()
		if len(out) == 0 {
			return "(none)"
		}
		return "least recent first:\n" + strings.Join(out, "\n")
	case "snapshot":
		// Round-trip through a fresh State, which must encode to the same
		// bytes and read the same tree, now and as of every time so far.
		b := snapshot(e.t, s)
		fresh := newHarness(e.t, s.cfg)
		if err := fresh.s.Restore(b); err != nil {
			return e.errString(err)
		}
		if !bytes.Equal(snapshot(e.t, fresh.s), b) {
			e.fatalf("restored state encodes differently")
		}
		for _, t := range append(e.times, Latest) {
			var x, y []string
			e.tree(&x, "/", t)
			save := e.h
			e.h = fresh
			e.tree(&y, "/", t)
			e.h = save
			if strings.Join(x, "\n") != strings.Join(y, "\n") {
				e.fatalf("restored tree as of %d differs:\n%s\nvs\n%s", t, strings.Join(x, "\n"), strings.Join(y, "\n"))
			}
		}
		fresh.index = e.h.index
		e.h = fresh // carry on with the restored copy
		return fmt.Sprintf("snapshot %d bytes; restored copy identical", len(b))
	}
	e.fatalf("unknown command %q", c.Name)
	return ""
}

// tree lists everything under p as of at, depth first.
func (e *env) tree(out *[]string, p string, at int64) {
	in, err := e.h.s.Stat(p, at)
	if err != nil {
		*out = append(*out, e.errString(err))
		return
	}
	if !in.Dir {
		*out = append(*out, fmt.Sprintf("%s id=%d v%d ref=%s", p, in.ID, in.Version.Number, e.refName(in.Version.Ref)))
		return
	}
	if p != "/" {
		*out = append(*out, fmt.Sprintf("%s/ id=%d", p, in.ID))
	}
	ents, err := e.h.s.ReadDir(p, at)
	if err != nil {
		*out = append(*out, e.errString(err))
		return
	}
	for _, c := range ents {
		child := p + "/" + c.Name
		if p == "/" {
			child = "/" + c.Name
		}
		e.tree(out, child, at)
	}
	if p == "/" && len(ents) == 0 {
		*out = append(*out, "(empty)")
	}
}
