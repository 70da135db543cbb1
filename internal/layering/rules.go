package layering

import (
	"strings"
)

// Module is the module path every rule is relative to.
const Module = "github.com/puddlestore/puddlestore"

// Layers lists the module's packages from the bottom up. A package may import
// packages of its own layer or below, never above. A pattern "p" matches the
// package p and "p/..." matches p and everything under it. Packages in no
// layer (sim, bench, internal/...) are not constrained by this table, but no
// layered package may import them (see Leaves).
var Layers = [][]string{
	{"id", "transport/..."},
	{"raft/...", "tapestry/...", "chord/..."},
	{"meta/...", "overlay/...", "blockstore/...", "wal/..."},
	{"fsys/...", "blocks/..."},
	{"client/...", "node/..."},
	{"gateway/..."},
	{"cmd/..."},
}

// Leaves are packages that no layered package may import: programs, tools
// and test environments sit on top of everything.
var Leaves = []string{"cmd/...", "sim/...", "bench/...", "internal/testenv/..."}

// Cores are the pure protocol state machines (DESIGN.md, "Protocol cores are
// deterministic state machines"). Exact packages: their test harnesses
// (raft/rafttest) may do I/O.
var Cores = []string{"raft", "raft/raftpb", "tapestry", "chord", "meta"}

// Forbidden says what a set of packages must not import. Std entries are
// checked against direct imports (the standard library itself uses os and
// net internally, e.g. fmt imports os); Deps entries against every
// transitive dependency.
type Forbidden struct {
	Why      string
	Packages []string // patterns, relative to Module
	Std      []string // standard-library patterns, direct imports only
	Deps     []string // full import-path patterns, transitive
}

// ForbiddenImports is the table of import bans beyond layering.
var ForbiddenImports = []Forbidden{
	{
		Why:      "cores are pure: no network, disk, process or RPC; a driver does I/O",
		Packages: Cores,
		Std:      []string{"net/...", "os/...", "syscall", "io/ioutil", "io/fs", "path/filepath", "unsafe", "plugin"},
		Deps: []string{
			"google.golang.org/grpc/...",
			Module + "/transport/grpcnet/...",
			Module + "/transport/memnet/...",
			Module + "/wal/...",
			Module + "/node/...",
			Module + "/blockstore/...",
		},
	},
	{
		Why:      "id and transport are imported by cores, so they must stay I/O-free too",
		Packages: []string{"id", "transport"},
		Std:      []string{"net/...", "os/...", "syscall"},
		Deps:     []string{"google.golang.org/grpc/..."},
	},
	{
		Why:      "memnet is the simulation network: no real network, disk or RPC",
		Packages: []string{"transport/memnet"},
		Std:      []string{"net/...", "os/..."},
		Deps:     []string{"google.golang.org/grpc/..."},
	},
}

// CoreBannedCalls are package-level functions that cores must not call
// (checked in their non-test sources): the wall clock, timers, and the
// global unseeded random generators. Cores count ticks and take a seeded
// *rand.Rand from Config instead.
var CoreBannedCalls = map[string][]string{
	"time": {"Now", "Since", "Until", "Sleep", "After", "AfterFunc", "NewTimer", "NewTicker", "Tick"},
}

// CoreAllowedRand lists what cores may use from math/rand and math/rand/v2:
// constructors and types for a seeded generator, nothing global.
var CoreAllowedRand = []string{"New", "NewSource", "NewPCG", "NewChaCha8", "NewZipf", "Rand", "Source", "PCG", "ChaCha8", "Zipf"}

// match reports whether pkg (relative to Module, or a full path) matches pattern.
func match(pattern, pkg string) bool {
	if base, ok := strings.CutSuffix(pattern, "/..."); ok {
		return pkg == base || strings.HasPrefix(pkg, base+"/")
	}
	return pkg == pattern
}

func matchAny(patterns []string, pkg string) bool {
	for _, p := range patterns {
		if match(p, pkg) {
			return true
		}
	}
	return false
}

// layerOf returns pkg's layer index, or -1 when it is in none. The highest
// matching layer wins, so a more specific entry can lift a subpackage.
func layerOf(pkg string) int {
	layer := -1
	for i, patterns := range Layers {
		if matchAny(patterns, pkg) {
			layer = i
		}
	}
	return layer
}

// rel returns path relative to Module and whether it is in the module.
func rel(path string) (string, bool) {
	if path == Module {
		return "", true
	}
	return strings.CutPrefix(path, Module+"/")
}
