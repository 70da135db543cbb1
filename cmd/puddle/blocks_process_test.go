package main

import (
	"bytes"
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/puddlestore/puddlestore/blocks"
	"github.com/puddlestore/puddlestore/blockstore"
	"github.com/puddlestore/puddlestore/internal/testenv"
	"github.com/puddlestore/puddlestore/transport"
)

// TestBlocksProcessesSurviveKill9: six `puddle blocks node` processes,
// R=3. Blocks are written, then two nodes holding some of the same blocks
// are killed with SIGKILL at once. Every block stays readable, byte for
// byte, from every survivor, and the survivors' repair passes bring every
// block back to three live holders.
func TestBlocksProcessesSurviveKill9(t *testing.T) {
	bin := buildBinary(t)
	begin := time.Now()
	root := t.TempDir()
	const n = 6
	var nodes []*tapNode
	for i := range n {
		args := append([]string{"blocks", "node", "--data", filepath.Join(root, fmt.Sprint(i)),
			"--listen", testenv.FreeAddr(t), "--repair-interval", "300ms"}, tapNodeArgs...)
		if i > 0 {
			args = append(args, "--join", string(nodes[i-1].self.Addr))
		}
		nodes = append(nodes, startNodeProcess(t, bin, "storage", args...))
	}
	t.Logf("%d nodes joined in %v", n, time.Since(begin).Round(time.Millisecond))

	remotes := make([]*blocks.Remote, n)
	for i, x := range nodes {
		r, err := blocks.Dial(string(x.self.Addr))
		if err != nil {
			t.Fatal(err)
		}
		defer r.Close()
		remotes[i] = r
	}
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()

	// 24 blocks of 1 KiB to 3 MiB, through different nodes; the first
	// few through the CLI.
	rng := rand.New(rand.NewPCG(1, 2))
	const count = 24
	datas := map[blockstore.Ref][]byte{}
	var refs []blockstore.Ref
	for k := range count {
		data := make([]byte, 1024+rng.IntN(3<<20))
		for i := range data {
			data[i] = byte(rng.Uint32())
		}
		var ref blockstore.Ref
		via := k % n
		if k < 3 {
			f := filepath.Join(root, fmt.Sprint("in", k))
			if err := os.WriteFile(f, data, 0o644); err != nil {
				t.Fatal(err)
			}
			out, errOut, code := puddle(t, bin, "blocks", "put", "--node", string(nodes[via].self.Addr), f)
			if code != 0 || strings.TrimSpace(out) != blockstore.RefOf(data).String() {
				t.Fatalf("puddle blocks put: exit %d: %s%s", code, out, errOut)
			}
			ref = blockstore.RefOf(data)
		} else {
			var err error
			if ref, err = remotes[via].Put(ctx, data); err != nil {
				t.Fatalf("put %d via node %d: %v", k, via, err)
			}
		}
		datas[ref] = data
		refs = append(refs, ref)
	}

	// Where each block is: 3 holders, all holding it.
	byAddr := map[transport.Addr]int{}
	for i, x := range nodes {
		byAddr[x.self.Addr] = i
	}
	holders := map[blockstore.Ref][]int{}
	for _, ref := range refs {
		placed, _, err := remotes[0].Where(ctx, ref)
		if err != nil {
			t.Fatal(err)
		}
		for _, h := range placed {
			if !h.Has {
				t.Fatalf("block %s: placed on %s, which does not hold it (%v)", ref, h.Peer.Addr, h.Err)
			}
			holders[ref] = append(holders[ref], byAddr[h.Peer.Addr])
		}
		if len(holders[ref]) != 3 {
			t.Fatalf("block %s on %d nodes, want 3", ref, len(holders[ref]))
		}
	}

	// The victims: the pair of nodes holding the most blocks together,
	// so that those blocks lose two of their three copies at once.
	shared := func(a, b int) (c int) {
		for _, hs := range holders {
			if slices.Contains(hs, a) && slices.Contains(hs, b) {
				c++
			}
		}
		return c
	}
	va, vb := 0, 1
	for a := range n {
		for b := a + 1; b < n; b++ {
			if shared(a, b) > shared(va, vb) {
				va, vb = a, b
			}
		}
	}
	if shared(va, vb) == 0 {
		t.Fatalf("no two nodes share a block: %v", holders)
	}
	nodes[va].kill()
	nodes[vb].kill()
	killedAt := time.Now()
	dead := map[transport.Addr]bool{nodes[va].self.Addr: true, nodes[vb].self.Addr: true}
	t.Logf("killed nodes %d and %d (SIGKILL), which shared %d of %d blocks", va, vb, shared(va, vb), count)

	// Every block reads back, verified, from every survivor.
	for i, r := range remotes {
		if i == va || i == vb {
			continue
		}
		for _, ref := range refs {
			start := time.Now()
			got, err := r.Get(ctx, ref)
			if d := time.Since(start); d > 500*time.Millisecond {
				t.Logf("read %s from node %d took %v, %v after the kill", ref.String()[:12], i, d.Round(time.Millisecond), time.Since(killedAt).Round(time.Millisecond))
			}
			if err != nil || !bytes.Equal(got, datas[ref]) {
				t.Fatalf("read %s from node %d after the kill: %d bytes, %v", ref, i, len(got), err)
			}
		}
	}
	t.Logf("all %d blocks read back from the %d survivors in %v after the kill", count, n-2, time.Since(killedAt).Round(time.Millisecond))

	// Repair brings every block back to three live holders.
	tick := time.NewTicker(200 * time.Millisecond)
	defer tick.Stop()
	asker := remotes[(vb+1)%n]
	if (vb+1)%n == va {
		asker = remotes[(vb+2)%n]
	}
	for round := 1; ; round++ {
		var short []string
		for _, ref := range refs {
			placed, _, err := asker.Where(ctx, ref)
			live := 0
			for _, h := range placed {
				if h.Has && !dead[h.Peer.Addr] {
					live++
				}
			}
			if err != nil || live < 3 {
				short = append(short, fmt.Sprintf("%s: %d live holders, %v", ref.String()[:12], live, err))
			}
		}
		if len(short) == 0 {
			t.Logf("round %d, %v after the kill: every block has 3 live holders again", round, time.Since(killedAt).Round(time.Millisecond))
			break
		}
		select {
		case <-ctx.Done():
			t.Fatalf("after %v, %d blocks still under-replicated, e.g.:\n  %s", time.Since(killedAt), len(short), strings.Join(short[:min(5, len(short))], "\n  "))
		case <-tick.C:
		}
	}
	var repairs int64
	for i, r := range remotes {
		if i == va || i == vb {
			continue
		}
		st, err := r.Status(ctx)
		if err != nil {
			t.Fatal(err)
		}
		repairs += st.Repairs
	}
	if repairs < int64(shared(va, vb)) {
		t.Errorf("survivors report %d repairs; the blocks that lost two copies alone need %d", repairs, shared(va, vb))
	}

	// The CLI's errors: a dead node, a block never stored, a bad ref.
	live := string(asker.Addr())
	for _, tc := range []struct {
		args []string
		code int
	}{
		{[]string{"get", "--node", string(nodes[va].self.Addr), refs[0].String(), "--timeout", "2s"}, exitUnavailable},
		{[]string{"get", "--node", live, blockstore.RefOf([]byte("never stored")).String()}, exitNotFound},
		{[]string{"get", "--node", live, "abc"}, exitUsage},
		{[]string{"where", "--node", live}, exitUsage},
		{[]string{"node", "--data", root}, exitUsage},
	} {
		out, errOut, code := puddle(t, bin, append([]string{"blocks"}, tc.args...)...)
		if code != tc.code || !strings.HasPrefix(errOut, "puddle: ") || strings.Contains(errOut, "panic") {
			t.Errorf("puddle blocks %v: exit %d (want %d): %s%s", tc.args, code, tc.code, out, errOut)
		}
	}
	out, errOut, code := puddle(t, bin, "blocks", "get", "--node", live, refs[1].String(), "--offset", "7", "--length", "9")
	if code != 0 || out != string(datas[refs[1]][7:16]) {
		t.Errorf("ranged get: exit %d: %q %s", code, out, errOut)
	}
	t.Logf("total %v", time.Since(begin).Round(time.Millisecond))
}
