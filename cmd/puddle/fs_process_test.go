package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/puddlestore/puddlestore/client"
	"github.com/puddlestore/puddlestore/fsys"
	"github.com/puddlestore/puddlestore/internal/testenv"
	"github.com/puddlestore/puddlestore/meta"
	"github.com/puddlestore/puddlestore/node/kvclient"
	"github.com/puddlestore/puddlestore/overlay"
)

// content is the body of write seq of writer w: a header naming it and a
// hash of the rest, so that any version read back shows whether it is
// one whole write (and which) or a mix.
func content(w, seq int) []byte {
	rng := rand.New(rand.NewPCG(uint64(w), uint64(seq)))
	body := make([]byte, 16+rng.IntN(600<<10)) // some inline, most chunked
	for i := range body {
		body[i] = byte(rng.Uint32())
	}
	h := sha256.Sum256(body)
	out := fmt.Appendf(nil, "writer %d seq %d\n", w, seq)
	out = append(out, h[:]...)
	return append(out, body...)
}

// whole reports which write b is, if it is one whole write.
func whole(b []byte) (w, seq int, ok bool) {
	line, rest, found := bytes.Cut(b, []byte("\n"))
	if !found || len(rest) < sha256.Size {
		return 0, 0, false
	}
	if _, err := fmt.Sscanf(string(line), "writer %d seq %d", &w, &seq); err != nil {
		return 0, 0, false
	}
	return w, seq, bytes.Equal(b, content(w, seq))
}

// write is one commit a writer made, with its outcome.
type write struct {
	path    string
	w, seq  int
	version uint64 // the committed version, when acknowledged
	err     error  // nil: acknowledged
}

// TestFileSystemProcessesSurviveKill9: five `puddle node` processes (three
// metadata voters, two storage nodes), R=3. Writers commit new versions of
// their own files, and racing writers compare-and-swap one shared file,
// while a storage node and then the Raft leader are killed with SIGKILL
// and restarted. Afterwards every acknowledged write reads back byte for
// byte at its version, every version of every file is one whole write
// (never a mix), histories hold every acknowledged version, and every
// racer's attempt either landed or got a Conflict (or failed during a
// crash, its outcome unknown).
func TestFileSystemProcessesSurviveKill9(t *testing.T) {
	for _, kind := range overlay.Kinds {
		t.Run(kind, func(t *testing.T) { testFileSystemProcessesSurviveKill9(t, kind) })
	}
}

