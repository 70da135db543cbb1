package rafttest

import (
	"flag"
	"os"
	"strconv"
	"testing"
)

var (
	seedFlag  = flag.Int64("seed", -1, "run the tests with this seed (default: a fixed seed; PUDDLE_RAFT_SEED)")
	seedsFlag = flag.Int("seeds", 0, "number of seeds TestRandomized runs (default 1000; PUDDLE_RAFT_SEEDS)")
)

// defaultSeed is the seed of every test when none is given.
const defaultSeed = 1

// testSeed returns the seed a test runs with: -seed, PUDDLE_RAFT_SEED, or
// defaultSeed.
func testSeed(t testing.TB) uint64 {
	if *seedFlag >= 0 {
		return uint64(*seedFlag)
	}
	if v := os.Getenv("PUDDLE_RAFT_SEED"); v != "" {
		n, err := strconv.ParseUint(v, 10, 64)
		if err != nil {
			t.Fatalf("PUDDLE_RAFT_SEED=%q: %v", v, err)
		}
		return n
	}
	return defaultSeed
}

// newCluster builds a cluster for a test with the test's seed.
func newCluster(t *testing.T, cfg Config) *Cluster {
	t.Helper()
	cfg.Seed = testSeed(t)
	return New(t, cfg)
}
