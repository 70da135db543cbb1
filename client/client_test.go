package client_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"sync"
	"testing"
	"testing/fstest"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/puddlestore/puddlestore/blocks"
	"github.com/puddlestore/puddlestore/client"
	"github.com/puddlestore/puddlestore/fsys"
	"github.com/puddlestore/puddlestore/meta"
	"github.com/puddlestore/puddlestore/node"
	"github.com/puddlestore/puddlestore/overlay"
)

// onEachOverlay runs test as a subtest per overlay kind: the file system
// must work the same on Tapestry and Chord.
func onEachOverlay(t *testing.T, test func(t *testing.T, kind string)) {
	for _, kind := range overlay.Kinds {
		t.Run(kind, func(t *testing.T) { test(t, kind) })
	}
}

// startLocal runs a whole cluster in this process: 3 metadata voters and
// 4 storage nodes (R=3) on the overlay kind, real gRPC on loopback.
func startLocal(t *testing.T, kind string) *node.Local {
	t.Helper()
	l, err := node.StartLocal(ctx(t), node.LocalConfig{
		Dir: t.TempDir(), StorageNodes: 4, TickInterval: 10 * time.Millisecond,
		Overlay: overlay.Options{Kind: kind}.WithTick(20 * time.Millisecond),
		Blocks:  blocks.Config{RepairInterval: -1},
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	return l
}

// TestEndToEnd: files written through one client read back through
// another, byte for byte; versions, views of the past, the namespace
// operations and the io/fs view, over a whole cluster.
func TestEndToEnd(t *testing.T) { onEachOverlay(t, testEndToEnd) }

func testEndToEnd(t *testing.T, kind string) {
	l := startLocal(t, kind)
	w, err := client.DialOptions(client.Options{User: "alice", TempDir: t.TempDir()}, l.MetaAddrs()...)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	r, err := client.Dial(l.MetaAddrs()[2])
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()

	// The cluster's status, through a client that knows one node: every
	// metadata node (found through the members) and every storage node.
	st, err := r.Cluster(ctx(t), 2*time.Second)
	if err != nil || len(st.Meta) != 3 || len(st.Storage) != 4 || !st.Registry {
		t.Fatalf("cluster status: %d metadata and %d storage nodes, %v; want 3 and 4: %+v", len(st.Meta), len(st.Storage), err, st)
	}
	leaderOf := map[uint64]uint64{} // term -> the node that says it leads
	for _, n := range st.Meta {
		if n.Err != "" {
			t.Fatalf("metadata node %+v did not answer", n)
		}
		if l, ok := leaderOf[n.Term]; ok && n.Role == "leader" {
			t.Fatalf("cluster status: nodes %d and %d both lead term %d", l, n.ID, n.Term)
		}
		if n.Role == "leader" {
			leaderOf[n.Term] = n.ID
		}
	}
	for _, n := range st.Storage {
		if n.Err != "" || n.Overlay != kind {
			t.Fatalf("storage node %+v: want it to answer, on %s", n, kind)
		}
	}

	rng := rand.New(rand.NewPCG(7, 7))
	big := make([]byte, 5<<20+123)
	for i := range big {
		big[i] = byte(rng.Uint32())
	}
	if err := w.MkdirAll(ctx(t), "/a/b"); err != nil {
		t.Fatal(err)
	}
	v1, stats, err := w.WriteFile(ctx(t), "/a/b/big", bytes.NewReader(big), fsys.WriteOptions{})
	if err != nil || v1.Number != 1 || stats.Chunks < 2 {
		t.Fatalf("write big: %+v %+v %v", v1, stats, err)
	}
	f, err := r.OpenVersion(ctx(t), "/a/b/big", 0)
	if err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(f)
	f.Close()
	if err != nil || !bytes.Equal(got, big) {
		t.Fatalf("read big through another client: %d bytes, %v", len(got), err)
	}

	// A second version, then the first read as of its time and by number.
	nf, err := w.Create(ctx(t), "/a/b/big")
	if err != nil {
		t.Fatal(err)
	}
	fmt.Fprint(nf, "small now")
	if err := nf.Close(); err != nil {
		t.Fatal(err)
	}
	old, err := r.AsOf(time.Unix(0, v1.Time)).OpenVersion(ctx(t), "/a/b/big", 0)
	if err != nil {
		t.Fatal(err)
	}
	if old.Size() != int64(len(big)) {
		t.Fatalf("as of version 1: size %d", old.Size())
	}
	old.Close()
	hist, err := r.History(ctx(t), "/a/b/big")
	if err != nil || len(hist) != 2 || hist[1].Size != 9 || hist[0].Writer != "alice" {
		t.Fatalf("history: %+v %v", hist, err)
	}

	// Namespace operations and their errors.
	if err := w.Rename(ctx(t), "/a/b", "/a/c"); err != nil {
		t.Fatal(err)
	}
	if _, err := r.Stat(ctx(t), "/a/b/big"); !errors.Is(err, meta.ErrNotExist) {
		t.Fatalf("stat of the old name: %v", err)
	}
	if err := w.Remove(ctx(t), "/a"); !errors.Is(err, meta.ErrNotEmpty) {
		t.Fatalf("remove of a non-empty dir: %v", err)
	}
	if _, _, err := w.WriteFile(ctx(t), "/a/c", bytes.NewReader(nil), fsys.WriteOptions{}); !errors.Is(err, meta.ErrIsDir) {
		t.Fatalf("write onto a directory: %v", err)
	}

	// The io/fs view of the tree.
	if _, _, err := w.WriteFile(ctx(t), "/a/c/small", bytes.NewReader([]byte("tiny")), fsys.WriteOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := fstest.TestFS(r, "a/c/big", "a/c/small"); err != nil {
		t.Fatal(err)
	}

	// What all this did shows in the process's Prometheus metrics.
	fams, err := prometheus.DefaultGatherer.Gather()
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for _, f := range fams {
		for _, m := range f.GetMetric() {
			if m.GetGauge().GetValue() > 0 || m.GetCounter().GetValue() > 0 || m.GetHistogram().GetSampleCount() > 0 {
				seen[f.GetName()] = true
			}
		}
	}
	for _, name := range []string{"puddle_raft_term", "puddle_raft_commit_index", "puddle_raft_proposal_seconds", "puddle_raft_apply_seconds",
		"puddle_raft_leader_changes_total", "puddle_blocks_stored", "puddle_blocks_stored_bytes", "puddle_overlay_lookup_hops",
		"puddle_client_operations_total", "puddle_client_operation_seconds"} {
		if !seen[name] {
			t.Errorf("metric %s: no series with a value", name)
		}
	}
}

// TestRacingWriters: many clients commit to the same file with
// compare-and-swap; every commit either lands as its own version or gets
// a Conflict, and the history has exactly the landed ones.
func TestRacingWriters(t *testing.T) { onEachOverlay(t, testRacingWriters) }

func testRacingWriters(t *testing.T, kind string) {
	l := startLocal(t, kind)
	const writers, rounds = 4, 5
	var mu sync.Mutex
	landed := map[string]bool{}
	var wg sync.WaitGroup
	for w := range writers {
		wg.Go(func() {
			c, err := client.Dial(l.MetaAddrs()...)
			if err != nil {
				t.Error(err)
				return
			}
			defer c.Close()
			for i := range rounds {
				body := fmt.Sprintf("writer %d round %d", w, i)
				var expect meta.Expect
				info, err := c.Stat(context.Background(), "/shared")
				switch {
				case errors.Is(err, meta.ErrNotExist):
					expect = meta.ExpectAbsent()
				case err != nil:
					t.Error(err)
					return
				default:
					expect = meta.ExpectVersion(info.Version)
				}
				_, _, err = c.WriteFile(ctx(t), "/shared", bytes.NewReader([]byte(body)), fsys.WriteOptions{Expect: expect})
				switch {
				case err == nil:
					mu.Lock()
					landed[body] = true
					mu.Unlock()
				case !errors.Is(err, meta.ErrConflict):
					t.Errorf("%s: %v", body, err)
					return
				}
			}
		})
	}
	wg.Wait()
	c, err := client.Dial(l.MetaAddrs()...)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	hist, err := c.History(ctx(t), "/shared")
	if err != nil {
		t.Fatal(err)
	}
	if len(hist) != len(landed) {
		t.Fatalf("%d versions in history, %d commits acknowledged", len(hist), len(landed))
	}
	for _, v := range hist {
		f, err := c.OpenVersion(ctx(t), "/shared", v.Number)
		if err != nil {
			t.Fatal(err)
		}
		b, err := io.ReadAll(f)
		f.Close()
		if err != nil || !landed[string(b)] {
			t.Fatalf("version %d reads %q (%v), not an acknowledged commit", v.Number, b, err)
		}
	}
}
