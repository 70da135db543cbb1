package node_test

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/puddlestore/puddlestore/blocks"
	"github.com/puddlestore/puddlestore/blockstore"
	"github.com/puddlestore/puddlestore/node"
	"github.com/puddlestore/puddlestore/overlay"
	"github.com/puddlestore/puddlestore/transport"
)

func startStorage(t *testing.T, dir string, join transport.Addr) *node.Storage {
	t.Helper()
	s, err := node.StartStorage(ctx(t), node.StorageConfig{
		Dir: dir, Listen: "127.0.0.1:0", Join: join,
		Overlay: overlay.Options{}.WithTick(20 * time.Millisecond),
		Blocks:  blocks.Config{RepairInterval: -1},
	})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// TestStorageNodes: four storage nodes on loopback; blocks put through
// one node's block service (over gRPC, as the CLI does) read back from
// another, sit on R=3 holders, and a restarted node keeps its id and
// its blocks.
func TestStorageNodes(t *testing.T) {
	root := t.TempDir()
	var nodes []*node.Storage
	for i := range 4 {
		var join transport.Addr
		if i > 0 {
			join = nodes[0].Addr()
		}
		nodes = append(nodes, startStorage(t, filepath.Join(root, fmt.Sprint(i)), join))
	}
	defer func() {
		for _, n := range nodes {
			n.Close()
		}
	}()
	in, err := blocks.Dial(string(nodes[1].Addr()))
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	out, err := blocks.Dial(string(nodes[3].Addr()))
	if err != nil {
		t.Fatal(err)
	}
	defer out.Close()

	var refs []blockstore.Ref
	var datas [][]byte
	for i := range 8 {
		data := bytes.Repeat([]byte{byte(i)}, 100_000+i*300_000) // up to 2.2 MiB: several pieces
		ref, err := in.Put(ctx(t), data)
		if err != nil {
			t.Fatal(err)
		}
		refs, datas = append(refs, ref), append(datas, data)
	}
	for i, ref := range refs {
		got, err := out.Get(ctx(t), ref)
		if err != nil || !bytes.Equal(got, datas[i]) {
			t.Fatalf("get %d: %d bytes, %v", i, len(got), err)
		}
		part, err := out.GetRange(ctx(t), ref, 10, 5)
		if err != nil || !bytes.Equal(part, datas[i][10:15]) {
			t.Fatalf("range of %d: %x, %v", i, part, err)
		}
		placed, _, err := out.Where(ctx(t), ref)
		if err != nil {
			t.Fatal(err)
		}
		has := 0
		for _, h := range placed {
			if h.Has {
				has++
			}
		}
		if len(placed) != 3 || has != 3 {
			t.Fatalf("block %d: %d placed, %d hold it; want 3 and 3", i, len(placed), has)
		}
	}

	// Bad input gets a clear error, not a panic.
	if _, err := out.Get(ctx(t), blockstore.RefOf([]byte("never stored"))); !errors.Is(err, blocks.ErrNotFound) {
		t.Fatalf("get of a missing block: %v, want ErrNotFound", err)
	}
	if _, err := out.GetRange(ctx(t), refs[0], 1<<30, 1); !errors.Is(err, blocks.ErrInvalid) {
		t.Fatalf("range beyond the block: %v, want ErrInvalid", err)
	}
	if _, err := in.Put(ctx(t), make([]byte, blockstore.MaxBlockSize+1)); !errors.Is(err, blocks.ErrInvalid) {
		t.Fatalf("oversized put: %v, want ErrInvalid", err)
	}

	st, err := out.Repair(ctx(t))
	if err != nil {
		t.Fatal(err)
	}
	if st.Passes != 1 || st.UnderReplicated != 0 || st.Replicas != 3 || st.Self.Addr != nodes[3].Addr() {
		t.Fatalf("status after repair: %+v", st)
	}

	// Restart node 2: same id, same blocks.
	dir2 := filepath.Join(root, "2")
	before, blocksBefore := nodes[2].Overlay().Self().ID, nodes[2].Blocks().Status().Blocks
	if err := nodes[2].Close(); err != nil {
		t.Fatal(err)
	}
	nodes[2] = startStorage(t, dir2, nodes[0].Addr())
	if got := nodes[2].Overlay().Self().ID; got != before {
		t.Fatalf("restarted node has id %s, was %s", got, before)
	}
	if got := nodes[2].Blocks().Status().Blocks; got != blocksBefore {
		t.Fatalf("restarted node holds %d blocks, held %d", got, blocksBefore)
	}

	// A damaged id file is refused with a clear error.
	bad := filepath.Join(root, "bad")
	if err := os.MkdirAll(bad, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(bad, "node-id"), []byte("zz\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := node.StartStorage(ctx(t), node.StorageConfig{Dir: bad, Listen: "127.0.0.1:0"}); err == nil {
		t.Fatal("started with a damaged node-id file")
	}
}
