package meta

import (
	"encoding/hex"
	"errors"
	"fmt"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/puddlestore/puddlestore/internal/script"
)

// TestScripts runs the scripts in testdata/*.txt, each against a fresh
// State. A script is a sequence of blocks:
//
//	# comments and blank lines between blocks are kept on -rewrite
//	command pos1 pos2 key=value
//	----
//	expected output, up to the next blank line
//
// Mutations (mkdir, rm, mv, commit, restore, lock, unlock, setnode,
// rmnode, raw) are encoded and applied at the next log index; t= sets the
// command's time (default 0, so the state machine's clock decides),
// client= and seq= its session. Refs are named (ref=a is the SHA-256 of
// "a") and printed by name. Regenerate the expected output with
//
//	go test ./meta -run TestScripts -rewrite
//
// and read the diff: a changed line is a changed behaviour.
func TestScripts(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("testdata", "*.txt"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no scripts in testdata: %v", err)
	}
	for _, path := range files {
		t.Run(strings.TrimSuffix(filepath.Base(path), ".txt"), func(t *testing.T) {
			e := &env{t: t, refs: map[Ref]string{}}
			e.reset(Config{})
			runScript(t, path, e.handle)
		})
	}
}

// cmd is one parsed script command (internal/script).
type cmd = script.Cmd

func runScript(t *testing.T, path string, handle func(cmd) string) { script.Run(t, path, handle) }

// env is one script's state machine and the refs it has named.
type env struct {
	t     *testing.T
	h     *harness
	refs  map[Ref]string
	where string
	times []int64 // effective times of the commands that succeeded, and each minus 1
}

func (e *env) reset(cfg Config) { e.h = newHarness(e.t, cfg) }

func (e *env) fatalf(format string, args ...any) {
	e.t.Helper()
	e.t.Fatalf("%s: %s", e.where, fmt.Sprintf(format, args...))
}

func (e *env) arg(c cmd, i int) string {
	if i >= len(c.Pos) {
		e.fatalf("%s: missing argument %d", c.Name, i+1)
	}
	return c.Pos[i]
}

func (e *env) flag(c cmd, name string) bool {
	for _, p := range c.Pos {
		if p == name {
			return true
		}
	}
	return false
}

func (e *env) str(c cmd, k, def string) string {
	if v, ok := c.KV[k]; ok {
		return v
	}
	return def
}

func (e *env) int(c cmd, k string, def int64) int64 {
	v, ok := c.KV[k]
	if !ok {
		return def
	}
	n, err := strconv.ParseInt(v, 0, 64)
	if err != nil {
		e.fatalf("bad number %s=%q", k, v)
	}
	return n
}

func (e *env) uint(c cmd, k string, def uint64) uint64 { return uint64(e.int(c, k, int64(def))) }

func (e *env) mode(c cmd, def uint32) uint32 {
	v, ok := c.KV["mode"]
	if !ok {
		return def
	}
	n, err := strconv.ParseUint(v, 8, 32)
	if err != nil {
		e.fatalf("bad mode %q", v)
	}
	return uint32(n)
}

// ref names a content: ref=a is refOf("a"); ref=zero is the zero ref.
func (e *env) ref(name string) Ref {
	if name == "zero" {
		return Ref{}
	}
	r := refOf(name)
	e.refs[r] = name
	return r
}

// expect parses expect=absent|any|N:REF.
func (e *env) expect(c cmd) Expect {
	switch v := e.str(c, "expect", "any"); v {
	case "any":
		return ExpectAny()
	case "absent":
		return ExpectAbsent()
	default:
		num, ref, ok := strings.Cut(v, ":")
		n, err := strconv.ParseUint(num, 10, 64)
		if !ok || err != nil {
			e.fatalf("bad expect=%q (absent, any or N:REF)", v)
		}
		return Expect{Match: MatchVersion, Number: n, Ref: e.ref(ref)}
	}
}

