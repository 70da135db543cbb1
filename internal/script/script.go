// Package script runs the scripted interaction tests of the protocol
// cores (meta/testdata, tapestry/tapestrytest/testdata): a file of
// commands, each followed by "----" and its expected output, compared
// with what a handler prints, or rewritten with -rewrite.
package script

import (
	"flag"
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"
)

var rewrite = flag.Bool("rewrite", false, "rewrite the expected output of testdata scripts")

// Cmd is one parsed script command: its name, positional arguments and
// key=value arguments.
type Cmd struct {
	Where string // file:line
	Name  string
	Pos   []string
	KV    map[string]string
}

// Parse parses one command line.
func Parse(where, s string) Cmd {
	f := strings.Fields(s)
	c := Cmd{Where: where, Name: f[0], KV: map[string]string{}}
	for _, a := range f[1:] {
		if k, v, ok := strings.Cut(a, "="); ok {
			c.KV[k] = v
		} else {
			c.Pos = append(c.Pos, a)
		}
	}
	return c
}

// Run runs one script through handle, comparing or (with -rewrite)
// regenerating the outputs. Output never has blank lines; empty is "ok".
func Run(t *testing.T, path string, handle func(Cmd) string) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimRight(string(data), "\n"), "\n")
	var out strings.Builder
	for i := 0; i < len(lines); i++ {
		l := lines[i]
		if strings.TrimSpace(l) == "" || strings.HasPrefix(l, "#") {
			out.WriteString(l + "\n")
			continue
		}
		where := fmt.Sprintf("%s:%d", path, i+1)
		if i+1 >= len(lines) || lines[i+1] != "----" {
			t.Fatalf("%s: command without ---- separator", where)
		}
		i++
		var want []string
		for i+1 < len(lines) && strings.TrimSpace(lines[i+1]) != "" {
			i++
			want = append(want, lines[i])
		}
		got := strings.TrimRight(handle(Parse(where, l)), "\n")
		if got == "" {
			got = "ok"
		}
		if w := strings.Join(want, "\n"); !*rewrite && got != w {
			t.Errorf("%s: %s\n--- want:\n%s\n--- got:\n%s", where, l, w, got)
		}
		out.WriteString(l + "\n----\n" + got + "\n")
	}
	if *rewrite {
		if err := os.WriteFile(path, []byte(out.String()), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// Int returns the value of k=N, 0 when k is absent.
func (c Cmd) Int(k string) (int, error) {
	v, ok := c.KV[k]
	if !ok {
		return 0, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil {
		return 0, fmt.Errorf("bad %s=%q", k, v)
	}
	return n, nil
}

// Uint returns the value of k=N, 0 when k is absent.
func (c Cmd) Uint(k string) (uint64, error) {
	v, ok := c.KV[k]
	if !ok {
		return 0, nil
	}
	n, err := strconv.ParseUint(v, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("bad %s=%q", k, v)
	}
	return n, nil
}

// List returns the items of k=(a,b,c): nil when k is absent, empty for
// k=().
func (c Cmd) List(k string) []string {
	v, ok := c.KV[k]
	if !ok {
		return nil
	}
	v = strings.TrimSuffix(strings.TrimPrefix(v, "("), ")")
	if v == "" {
		return []string{}
	}
	return strings.Split(v, ",")
}

// Duration reads the one argument of "tick N" (N ticks of tick) or of
// "run D" (a duration).
func (c Cmd) Duration(tick time.Duration) (time.Duration, error) {
	if len(c.Pos) != 1 {
		return 0, fmt.Errorf("want one argument")
	}
	if c.Name == "tick" {
		n, err := strconv.Atoi(c.Pos[0])
		if err != nil || n < 0 {
			return 0, fmt.Errorf("bad tick count %q", c.Pos[0])
		}
		return time.Duration(n) * tick, nil
	}
	d, err := time.ParseDuration(c.Pos[0])
	if err != nil {
		return 0, fmt.Errorf("bad duration %q", c.Pos[0])
	}
	return d, nil
}
