package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/puddlestore/puddlestore/blocks"
	"github.com/puddlestore/puddlestore/node"
	"github.com/puddlestore/puddlestore/overlay"
)

// TestShellSession drives `puddle shell` with a script against a whole
// cluster in this process and checks what each line printed.
func TestShellSession(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	l, err := node.StartLocal(ctx, node.LocalConfig{
		Dir: t.TempDir(), StorageNodes: 3, TickInterval: 10 * time.Millisecond,
		Overlay: overlay.Options{}.WithTick(20 * time.Millisecond),
		Blocks:  blocks.Config{RepairInterval: -1},
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })

	local := t.TempDir()
	hello := filepath.Join(local, "hello.txt")
	if err := os.WriteFile(hello, []byte("hello, puddle\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	second := filepath.Join(local, "second")
	if err := os.WriteFile(second, []byte("no newline"), 0o644); err != nil {
		t.Fatal(err)
	}
	outDir := filepath.Join(local, "out")
	if err := os.Mkdir(outDir, 0o755); err != nil {
		t.Fatal(err)
	}

	// Each step is one line of the script and a pattern for all it
	// printed (anchored; (?s) so that . spans lines).
	steps := []struct{ line, want string }{
		{`mkdir -p "/docs/my dir"`, ``},
		{`cd docs`, ``},
		{`pwd`, `/docs\n`},
		{`put ` + hello, `/docs/hello\.txt: version 1, 14 B, inline in its manifest\n`},
		{`put '` + hello + `' "my dir/"`, `/docs/my dir/hello\.txt: version 1, 14 B, inline in its manifest\n`},
		{`ls`, `hello\.txt\nmy dir/\n`},
		{`ls -l`, `-rw.*hello\.txt\ndrwx.*my dir/\n`},
		{`cat hello.txt`, `hello, puddle\n`},
		{`put ` + second + ` hello.txt`, `/docs/hello\.txt: version 2, 10 B, inline in its manifest\n`},
		{`cat hello.txt # no final newline: the shell adds one`, `no newline\n`},
		{`history hello.txt`, `VERSION +TIME +SIZE +WRITER +MANIFEST\n1 +\S+ +14 .*\n2 +\S+ +10 .*\n`},
		{`mv hello.txt "my dir"`, `mv /docs/my dir/hello\.txt: already exists: rename target exists\n`},
		{`mv hello.txt "my dir/b.txt"`, ``},
		{`cd "my dir"`, ``},
		{`ls`, `b\.txt\nhello\.txt\n`},
		{`restore b.txt 1`, `/docs/my dir/b\.txt: version 1 restored as version 3\n`},
		{`get b.txt ` + outDir, `/docs/my dir/b\.txt: 14 B to ` + regexp.QuoteMeta(filepath.Join(outDir, "b.txt")) + `\n`},
		{`cd ../..`, ``},
		{`rm docs`, `rm /docs: directory not empty\n`},
		{`cd "docs/my dir/b.txt"`, `cd /docs/my dir/b\.txt: not a directory\n`},
		{`cd /nowhere`, `cd /nowhere: not found.*\n`},
		{`frobnicate now`, `frobnicate: unknown command \(try help\)\n`},
		{`ls -x`, `ls: unknown flag -x \(usage: ls \[-l\] \[PATH\]\)\n`},
		{`mv one`, `mv: wrong number of arguments \(usage: mv FROM TO\)\n`},
		{`cat "unterminated`, `shell: unterminated " quote\n`},
		{"cat 'a\x00b'", `cat "/a\\x00b": invalid argument: NUL in path\n`},
		{`cd ../../..`, ``},
		{`pwd`, `/\n`},
		{``, ``},
		{`rm -r docs`, ``},
		{`ls`, ``},
		{`exit`, ``},
		{`pwd`, `never run`},
	}
	var script strings.Builder
	for _, s := range steps {
		script.WriteString(s.line + "\n")
	}
	var out bytes.Buffer
	cmd := shellCmd()
	cmd.SetArgs([]string{"--addr", strings.Join(l.MetaAddrs(), ","), "--timeout", "20s"})
	cmd.SetIn(strings.NewReader(script.String()))
	cmd.SetOut(&out)
	if err := cmd.ExecuteContext(ctx); err != nil {
		t.Fatalf("shell: %v\n%s", err, out.String())
	}

	// The prompt shows the working directory; split the transcript at it.
	prompt := regexp.MustCompile(`puddle:(/[^>]*)> `)
	outputs := prompt.Split(out.String(), -1)[1:]
	dirs := prompt.FindAllStringSubmatch(out.String(), -1)
	if len(outputs) != len(steps)-1 {
		t.Fatalf("ran %d lines, want %d up to exit:\n%s", len(outputs), len(steps)-1, out.String())
	}
	for i, s := range steps[:len(steps)-1] {
		if !regexp.MustCompile(`(?s)^` + s.want + `$`).MatchString(outputs[i]) {
			t.Errorf("%s> %s\n got: %q\nwant: %q", dirs[i][1], s.line, outputs[i], s.want)
		}
	}
	if got, want := dirs[3][1], "/docs"; got != want {
		t.Errorf("prompt after cd docs shows %q, want %q", got, want)
	}
	if got, err := os.ReadFile(filepath.Join(outDir, "b.txt")); err != nil || string(got) != "hello, puddle\n" {
		t.Errorf("get wrote %q, %v", got, err)
	}
}

// TestShellEOF: the end of the input ends the shell with status 0.
func TestShellEOF(t *testing.T) {
	var out bytes.Buffer
	s := &shell{ctx: context.Background(), out: &shellWriter{w: &out}, cwd: "/", prev: "/"}
	if err := s.run(newScanInput(strings.NewReader("pwd\nhelp\nhelp ls\nhelp nope\n\n"), s.out)); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"puddle:/> /\n", "ls [-l] [PATH]  list", "exit", "nope: unknown command"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}
	if !strings.HasSuffix(out.String(), "puddle:/> \n") {
		t.Errorf("output does not end with the last prompt and a newline: %q", out.String())
	}
}

func TestShellSplit(t *testing.T) {
	for _, tt := range []struct {
		line string
		want []string
		err  bool
	}{
		{"", nil, false},
		{"   \t ", nil, false},
		{"ls", []string{"ls"}, false},
		{"  ls  -l\t/a  ", []string{"ls", "-l", "/a"}, false},
		{`cd "my dir"`, []string{"cd", "my dir"}, false},
		{`cd 'my dir'`, []string{"cd", "my dir"}, false},
		{`cd my\ dir`, []string{"cd", "my dir"}, false},
		{`put a"b c"d`, []string{"put", "ab cd"}, false},
		{`cat "say \"hi\" \\ \n"`, []string{"cat", `say "hi" \ \n`}, false},
		{`cat 'it\'s'`, nil, true}, // no escapes in '...'
		{`cat ''`, []string{"cat", ""}, false},
		{`cat "" x`, []string{"cat", "", "x"}, false},
		{`ls # a comment`, []string{"ls"}, false},
		{`ls a#b`, []string{"ls", "a#b"}, false},
		{`cat "open`, nil, true},
		{`cat 'open`, nil, true},
		{`cat trailing\`, []string{"cat", `trailing\`}, false},
		{"cat héllo wörld", []string{"cat", "héllo", "wörld"}, false},
	} {
		got, err := shellSplit(tt.line)
		if (err != nil) != tt.err || !slices.Equal(got, tt.want) {
			t.Errorf("shellSplit(%q) = %q, %v; want %q, error %v", tt.line, got, err, tt.want, tt.err)
		}
	}
}

func TestShellResolve(t *testing.T) {
	for _, tt := range []struct {
		cwd, p, want string // want "" for an error
	}{
		{"/", "a", "/a"},
		{"/a", "b/c", "/a/b/c"},
		{"/a", "/x", "/x"},
		{"/a/b", "..", "/a"},
		{"/a/b", "../..", "/"},
		{"/a/b", "../../../..", "/"},
		{"/a", "./b/./c/", "/a/b/c"},
		{"/a", "b//c", "/a/b/c"},
		{"/a", "/", "/"},
		{"/a", "my dir", "/a/my dir"},
		{"/a", "", ""},
		{"/a", "b\x00c", ""},
		{"/a", strings.Repeat("n", 256), ""},
	} {
		got, err := shellResolve(tt.cwd, tt.p)
		if tt.want == "" && err == nil || tt.want != "" && (err != nil || got != tt.want) {
			t.Errorf("shellResolve(%q, %q) = %q, %v; want %q", tt.cwd, tt.p, got, err, tt.want)
		}
	}
}

func TestShellFlags(t *testing.T) {
	for _, tt := range []struct {
		args  []string
		flags string
		rest  []string
		err   bool
	}{
		{nil, "", nil, false},
		{[]string{"a"}, "", []string{"a"}, false},
		{[]string{"-r", "a"}, "r", []string{"a"}, false},
		{[]string{"-rp", "a", "-r"}, "rp", []string{"a", "-r"}, false},
		{[]string{"--", "-r"}, "", []string{"-r"}, false},
		{[]string{"-", "x"}, "", []string{"-", "x"}, false},
		{[]string{"-x"}, "", nil, true},
	} {
		f, rest, err := shellFlagsOf("rp", tt.args)
		if (err != nil) != tt.err || string(f) != tt.flags || !slices.Equal(rest, tt.rest) {
			t.Errorf("shellFlagsOf(%q) = %q, %q, %v", tt.args, f, rest, err)
		}
	}
}

// FuzzShellLine: no command line makes the parsing panic, and every word
// of a line that splits resolves or fails cleanly.
func FuzzShellLine(f *testing.F) {
	for _, s := range []string{"ls -l /a", `cd "my dir"`, `put 'a b' c\ d`, "rm -r ../..", "cat \x00", `"\`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, line string) {
		args, err := shellSplit(line)
		if err != nil {
			return
		}
		if _, rest, err := shellFlagsOf("lpr", args); err == nil {
			for _, a := range rest {
				if p, err := shellResolve("/a/b", a); err == nil && !strings.HasPrefix(p, "/") {
					t.Fatalf("shellResolve(%q) = %q", a, p)
				}
			}
		}
	})
}