func (e *env) handle(c cmd) string {
	e.where = c.Where
	at := e.int(c, "at", Latest)
	var m Command
	switch c.Name {
	case "config":
		e.reset(Config{MaxSessions: int(e.int(c, "max-sessions", 0))})
		return "ok"
	case "mkdir":
		m = Mkdir(e.arg(c, 0), e.flag(c, "parents"), e.mode(c, 0o755), e.str(c, "owner", "root"))
	case "rm":
		m = Remove(e.arg(c, 0), e.flag(c, "recursive"))
	case "mv":
		m = Rename(e.arg(c, 0), e.arg(c, 1))
	case "commit":
		m = Commit(e.arg(c, 0), e.expect(c), e.ref(e.str(c, "ref", "")), e.uint(c, "size", 0), e.mode(c, 0o644), e.str(c, "writer", "w"), 0)
		if data, ok := c.KV["data"]; ok {
			// data=TEXT commits inline; data=*N is N bytes of 'x'.
			if n, err := strconv.Atoi(strings.TrimPrefix(data, "*")); err == nil && strings.HasPrefix(data, "*") {
				data = strings.Repeat("x", n)
			}
			m = CommitInline(m.Path, m.Expect, m.Ref, []byte(data), m.Mode, m.Owner, 0)
		}
	case "restore":
		m = RestoreVersion(e.arg(c, 0), e.uint(c, "version", 0), e.str(c, "writer", "w"), 0)
		m.Expect = e.expect(c)
	case "lock":
		d, err := time.ParseDuration(e.str(c, "ttl", "1s"))
		if err != nil {
			e.fatalf("bad ttl: %v", err)
		}
		m = Lock(e.arg(c, 0), e.str(c, "owner", ""), d)
	case "unlock":
		m = Unlock(e.arg(c, 0), e.str(c, "owner", ""), 0)
	case "setnode":
		m = SetNode(e.uint(c, "id", 0), e.str(c, "addr", ""), e.roles(e.str(c, "roles", "")))
	case "rmnode":
		m = RemoveNode(e.uint(c, "id", 0))
	case "raw":
		b, err := hex.DecodeString(strings.Join(c.Pos, "")) // spaces between bytes are fine
		if err != nil {
			e.fatalf("bad hex: %v", err)
		}
		e.h.index++
		return e.outcome(resultOf(e.h.s.Apply(e.h.index, b)))
	default:
		return e.read(c, at)
	}
	m.Time = e.int(c, "t", 0)
	m.Client, m.Seq = e.uint(c, "client", 0), e.uint(c, "seq", 0)
	m.Token = e.uint(c, "token", 0)
	return e.outcome(e.h.apply(m))
}

func (e *env) roles(s string) Roles {
	var r Roles
	for _, name := range strings.Split(s, ",") {
		switch name {
		case "":
		case "meta":
			r |= RoleMeta
		case "blocks":
			r |= RoleBlocks
		case "gateway":
			r |= RoleGateway
		default:
			n, err := strconv.ParseUint(name, 0, 32)
			if err != nil {
				e.fatalf("bad role %q", name)
			}
			r |= Roles(n)
		}
	}
	return r
}

func (e *env) outcome(res Result, err error) string {
	if err != nil {
		return e.errString(err)
	}
	e.times = append(e.times, res.Time-1, res.Time)
	s := fmt.Sprintf("ok index=%d t=%d", res.Index, res.Time)
	if res.Version.Number != 0 {
		s += "\n" + e.version(res.Version)
	}
	if res.Lease.Token != 0 {
		s += "\nlease " + res.Lease.String()
	}
	return s
}

func (e *env) errString(err error) string {
	var me *Error
	if !errors.As(err, &me) {
		return "error (not meta): " + err.Error()
	}
	s := fmt.Sprintf("error %s: %v", me.Kind, err)
	if me.Current != nil {
		s += "\ncurrent " + e.version(*me.Current)
	}
	return s
}

func (e *env) refName(r Ref) string {
	if name, ok := e.refs[r]; ok {
		return name
	}
	return r.String()[:8]
}

func (e *env) version(v Version) string {
	s := fmt.Sprintf("v%d ref=%s size=%d mode=%04o t=%d writer=%s", v.Number, e.refName(v.Ref), v.Size, v.Mode, v.Time, v.Writer)
	return s + inlineString(v)
}

// inlineString shows an inline version's data, or that it was left out.
func inlineString(v Version) string {
	switch {
	case !v.Inline:
		return ""
	case !v.HasData():
		return " inline (data left out)"
	case len(v.Data) > 16:
		return fmt.Sprintf(" inline data=%q...", v.Data[:16])
	}
	return fmt.Sprintf(" inline data=%q", v.Data)
}

func (e *env) info(path string, in Info) string {
	if in.Dir {
		return fmt.Sprintf("%s dir id=%d mode=%04o owner=%s ctime=%d mtime=%d", path, in.ID, in.Mode, in.Owner, in.CTime, in.MTime)
	}
	return fmt.Sprintf("%s file id=%d v%d ref=%s size=%d mode=%04o owner=%s ctime=%d mtime=%d versions=%d",
		path, in.ID, in.Version.Number, e.refName(in.Version.Ref), in.Size, in.Mode, in.Owner, in.CTime, in.MTime, in.Versions) + inlineString(in.Version)
}
