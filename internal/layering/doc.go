// Package layering keeps PuddleStore's import graph the shape DESIGN.md
// draws:
//
//	cmd → gateway → client/node → fsys → meta, overlay, blockstore, wal
//	    → raft, tapestry, chord → transport, id → stdlib
//
// and keeps the protocol cores pure (no net, no os, no gRPC, no disk, no
// goroutines, no wall clock, no unseeded randomness).
//
// The rules are tables in rules.go; its test lists every package of the
// module with `go list -json ./...`, parses the cores' sources, and fails on
// any import or call that breaks a rule. Packages that do not exist yet are
// simply absent. To add a package, add it to the layer table; to add a rule,
// add a row.
package layering
