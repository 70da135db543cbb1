package layering

import (
	"bytes"
	"encoding/json"
	"errors"
	"go/parser"
	"go/token"
	"io"
	"os/exec"
	"strings"
	"testing"
)

// listModule runs `go list -e -json ./...` at the module root.
func listModule(t *testing.T) []Package {
	t.Helper()
	goBin, err := exec.LookPath("go")
	if err != nil {
		t.Skip("go command not found")
	}
	cmd := exec.Command(goBin, "list", "-e", "-json=ImportPath,Dir,GoFiles,Imports,Deps,Standard", "./...")
	cmd.Dir = "../.."
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, stderr.String())
	}
	var pkgs []Package
	dec := json.NewDecoder(bytes.NewReader(out))
	for {
		var p Package
		if err := dec.Decode(&p); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			t.Fatalf("decode go list output: %v", err)
		}
		pkgs = append(pkgs, p)
	}
	return pkgs
}

func TestModuleLayering(t *testing.T) {
	pkgs := listModule(t)
	seen := map[string]bool{}
	for _, p := range pkgs {
		seen[p.ImportPath] = true
	}
	for _, must := range []string{Module + "/id", Module + "/transport", Module + "/internal/layering"} {
		if !seen[must] {
			t.Fatalf("go list did not report %s; is the test running at the module root?", must)
		}
	}
	for _, v := range CheckImports(pkgs) {
		t.Error(v)
	}
	for _, p := range pkgs {
		name, _ := rel(p.ImportPath)
		if !matchAny(Cores, name) || len(p.GoFiles) == 0 {
			continue
		}
		bad, err := CheckCoreSource(p)
		if err != nil {
			t.Error(err)
		}
		for _, v := range bad {
			t.Error(v)
		}
	}
}

// TestRulesCatchViolations feeds the checker made-up packages, so the rules
// are known to bite before the packages they guard exist.
func TestRulesCatchViolations(t *testing.T) {
	m := func(s string) string { return Module + "/" + s }
	tests := []struct {
		name string
		pkg  Package
		want string // substring of the single expected violation; "" for none
	}{
		{"core imports net", Package{ImportPath: m("raft"), Imports: []string{"net"}}, "raft imports net"},
		{"core imports os/exec", Package{ImportPath: m("chord"), Imports: []string{"os/exec"}}, "chord imports os/exec"},
		{"core reaches grpc", Package{ImportPath: m("tapestry"), Deps: []string{"google.golang.org/grpc/codes"}}, "depends on google.golang.org/grpc/codes"},
		{"core reaches wal", Package{ImportPath: m("meta"), Imports: []string{m("wal")}, Deps: []string{m("wal")}}, "meta depends on"},
		{"raftpb reaches grpcnet", Package{ImportPath: m("raft/raftpb"), Deps: []string{m("transport/grpcnet")}}, "depends on " + m("transport/grpcnet")},
		{"transport imports raft", Package{ImportPath: m("transport"), Imports: []string{m("raft")}}, "transport (layer 0) imports raft (layer 1)"},
		{"id imports node", Package{ImportPath: m("id"), Imports: []string{m("node")}}, "id (layer 0) imports node (layer 4)"},
		{"raft imports meta", Package{ImportPath: m("raft"), Imports: []string{m("meta")}}, "raft (layer 1) imports meta (layer 2)"},
		{"fsys imports cmd", Package{ImportPath: m("fsys"), Imports: []string{m("cmd/puddle")}}, "fsys (layer 3) imports cmd/puddle (layer 6)"},
		{"node imports testenv", Package{ImportPath: m("node"), Imports: []string{m("internal/testenv")}}, "nothing layered imports"},
		{"transport imports net", Package{ImportPath: m("transport"), Imports: []string{"net"}}, "transport imports net"},
		{"memnet imports grpc", Package{ImportPath: m("transport/memnet"), Deps: []string{"google.golang.org/grpc"}}, "memnet depends on google.golang.org/grpc"},
		{"grpcnet may use net and grpc", Package{ImportPath: m("transport/grpcnet"), Imports: []string{"net", "google.golang.org/grpc"}, Deps: []string{"google.golang.org/grpc"}}, ""},
		{"rafttest may use memnet and os", Package{ImportPath: m("raft/rafttest"), Imports: []string{"os", m("transport/memnet"), m("raft")}, Deps: []string{m("transport/memnet")}}, ""},
		{"node uses everything below", Package{ImportPath: m("node"), Imports: []string{"net", "os", m("raft"), m("wal"), m("transport/grpcnet")}}, ""},
		{"core uses fmt, time and transport", Package{ImportPath: m("raft"), Imports: []string{"fmt", "time", m("transport"), m("id")}, Deps: []string{"os", "net/netip"}}, ""},
		{"sim may use anything", Package{ImportPath: m("sim"), Imports: []string{m("cmd/puddle"), "net"}}, ""},
	}
	for _, tt := range tests {
		got := CheckImports([]Package{tt.pkg})
		switch {
		case tt.want == "" && len(got) > 0:
			t.Errorf("%s: unexpected violations %q", tt.name, got)
		case tt.want != "" && (len(got) != 1 || !strings.Contains(got[0], tt.want)):
			t.Errorf("%s: got %q, want one containing %q", tt.name, got, tt.want)
		}
	}
}

func TestCoreSourceRules(t *testing.T) {
	tests := []struct {
		name, src string
		want      []string // substrings, one per expected violation
	}{
		{"clean", `package raft
import ("math/rand/v2"; "time")
type Config struct { Rand *rand.Rand; Tick time.Duration }
func f(r *rand.Rand) int { return r.IntN(3) }
var _ = rand.New(rand.NewPCG(1, 2))`, nil},
		{"goroutine", `package raft
func f() { go f() }`, []string{"go statement"}},
		{"clock", `package raft
import "time"
var a = time.Now()
func f() { time.Sleep(1); <-time.After(1) }`, []string{"time.Now", "time.Sleep", "time.After"}},
		{"renamed clock", `package raft
import clk "time"
var a = clk.Since(clk.Time{})`, []string{"time.Since"}},
		{"global rand", `package raft
import "math/rand"
var a = rand.Intn(3)`, []string{"math/rand.Intn"}},
		{"global rand v2", `package raft
import "math/rand/v2"
var a = rand.IntN(3)`, []string{"math/rand/v2.IntN"}},
	}
	for _, tt := range tests {
		fset := token.NewFileSet()
		f, err := parser.ParseFile(fset, "x.go", tt.src, 0)
		if err != nil {
			t.Fatalf("%s: %v", tt.name, err)
		}
		got := checkFile(fset, "raft", f)
		if len(got) != len(tt.want) {
			t.Errorf("%s: got %q, want %d violations", tt.name, got, len(tt.want))
			continue
		}
		for i, w := range tt.want {
			if !strings.Contains(got[i], w) {
				t.Errorf("%s: violation %q lacks %q", tt.name, got[i], w)
			}
		}
	}
}

func TestMatch(t *testing.T) {
	tests := []struct {
		pattern, pkg string
		want         bool
	}{
		{"raft", "raft", true},
		{"raft", "raft/raftpb", false},
		{"raft/...", "raft", true},
		{"raft/...", "raft/raftpb", true},
		{"raft/...", "raftish", false},
		{"net/...", "net", true},
		{"net/...", "net/http", true},
		{"net/...", "netip", false},
	}
	for _, tt := range tests {
		if got := match(tt.pattern, tt.pkg); got != tt.want {
			t.Errorf("match(%q, %q) = %v, want %v", tt.pattern, tt.pkg, got, tt.want)
		}
	}
}
