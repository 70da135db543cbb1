package raft

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// A tiny datadriven runner in the style of cockroachdb/datadriven, stdlib
// only. A script is a sequence of blocks:
//
//	# comments and blank lines between blocks are kept on -rewrite
//	command pos1 pos2 key=value key=(a,b,c)
//	----
//	expected output, up to the next blank line
//
// Output never contains blank lines; an empty result is written "ok".
// Run with -rewrite to regenerate the expected outputs.

var rewrite = flag.Bool("rewrite", false, "rewrite the expected output of testdata scripts")

type ddCmd struct {
	file string
	line int
	name string
	pos  []string
	kv   map[string]string
	keys []string // kv keys in order, for error messages
}

type ddBlock struct {
	pre  []string // comment and blank lines before the command
	cmd  string
	line int
	want string
}

func parseScript(t *testing.T, path string) (blocks []ddBlock, trailer []string) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimRight(string(data), "\n"), "\n")
	var pre []string
	for i := 0; i < len(lines); i++ {
		l := lines[i]
		if strings.TrimSpace(l) == "" || strings.HasPrefix(l, "#") {
			pre = append(pre, l)
			continue
		}
		b := ddBlock{pre: pre, cmd: l, line: i + 1}
		pre = nil
		i++
		if i >= len(lines) || lines[i] != "----" {
			t.Fatalf("%s:%d: command without ---- separator", path, b.line)
		}
		var out []string
		for i+1 < len(lines) && strings.TrimSpace(lines[i+1]) != "" {
			i++
			out = append(out, lines[i])
		}
		b.want = strings.Join(out, "\n")
		blocks = append(blocks, b)
	}
	return blocks, pre
}

func parseCmd(file string, line int, s string) ddCmd {
	f := strings.Fields(s)
	c := ddCmd{file: file, line: line, name: f[0], kv: map[string]string{}}
	for _, a := range f[1:] {
		if k, v, ok := strings.Cut(a, "="); ok {
			c.kv[k] = v
			c.keys = append(c.keys, k)
		} else {
			c.pos = append(c.pos, a)
		}
	}
	return c
}

func (c ddCmd) fatalf(t *testing.T, format string, args ...any) {
	t.Helper()
	t.Fatalf("%s:%d: %s: %s", c.file, c.line, c.name, fmt.Sprintf(format, args...))
}

// id returns positional argument i as a node id.
func (c ddCmd) id(t *testing.T, i int) uint64 {
	t.Helper()
	if i >= len(c.pos) {
		c.fatalf(t, "missing argument %d", i+1)
	}
	return c.atoi(t, c.pos[i])
}

func (c ddCmd) atoi(t *testing.T, s string) uint64 {
	t.Helper()
	n, err := strconv.ParseUint(s, 10, 64)
	if err != nil {
		c.fatalf(t, "bad number %q", s)
	}
	return n
}

func (c ddCmd) has(k string) bool { _, ok := c.kv[k]; return ok }

func (c ddCmd) uint(t *testing.T, k string, def uint64) uint64 {
	t.Helper()
	v, ok := c.kv[k]
	if !ok {
		return def
	}
	return c.atoi(t, v)
}

func (c ddCmd) bool(t *testing.T, k string, def bool) bool {
	t.Helper()
	v, ok := c.kv[k]
	if !ok {
		return def
	}
	b, err := strconv.ParseBool(v)
	if err != nil {
		c.fatalf(t, "bad bool %s=%q", k, v)
	}
	return b
}

// list parses key=(1,2,3).
func (c ddCmd) list(t *testing.T, k string) []uint64 {
	t.Helper()
	v, ok := c.kv[k]
	if !ok {
		return nil
	}
	v = strings.TrimSuffix(strings.TrimPrefix(v, "("), ")")
	if v == "" {
		return nil
	}
	var out []uint64
	for _, s := range strings.Split(v, ",") {
		out = append(out, c.atoi(t, s))
	}
	return out
}

// runScripts runs every testdata/<glob> script, one subtest per file; newEnv
// creates a fresh environment per file and returns its command handler.
// With -rewrite (and canRewrite) the expected outputs are regenerated.
func runScripts(t *testing.T, glob string, canRewrite bool, newEnv func(t *testing.T) func(c ddCmd) string) {
	files, err := filepath.Glob(filepath.Join("testdata", glob))
	if err != nil || len(files) == 0 {
		t.Fatalf("no scripts match %s: %v", glob, err)
	}
	for _, path := range files {
		t.Run(strings.TrimSuffix(filepath.Base(path), ".txt"), func(t *testing.T) {
			blocks, trailer := parseScript(t, path)
			run := newEnv(t)
			var sb strings.Builder
			for _, b := range blocks {
				got := run(parseCmd(path, b.line, b.cmd))
				got = strings.TrimRight(got, "\n")
				if got == "" {
					got = "ok"
				}
				if sb.Len() > 0 && (len(b.pre) == 0 || strings.TrimSpace(b.pre[0]) != "") {
					sb.WriteString("\n")
				}
				for _, l := range b.pre {
					sb.WriteString(l + "\n")
				}
				sb.WriteString(b.cmd + "\n----\n" + got + "\n")
				if !(*rewrite && canRewrite) && got != b.want {
					t.Errorf("%s:%d: %s\n--- want:\n%s\n--- got:\n%s", path, b.line, b.cmd, b.want, got)
				}
			}
			for _, l := range trailer {
				sb.WriteString(l + "\n")
			}
			if *rewrite && canRewrite {
				if err := os.WriteFile(path, []byte(sb.String()), 0o644); err != nil {
					t.Fatal(err)
				}
			}
		})
	}
}
