package blocks

import (
	"bytes"
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/puddlestore/puddlestore/blockstore"
	"github.com/puddlestore/puddlestore/id"
	"github.com/puddlestore/puddlestore/overlay"
	"github.com/puddlestore/puddlestore/transport"
	"github.com/puddlestore/puddlestore/transport/memnet"
)

// node is one member of a test cluster.
type node struct {
	addr  transport.Addr
	ep    *memnet.Endpoint
	ov    overlay.Overlay
	store blockstore.Store
	svc   *Service
	dead  bool
}

type cluster struct {
	t     *testing.T
	net   *memnet.Network
	nodes []*node
}

// newCluster starts n nodes on a real-time memnet, each a Tapestry node
// (fast ticks) and a Service with R=3, no periodic repair. stores, if
// given, supplies node i's store (nil: a Memory).
func newCluster(t *testing.T, seed uint64, n int, stores func(i int) blockstore.Store) *cluster {
	t.Helper()
	return newClusterOn(t, overlay.KindTapestry, seed, n, stores)
}

// newClusterOn is newCluster on the overlay of that kind.
func newClusterOn(t *testing.T, kind string, seed uint64, n int, stores func(i int) blockstore.Store) *cluster {
	t.Helper()
	net, err := memnet.New(memnet.Config{Seed: seed, MinDelay: 200 * time.Microsecond, MaxDelay: 2 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	if err := net.Start(); err != nil {
		t.Fatal(err)
	}
	c := &cluster{t: t, net: net}
	t.Cleanup(func() {
		for _, x := range c.nodes {
			c.stop(x)
		}
		net.Stop()
		for _, x := range c.nodes {
			x.store.Close()
		}
	})
	ctx := ctxT(t, 30*time.Second)
	for i := range n {
		x := &node{addr: transport.Addr(fmt.Sprintf("n%d", i))}
		mux := transport.NewMux()
		if x.ep, err = net.Endpoint(x.addr, mux.Deliver); err != nil {
			t.Fatal(err)
		}
		o := overlay.Options{Kind: kind}.WithTick(10 * time.Millisecond)
		o.Tapestry.HeartbeatTicks, o.Tapestry.FailureTicks, o.Tapestry.LeaveGrace = 5, 30, -1
		o.Tapestry.Seed = seed*100 + uint64(i) + 1
		o.Chord.FailureTicks, o.Chord.LeaveGrace, o.Chord.Seed = 30, -1, seed*100+uint64(i)+1
		var join transport.Addr
		if i > 0 {
			join = c.nodes[0].addr
		}
		if x.ov, err = overlay.Start(ctx, o, id.Hash(fmt.Appendf(nil, "seed %d node %d", seed, i)), x.ep, mux, join, nil); err != nil {
			t.Fatalf("node %d: %v", i, err)
		}
		if stores != nil {
			x.store = stores(i)
		}
		if x.store == nil {
			x.store = blockstore.NewMemory()
		}
		if x.svc, err = New(Config{
			Store: x.store, Overlay: x.ov, Transport: x.ep, Mux: mux,
			AttemptTimeout: 2 * time.Second, RepairInterval: -1,
		}); err != nil {
			t.Fatal(err)
		}
		c.nodes = append(c.nodes, x)
	}
	return c
}

// stop closes a node's service, overlay and endpoint.
func (c *cluster) stop(x *node) {
	if x.dead {
		return
	}
	x.dead = true
	x.svc.Close()
	x.ov.Close()
	x.ep.Close()
}

// crash cuts a node off the network first, so that its leave messages are
// lost, and then stops it.
func (c *cluster) crash(x *node) {
	c.net.Crash(x.addr)
	c.stop(x)
}

func (c *cluster) live() []*node {
	var out []*node
	for _, x := range c.nodes {
		if !x.dead {
			out = append(out, x)
		}
	}
	return out
}

func (c *cluster) byID(i id.ID) *node {
	for _, x := range c.nodes {
		if x.ov.Self().ID == i {
			return x
		}
	}
	return nil
}

// readAll checks that every live node reads every block's exact bytes.
func (c *cluster) readAll(ctx context.Context, blocks map[blockstore.Ref][]byte) error {
	var wg sync.WaitGroup
	errs := make(chan error, len(c.nodes))
	for _, x := range c.live() {
		wg.Go(func() {
			for ref, want := range blocks {
				got, err := x.svc.Get(ctx, ref)
				if err != nil {
					errs <- fmt.Errorf("%s get %s: %w", x.addr, ref.String()[:12], err)
					return
				}
				if !bytes.Equal(got, want) {
					errs <- fmt.Errorf("%s get %s: wrong bytes", x.addr, ref.String()[:12])
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	return <-errs
}

// copies counts the live nodes whose durable store holds ref and whose
// server returns its verified bytes.
func (c *cluster) copies(ctx context.Context, asker *node, ref blockstore.Ref) int {
	n := 0
	for _, x := range c.live() {
		have, err := asker.svc.Client().Has(ctx, x.addr, []blockstore.Ref{ref})
		if err != nil || !have[0] {
			continue
		}
		if _, err := asker.svc.Client().Fetch(ctx, x.addr, ref); err == nil {
			n++
		}
	}
	return n
}

func TestClusterPutGetRepair(t *testing.T) {
	seed := testSeed(t, 11)
	c := newCluster(t, seed, 6, nil)
	ctx := ctxT(t, 90*time.Second)
	rng := rand.New(rand.NewPCG(seed, 12))

	blocks := map[blockstore.Ref][]byte{}
	var order []blockstore.Ref
	for i := range 40 {
		data := randBlock(rng, 1+rng.IntN(32<<10))
		x := c.nodes[i%len(c.nodes)]
		ref, err := x.svc.Put(ctx, data)
		if err != nil {
			t.Fatalf("put %d from %s: %v", i, x.addr, err)
		}
		blocks[ref] = data
		order = append(order, ref)
	}
	for _, ref := range order {
		if n := c.copies(ctx, c.nodes[0], ref); n < 3 {
			t.Fatalf("block %s: %d copies after put, want 3", ref.String()[:12], n)
		}
	}
	if err := c.readAll(ctx, blocks); err != nil {
		t.Fatal(err)
	}

	// Kill two holders of the first block: one leaves the overlay
	// gracefully, the other crashes.
	holders, err := c.nodes[0].svc.Placement(ctx, order[0])
	if err != nil || len(holders) != 3 {
		t.Fatalf("placement: %v, %v", holders, err)
	}
	c.stop(c.byID(holders[0].ID))
	c.crash(c.byID(holders[1].ID))
	t.Logf("killed %s (left) and %s (crashed)", holders[0].Addr, holders[1].Addr)

	// Repair passes on the live nodes until every block has R verified
	// copies among them (the overlay needs a moment to notice the crash).
	deadline := time.Now().Add(60 * time.Second)
	for pass := 1; ; pass++ {
		for _, x := range c.live() {
			if err := x.svc.Repair(ctx); err != nil {
				t.Fatalf("repair on %s: %v", x.addr, err)
			}
		}
		short := 0
		for _, ref := range order {
			if c.copies(ctx, c.live()[0], ref) < 3 {
				short++
			}
		}
		if short == 0 {
			t.Logf("every block has 3 copies after %d passes", pass)
			break
		}
		if time.Now().After(deadline) || pass > 200 {
			for _, ref := range order {
				if c.copies(ctx, c.live()[0], ref) >= 3 {
					continue
				}
				for _, x := range c.live() {
					p, err := x.svc.Placement(ctx, ref)
					have, _ := x.store.Has(ctx, ref)
					t.Logf("%s: %s has %v, placement %v %v", ref.String()[:8], x.addr, have, p, err)
				}
			}
			for _, x := range c.live() {
				hist := map[transport.Addr]int{}
				for k := range 64 {
					ps, err := x.ov.Responsible(ctx, id.Hash(fmt.Appendf(nil, "probe %d", k)))
					if err != nil {
						hist["err"]++
					}
					for _, p := range ps {
						hist[p.Addr]++
					}
				}
				t.Logf("%s %s: roots %v", x.addr, x.ov.Self().ID.Short(6), hist)
			}
			t.Fatalf("%d blocks still under-replicated after %d passes", short, pass)
		}
	}
	if err := c.readAll(ctx, blocks); err != nil {
		t.Fatal(err)
	}
	var repairs int64
	for _, x := range c.live() {
		repairs += x.svc.Status().Repairs
	}
	if repairs == 0 {
		t.Fatal("no repairs counted")
	}
}

// TestBitFlip damages one byte of a block in a Disk store's pack file:
// reads on that node are served from another holder, and the scrub puts
// a good copy back.
func TestBitFlip(t *testing.T) {
	seed := testSeed(t, 21)
	dir := t.TempDir()
	var disk *blockstore.Disk
	c := newCluster(t, seed, 4, func(i int) blockstore.Store {
		if i != 0 {
			return nil
		}
		d, err := blockstore.Open(dir, blockstore.Options{})
		if err != nil {
			t.Fatal(err)
		}
		disk = d
		return d
	})
	ctx := ctxT(t, 60*time.Second)
	rng := rand.New(rand.NewPCG(seed, 22))
	var ref blockstore.Ref
	var data []byte
	for i := 0; ; i++ {
		if i == 50 {
			t.Fatal("no block placed on node 0 in 50 puts")
		}
		data = randBlock(rng, 4096)
		var err error
		if ref, err = c.nodes[1].svc.Put(ctx, data); err != nil {
			t.Fatal(err)
		}
		if ok, _ := disk.Has(ctx, ref); ok {
			break
		}
	}
	flipInPack(t, dir, data, 100)
	if _, err := disk.Get(ctx, ref); err == nil {
		t.Fatal("the flipped byte went unnoticed by the store")
	}

	got, err := c.nodes[0].svc.Get(ctx, ref)
	if err != nil || !bytes.Equal(got, data) {
		t.Fatalf("get on the damaged node: %d bytes, %v", len(got), err)
	}
	if st := c.nodes[0].svc.Status(); st.VerifyFailures == 0 {
		t.Fatalf("status %+v: no verify failure counted", st)
	}
	// Other nodes are not misled by node 0's copy.
	for _, x := range c.nodes[1:] {
		if got, err := x.svc.Get(ctx, ref); err != nil || !bytes.Equal(got, data) {
			t.Fatalf("get on %s: %d bytes, %v", x.addr, len(got), err)
		}
	}

	if err := c.nodes[0].svc.Repair(ctx); err != nil {
		t.Fatal(err)
	}
	if st := c.nodes[0].svc.Status(); st.Repairs == 0 {
		t.Fatalf("status %+v: no repair counted", st)
	}
	if got, err := disk.Get(ctx, ref); err != nil || !bytes.Equal(got, data) {
		t.Fatalf("after the scrub: %d bytes, %v", len(got), err)
	}
}

// flipInPack flips one bit of the byte at data[at] where data lies in a
// pack file of dir.
func flipInPack(t *testing.T, dir string, data []byte, at int) {
	t.Helper()
	names, err := filepath.Glob(filepath.Join(dir, "*.pack"))
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range names {
		b, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		off := bytes.Index(b, data)
		if off < 0 {
			continue
		}
		b[off+at] ^= 0x10
		f, err := os.OpenFile(name, os.O_WRONLY, 0)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		if _, err := f.WriteAt(b[off+at:off+at+1], int64(off+at)); err != nil {
			t.Fatal(err)
		}
		return
	}
	t.Fatal("block not found in any pack file")
}

// TestHandOff: a node about to leave hands its blocks off: afterwards
// every block has R copies on the other nodes (some had only R-1 there
// before), and once the node has crashed every block still reads from
// every survivor. On both overlays.
func TestHandOff(t *testing.T) {
	for _, kind := range overlay.Kinds {
		t.Run(kind, func(t *testing.T) {
			seed := testSeed(t, 31)
			c := newClusterOn(t, kind, seed, 5, nil)
			ctx := ctxT(t, 60*time.Second)
			rng := rand.New(rand.NewPCG(seed, 32))
			blocks := map[blockstore.Ref][]byte{}
			for i := range 30 {
				data := randBlock(rng, 1+rng.IntN(16<<10))
				ref, err := c.nodes[i%len(c.nodes)].svc.Put(ctx, data)
				if err != nil {
					t.Fatalf("put %d: %v", i, err)
				}
				blocks[ref] = data
			}
			// Puts right after the nodes joined may have found fewer than
			// R nodes to place on: one repair pass each brings every block
			// to R copies first.
			for _, x := range c.nodes {
				if err := x.svc.Repair(ctx); err != nil {
					t.Fatal(err)
				}
			}
			victim := c.nodes[2]
			others := func() (short int) {
				for ref := range blocks {
					n := 0
					for _, x := range c.live() {
						if x == victim {
							continue
						}
						if have, err := c.nodes[0].svc.Client().Has(ctx, x.addr, []blockstore.Ref{ref}); err == nil && have[0] {
							n++
						}
					}
					if n < 3 {
						short++
					}
				}
				return short
			}
			before := others()
			if before == 0 {
				t.Fatalf("seed %d: the victim holds no block that the others lack: the test shows nothing", seed)
			}
			st, err := victim.svc.HandOff(ctx)
			if err != nil || st.Failed != 0 || st.Copied < before {
				t.Fatalf("seed %d: hand-off: %+v %v; %d blocks were short of 3 copies on the others", seed, st, err, before)
			}
			if after := others(); after != 0 {
				t.Fatalf("seed %d: after the hand-off %d blocks are still short of 3 copies on the others", seed, after)
			}
			c.crash(victim)
			if err := c.readAll(ctx, blocks); err != nil {
				t.Fatalf("seed %d: %v", seed, err)
			}
			t.Logf("%s: %d blocks were short of 3 copies without the victim; hand-off copied %d", kind, before, st.Copied)
		})
	}
}
