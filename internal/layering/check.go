package layering

import (
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"path/filepath"
	"slices"
	"strconv"
)

// Package is the part of `go list -json` output the rules need.
type Package struct {
	ImportPath string
	Dir        string
	GoFiles    []string // non-test sources, relative to Dir
	Imports    []string // direct imports of non-test sources
	Deps       []string // transitive dependencies of non-test sources
	Standard   bool
}

// CheckImports applies Layers, Leaves and ForbiddenImports to pkgs and
// returns one line per violation.
func CheckImports(pkgs []Package) []string {
	var bad []string
	for _, p := range pkgs {
		name, ok := rel(p.ImportPath)
		if !ok || p.Standard {
			continue
		}
		layer := layerOf(name)
		for _, imp := range p.Imports {
			target, inModule := rel(imp)
			if !inModule {
				continue
			}
			if t := layerOf(target); layer >= 0 && t > layer {
				bad = append(bad, fmt.Sprintf("%s (layer %d) imports %s (layer %d): imports point downward only", name, layer, target, t))
			} else if layer >= 0 && matchAny(Leaves, target) {
				bad = append(bad, fmt.Sprintf("%s imports %s: nothing layered imports programs, sims, benches or test environments", name, target))
			}
		}
		for _, f := range ForbiddenImports {
			if !matchAny(f.Packages, name) {
				continue
			}
			for _, imp := range p.Imports {
				if _, inModule := rel(imp); !inModule && matchAny(f.Std, imp) {
					bad = append(bad, fmt.Sprintf("%s imports %s: %s", name, imp, f.Why))
				}
			}
			for _, dep := range p.Deps {
				if matchAny(f.Deps, dep) {
					bad = append(bad, fmt.Sprintf("%s depends on %s: %s", name, dep, f.Why))
				}
			}
		}
	}
	slices.Sort(bad)
	return slices.Compact(bad)
}

// CheckCoreSource parses a core's non-test sources and reports goroutines,
// clock reads, timers and global randomness.
func CheckCoreSource(p Package) ([]string, error) {
	var bad []string
	fset := token.NewFileSet()
	for _, name := range p.GoFiles {
		path := filepath.Join(p.Dir, name)
		f, err := parser.ParseFile(fset, path, nil, parser.SkipObjectResolution)
		if err != nil {
			return nil, fmt.Errorf("layering: parse %s: %w", path, err)
		}
		bad = append(bad, checkFile(fset, p.ImportPath, f)...)
	}
	return bad, nil
}

// checkFile reports banned constructs in one parsed core file.
func checkFile(fset *token.FileSet, pkg string, f *ast.File) []string {
	// Local names of the imports we police: "time", "rand" or renamed.
	local := map[string]string{} // local name -> import path
	for _, imp := range f.Imports {
		path, err := strconv.Unquote(imp.Path.Value)
		if err != nil {
			continue
		}
		name := filepath.Base(path)
		if path == "math/rand/v2" {
			name = "rand"
		}
		if imp.Name != nil {
			name = imp.Name.Name
		}
		local[name] = path
	}
	var bad []string
	report := func(n ast.Node, msg string) {
		bad = append(bad, fmt.Sprintf("%s: %s: %s", fset.Position(n.Pos()), pkg, msg))
	}
	ast.Inspect(f, func(n ast.Node) bool {
		switch n := n.(type) {
		case *ast.GoStmt:
			report(n, "go statement: cores start no goroutine; the driver owns concurrency")
		case *ast.SelectorExpr:
			x, ok := n.X.(*ast.Ident)
			if !ok {
				return true
			}
			path, ok := local[x.Name]
			if !ok {
				return true
			}
			if slices.Contains(CoreBannedCalls[path], n.Sel.Name) {
				report(n, fmt.Sprintf("%s.%s: cores never read the clock or set timers; count ticks", path, n.Sel.Name))
			}
			if (path == "math/rand" || path == "math/rand/v2") && !slices.Contains(CoreAllowedRand, n.Sel.Name) {
				report(n, fmt.Sprintf("%s.%s: cores use the seeded *rand.Rand from their Config, not global randomness", path, n.Sel.Name))
			}
		}
		return true
	})
	return bad
}