func testFileSystemProcessesSurviveKill9(t *testing.T, kind string) {
	bin := buildBinary(t)
	begin := time.Now()
	root := t.TempDir()
	addrs := make([]string, 5)
	for i := range addrs {
		addrs[i] = testenv.FreeAddr(t)
	}
	args := func(i int) []string {
		a := []string{"node", "--data", filepath.Join(root, fmt.Sprint(i)), "--listen", addrs[i],
			"--raft-tick", "20ms", "--repair-interval", "1s", "--overlay", kind, "--http", ""}
		a = append(a, tapNodeArgs...)
		if i == 0 {
			a = append(a, "--bootstrap")
		} else {
			a = append(a, "--join", addrs[0])
		}
		if i < 3 {
			a = append(a, "--meta")
		}
		return a
	}
	nodes := make([]*tapNode, 5)
	for i := range nodes {
		nodes[i] = startNodeProcess(t, bin, "puddle", args(i)...)
	}
	t.Logf("5 nodes up in %v", time.Since(begin).Round(time.Millisecond))
	metaAddrs := addrs[:3]

	var mu sync.Mutex
	var writes []write
	record := func(w write) {
		mu.Lock()
		writes = append(writes, w)
		mu.Unlock()
	}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	// Four writers, each on its own two files; three racers on /shared.
	for w := range 4 {
		wg.Go(func() {
			c, err := client.Dial(metaAddrs...)
			if err != nil {
				t.Error(err)
				return
			}
			defer c.Close()
			for seq := 0; ; seq++ {
				select {
				case <-stop:
					return
				default:
				}
				p := fmt.Sprintf("/w%d-%d", w, seq%2)
				ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
				v, _, err := c.WriteFile(ctx, p, bytes.NewReader(content(w, seq)), fsys.WriteOptions{})
				cancel()
				record(write{path: p, w: w, seq: seq, version: v.Number, err: err})
			}
		})
	}
	for r := 10; r < 13; r++ {
		wg.Go(func() {
			c, err := client.Dial(metaAddrs...)
			if err != nil {
				t.Error(err)
				return
			}
			defer c.Close()
			for seq := 0; ; seq++ {
				select {
				case <-stop:
					return
				default:
				}
				ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
				expect := meta.ExpectAbsent()
				info, err := c.Stat(ctx, "/shared")
				if err == nil {
					expect = meta.ExpectVersion(info.Version)
				}
				if err == nil || errors.Is(err, meta.ErrNotExist) {
					var v meta.Version
					v, _, err = c.WriteFile(ctx, "/shared", bytes.NewReader(content(r, seq)), fsys.WriteOptions{Expect: expect})
					record(write{path: "/shared", w: r, seq: seq, version: v.Number, err: err})
				}
				cancel()
			}
		})
	}
	acked := func() int {
		mu.Lock()
		defer mu.Unlock()
		n := 0
		for _, w := range writes {
			if w.err == nil {
				n++
			}
		}
		return n
	}
	waitAcked := func(n int, what string) {
		testenv.WaitFor(t, 60*time.Second, what, func() (int, bool) { k := acked(); return k, k >= n })
	}

	waitAcked(20, "20 acknowledged writes")
	nodes[4].kill() // a storage node
	t.Logf("killed storage node 4 after %d acknowledged writes", acked())
	waitAcked(acked()+20, "20 more writes with a storage node down")
	nodes[4] = startNodeProcess(t, bin, "puddle", args(4)...)

	lead := leaderOf(t, metaAddrs)
	nodes[lead].kill()
	t.Logf("killed the Raft leader, node %d, after %d acknowledged writes", lead, acked())
	waitAcked(acked()+20, "20 more writes after the leader was killed")
	nodes[lead] = startNodeProcess(t, bin, "puddle", args(lead)...)
	waitAcked(acked()+20, "20 more writes with every node back")
	close(stop)
	wg.Wait()
	t.Logf("writers stopped after %v", time.Since(begin).Round(time.Millisecond))

	c, err := client.Dial(metaAddrs...)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()

	// Every acknowledged write reads back, byte for byte, at its version.
	var ok, unknown, conflicts int
	ackedAt := map[string]map[uint64]write{}
	for _, w := range writes {
		switch {
		case w.err == nil:
			ok++
			if ackedAt[w.path] == nil {
				ackedAt[w.path] = map[uint64]write{}
			}
			if prev, dup := ackedAt[w.path][w.version]; dup {
				t.Fatalf("%s version %d acknowledged twice: %+v and %+v", w.path, w.version, prev, w)
			}
			ackedAt[w.path][w.version] = w
			got := readVersion(ctx, t, c, w.path, w.version)
			if !bytes.Equal(got, content(w.w, w.seq)) {
				t.Fatalf("%s version %d: acknowledged as writer %d seq %d, reads %d other bytes", w.path, w.version, w.w, w.seq, len(got))
			}
		case errors.Is(w.err, meta.ErrConflict):
			conflicts++
		default:
			unknown++
		}
	}
	// Every version of every file is one whole write; histories hold every
	// acknowledged version.
	for p, vs := range ackedAt {
		hist, err := c.History(ctx, p)
		if err != nil {
			t.Fatal(err)
		}
		have := map[uint64]bool{}
		for _, v := range hist {
			have[v.Number] = true
			if w, seq, whole := whole(readVersion(ctx, t, c, p, v.Number)); !whole {
				t.Fatalf("%s version %d is not one whole write", p, v.Number)
			} else if a, isAcked := vs[v.Number]; isAcked && (a.w != w || a.seq != seq) {
				t.Fatalf("%s version %d holds writer %d seq %d, acknowledged for writer %d seq %d", p, v.Number, w, seq, a.w, a.seq)
			}
		}
		for n := range vs {
			if !have[n] {
				t.Fatalf("%s: acknowledged version %d missing from its history", p, n)
			}
		}
	}
	if conflicts == 0 {
		t.Errorf("the racers never saw a Conflict in %d writes", len(writes))
	}
	t.Logf("%d writes acknowledged and read back, %d conflicts, %d with unknown outcome (a crash); total %v",
		ok, conflicts, unknown, time.Since(begin).Round(time.Millisecond))
}

func readVersion(ctx context.Context, t *testing.T, c *client.Client, p string, n uint64) []byte {
	t.Helper()
	f, err := c.OpenVersion(ctx, p, n)
	if err != nil {
		t.Fatalf("open %s version %d: %v", p, n, err)
	}
	defer f.Close()
	b, err := io.ReadAll(f)
	if err != nil {
		t.Fatalf("read %s version %d: %v", p, n, err)
	}
	return b
}

// leaderOf returns the index of the metadata node that leads.
func leaderOf(t *testing.T, addrs []string) int {
	return testenv.WaitFor(t, 20*time.Second, "a Raft leader", func() (int, bool) {
		for i, a := range addrs {
			kc, err := kvclient.Dial(a)
			if err != nil {
				continue
			}
			ctx, cancel := context.WithTimeout(context.Background(), time.Second)
			st, err := kc.Status(ctx, a)
			cancel()
			kc.Close()
			if err == nil && strings.EqualFold(st.Role, "leader") {
				return i, true
			}
		}
		return -1, false
	})
}
