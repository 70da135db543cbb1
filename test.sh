#!/bin/sh
# The project's whole test run, as CI runs it (.ci/run): vet, every test with
# the race detector, and a brief run of each fuzz target.
# FUZZTIME=30s ./test.sh fuzzes longer; PUDDLE_RAFT_SEEDS=5000 runs more
# randomized Raft seeds (see README).
set -eu
cd "$(dirname "$0")"
FUZZTIME="${FUZZTIME:-5s}"

echo "== go vet"
go vet ./...

echo "== go test -race"
go test -race -timeout 25m ./...

echo "== fuzz ($FUZZTIME each)"
# Each fuzz target runs alone: go test -fuzz takes one target at a time.
for pkg in $(go list ./...); do
	dir=$(go list -f '{{.Dir}}' "$pkg")
	for target in $(grep -ho '^func Fuzz[A-Za-z0-9_]*' "$dir"/*_test.go 2>/dev/null | sed 's/^func //' | sort -u); do
		echo "-- $pkg $target"
		go test -run '^$' -fuzz "^${target}\$" -fuzztime "$FUZZTIME" "$pkg" >/dev/null
	done
done
echo "== ok"
