package blocks

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"flag"
	"fmt"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/puddlestore/puddlestore/blockstore"
	"github.com/puddlestore/puddlestore/transport"
	"github.com/puddlestore/puddlestore/transport/memnet"
)

var seedFlag = flag.Uint64("seed", 0, "seed for randomized tests (0: a fixed default)")

// testSeed returns the seed to use and makes a failure print it.
func testSeed(t *testing.T, def uint64) uint64 {
	seed := def
	if *seedFlag != 0 {
		seed = *seedFlag
	}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("seed %d; replay with: go test ./blocks -run '^%s$' -seed %d", seed, t.Name(), seed)
		}
	})
	return seed
}

func ctxT(t *testing.T, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

func randBlock(rng *rand.Rand, n int) []byte {
	var seed [32]byte
	for i := range 4 {
		binary.LittleEndian.PutUint64(seed[8*i:], rng.Uint64())
	}
	b := make([]byte, n)
	_, _ = rand.NewChaCha8(seed).Read(b)
	return b
}

// pair is a server at "srv" and a client at "cli" on a real-time memnet.
type pair struct {
	net   *memnet.Network
	store blockstore.Store
	srv   *Server
	cli   *Client
	cliEp *memnet.Endpoint
	srvEp *memnet.Endpoint
}

func newPair(t *testing.T, seed uint64) *pair {
	t.Helper()
	net, err := memnet.New(memnet.Config{Seed: seed, MinDelay: 100 * time.Microsecond, MaxDelay: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	if err := net.Start(); err != nil {
		t.Fatal(err)
	}
	p := &pair{net: net, store: blockstore.NewMemory()}
	smux, cmux := transport.NewMux(), transport.NewMux()
	if p.srvEp, err = net.Endpoint("srv", smux.Deliver); err != nil {
		t.Fatal(err)
	}
	if p.cliEp, err = net.Endpoint("cli", cmux.Deliver); err != nil {
		t.Fatal(err)
	}
	if p.srv, err = NewServer(ServerConfig{Store: p.store, Transport: p.srvEp}); err != nil {
		t.Fatal(err)
	}
	if p.cli, err = NewClient(ClientConfig{Transport: p.cliEp}); err != nil {
		t.Fatal(err)
	}
	Handle(smux, p.srv, nil)
	Handle(cmux, nil, p.cli)
	t.Cleanup(func() {
		p.cli.Close()
		p.srv.Close()
		net.Stop()
		p.store.Close()
	})
	return p
}

func TestStoreFetchRoundTrip(t *testing.T) {
	seed := testSeed(t, 1)
	p := newPair(t, seed)
	rng := rand.New(rand.NewPCG(seed, 2))
	ctx := ctxT(t, 30*time.Second)
	// Sizes around the chunk boundary, empty, and a multi-chunk block.
	for _, n := range []int{0, 1, 1000, MaxChunk - 1, MaxChunk, MaxChunk + 1, 3*MaxChunk + 17} {
		data := randBlock(rng, n)
		ref := blockstore.RefOf(data)
		if err := p.cli.Store(ctx, "srv", blockstore.RefOf(data), data); err != nil {
			t.Fatalf("store %d bytes: %v", n, err)
		}
		if got, err := p.store.Get(ctx, ref); err != nil || !bytes.Equal(got, data) {
			t.Fatalf("%d bytes: stored %d bytes, %v", n, len(got), err)
		}
		got, err := p.cli.Fetch(ctx, "srv", ref)
		if err != nil || !bytes.Equal(got, data) {
			t.Fatalf("fetch %d bytes: got %d, %v", n, len(got), err)
		}
		// Ranges: inside, across chunks, past the end, empty.
		for _, r := range [][2]int64{{0, 10}, {int64(n) / 2, MaxChunk + 5}, {int64(n), 4}, {int64(n) / 3, 0}} {
			got, err := p.cli.FetchRange(ctx, "srv", ref, r[0], r[1])
			if err != nil {
				t.Fatalf("range %v of %d bytes: %v", r, n, err)
			}
			end := min(r[0]+r[1], int64(n))
			if !bytes.Equal(got, data[r[0]:end]) {
				t.Fatalf("range %v of %d bytes: wrong bytes (%d)", r, n, len(got))
			}
		}
	}
}

func TestErrorKinds(t *testing.T) {
	p := newPair(t, 3)
	ctx := ctxT(t, 20*time.Second)
	missing := blockstore.RefOf([]byte("never stored"))
	if _, err := p.cli.Fetch(ctx, "srv", missing); !errors.Is(err, ErrNotFound) {
		t.Fatalf("fetch of a missing block: %v, want ErrNotFound", err)
	}
	data := []byte("hello blocks")
	if err := p.cli.Store(ctx, "srv", blockstore.RefOf(data), data); err != nil {
		t.Fatal(err)
	}
	ref := blockstore.RefOf(data)
	// Bytes sent under a ref they do not hash to: refused, nothing stored.
	if err := p.cli.Store(ctx, "srv", missing, data); !errors.Is(err, ErrInvalid) {
		t.Fatalf("store under a wrong ref: %v, want ErrInvalid", err)
	}
	if ok, err := p.store.Has(ctx, missing); err != nil || ok {
		t.Fatalf("after a store under a wrong ref: has %v, %v; want false", ok, err)
	}
	if _, err := p.cli.FetchRange(ctx, "srv", ref, int64(len(data))+1, 1); !errors.Is(err, ErrInvalid) {
		t.Fatalf("range past the end: %v, want ErrInvalid", err)
	}
	// A peer that does not exist: the ctx deadline gives ErrUnavailable.
	short, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
	defer cancel()
	if _, err := p.cli.Fetch(short, "nobody", ref); !errors.Is(err, ErrUnavailable) || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("fetch from nobody: %v, want ErrUnavailable", err)
	}
	// A server answering with bytes that do not hash to the ref: ErrCorrupt.
	liar := &corruptStore{Store: p.store}
	mux := transport.NewMux()
	ep, err := p.net.Endpoint("liar", mux.Deliver)
	if err != nil {
		t.Fatal(err)
	}
	srv, err := NewServer(ServerConfig{Store: liar, Transport: ep})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	Handle(mux, srv, nil)
	if _, err := p.cli.Fetch(ctx, "liar", ref); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("fetch from a lying server: %v, want ErrCorrupt", err)
	}
	// Its store reports damage: the kind crosses the wire.
	liar.damaged.Store(true)
	if _, err := p.cli.Fetch(ctx, "liar", ref); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("fetch of a damaged block: %v, want ErrCorrupt", err)
	}
}

// corruptStore returns flipped bytes, or ErrCorrupt once damaged is set.
type corruptStore struct {
	blockstore.Store
	damaged atomic.Bool
}

func (c *corruptStore) Get(ctx context.Context, ref blockstore.Ref) ([]byte, error) {
	if c.damaged.Load() {
		return nil, fmt.Errorf("test: %w", blockstore.ErrCorrupt)
	}
	b, err := c.Store.Get(ctx, ref)
	if len(b) > 0 {
		b[0] ^= 1
	}
	return b, err
}

func TestHasAndEnumerate(t *testing.T) {
	seed := testSeed(t, 4)
	p := newPair(t, seed)
	rng := rand.New(rand.NewPCG(seed, 5))
	ctx := ctxT(t, 30*time.Second)
	const n = 300
	var refs []blockstore.Ref
	for range n {
		data := randBlock(rng, 20)
		if err := p.store.Put(ctx, blockstore.RefOf(data), data); err != nil {
			t.Fatal(err)
		}
		refs = append(refs, blockstore.RefOf(data))
	}
	// Has over more than one request's worth: held refs interleaved with
	// missing ones.
	var ask []blockstore.Ref
	for i := range MaxHasRefs + 100 {
		if i%20 == 0 {
			ask = append(ask, refs[(i/20)%n])
		} else {
			ask = append(ask, blockstore.RefOf(fmt.Appendf(nil, "missing %d", i)))
		}
	}
	have, err := p.cli.Has(ctx, "srv", ask)
	if err != nil {
		t.Fatal(err)
	}
	for i, h := range have {
		if h != (i%20 == 0) {
			t.Fatalf("has[%d] = %v", i, h)
		}
	}
	// Enumerate in pages of 64 sees every ref once, in order.
	seen := map[blockstore.Ref]bool{}
	var after blockstore.Ref
	for page := 0; ; page++ {
		if page > n {
			t.Fatal("enumerate does not end")
		}
		pg, err := p.cli.Enumerate(ctx, "srv", after, 64)
		if err != nil {
			t.Fatal(err)
		}
		for i, r := range pg.Refs {
			if seen[r] || bytes.Compare(r[:], after[:]) <= 0 && after != (blockstore.Ref{}) {
				t.Fatalf("page %d: ref %s repeated or out of order", page, r)
			}
			if pg.Sizes[i] != 20 {
				t.Fatalf("size %d", pg.Sizes[i])
			}
			seen[r] = true
			after = r
		}
		if !pg.More {
			break
		}
	}
	if len(seen) != n {
		t.Fatalf("enumerated %d refs, want %d", len(seen), n)
	}
}

func TestConcurrentRequests(t *testing.T) {
	seed := testSeed(t, 6)
	p := newPair(t, seed)
	ctx := ctxT(t, 60*time.Second)
	var wg sync.WaitGroup
	errs := make(chan error, 64)
	const workers, each = 8, 6
	for w := range workers {
		wg.Go(func() {
			rng := rand.New(rand.NewPCG(seed, uint64(w)))
			for i := range each {
				n := rng.IntN(64 << 10)
				if i == 0 { // one block in chunks per worker
					n = MaxChunk + rng.IntN(1000)
				}
				data := randBlock(rng, n)
				if err := p.cli.Store(ctx, "srv", blockstore.RefOf(data), data); err != nil {
					errs <- err
					return
				}
				got, err := p.cli.Fetch(ctx, "srv", blockstore.RefOf(data))
				if err != nil || !bytes.Equal(got, data) {
					errs <- fmt.Errorf("fetch: %d bytes, %v", len(got), err)
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if st := p.store.Stats(); st.Blocks != workers*each {
		t.Fatalf("%d blocks stored, want %d", st.Blocks, workers*each)
	}
}

// TestMalformed sends garbage straight through the transport: the server
// answers with errors (never panics) and keeps serving.
func TestMalformed(t *testing.T) {
	seed := testSeed(t, 7)
	p := newPair(t, seed)
	ctx := ctxT(t, 20*time.Second)
	rng := rand.New(rand.NewPCG(seed, 8))
	bad := [][]byte{
		{},
		{0x00},
		{tFetch},
		{tFetch, 0x01},
		{tStoreChunk, 0x05, 1, 2, 3},
		append([]byte{tHas, 0x09, 0xff, 0xff, 0x03}, make([]byte, 64)...),
		append(append([]byte{tStoreChunk, 0x01}, make([]byte, 32)...), 0x02, 0x05, 1, 2), // chunk past the size
		{tErrReply, 0x01, 0x09},
		{0x7f, 0x01},
	}
	for range 200 {
		bad = append(bad, randBlock(rng, rng.IntN(80)))
	}
	for _, b := range bad {
		if err := p.cliEp.Send("srv", transport.ServiceBlock, b); err != nil {
			t.Fatal(err)
		}
	}
	data := []byte("still serving")
	if err := p.cli.Store(ctx, "srv", blockstore.RefOf(data), data); err != nil {
		t.Fatal(err)
	}
	if got, err := p.cli.Fetch(ctx, "srv", blockstore.RefOf(data)); err != nil || !bytes.Equal(got, data) {
		t.Fatalf("after garbage: %q, %v", got, err)
	}
}

func TestCodecRoundTrip(t *testing.T) {
	ref := blockstore.RefOf([]byte("x"))
	for _, m := range []msg{
		{typ: tStoreChunk, id: 7, ref: ref, size: 10, off: 4, data: []byte("abcdef")},
		{typ: tFetch, id: 1 << 40, ref: ref, off: 3, n: 9},
		{typ: tFetch, id: 2, ref: ref, whole: true},
		{typ: tHas, id: 3, refs: []blockstore.Ref{ref, {}}},
		{typ: tEnumerate, id: 4, ref: ref, limit: 12},
		{typ: tStoreAck, id: 5},
		{typ: tFetchChunk, id: 6, size: 100, off: 90, data: []byte("0123456789")},
		{typ: tHasReply, id: 7, have: []bool{true, false, false, true, true, false, true, false, true}},
		{typ: tEnumReply, id: 8, more: true, refs: []blockstore.Ref{ref}, sizes: []int64{77}},
		{typ: tErrReply, id: 9, kind: KindCorrupt, text: "damaged"},
	} {
		b := m.encode(nil)
		got, err := decode(b)
		if err != nil {
			t.Fatalf("%#x: %v", m.typ, err)
		}
		if fmt.Sprint(got) != fmt.Sprint(m) {
			t.Fatalf("round trip:\n got %+v\nwant %+v", got, m)
		}
		// Every strict prefix is an error (or, for types whose last field
		// is the rest, a valid shorter message); never a panic.
		for i := range b {
			_, _ = decode(b[:i])
		}
	}
}

func FuzzDecode(f *testing.F) {
	ref := blockstore.RefOf([]byte("x"))
	for _, m := range []msg{
		{typ: tStoreChunk, id: 7, ref: ref, size: 10, off: 4, data: []byte("abcdef")},
		{typ: tFetch, id: 2, ref: ref, whole: true},
		{typ: tHas, id: 3, refs: []blockstore.Ref{ref}},
		{typ: tEnumReply, id: 8, more: true, refs: []blockstore.Ref{ref}, sizes: []int64{77}},
		{typ: tHasReply, id: 7, have: []bool{true, false}},
		{typ: tErrReply, id: 9, kind: KindCorrupt, text: "damaged"},
	} {
		f.Add(m.encode(nil))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := decode(b)
		if err != nil {
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("error %v does not wrap ErrInvalid", err)
			}
			return
		}
		// What decodes re-encodes to a message that decodes the same.
		again, err := decode(m.encode(nil))
		if err != nil {
			t.Fatalf("re-encoding %+v: %v", m, err)
		}
		if fmt.Sprint(again) != fmt.Sprint(m) {
			t.Fatalf("re-encoded differently:\n%+v\n%+v", again, m)
		}
	})
}

// fullQueue is a transport whose Send reports a full queue for the first
// `full` sends, as grpcnet does when a peer is slower than its callers.
type fullQueue struct {
	transport.Transport
	mu   sync.Mutex
	full int
}

func (f *fullQueue) Send(to transport.Addr, svc transport.Service, p []byte) error {
	f.mu.Lock()
	if f.full > 0 {
		f.full--
		f.mu.Unlock()
		return transport.ErrQueueFull
	}
	f.mu.Unlock()
	return f.Transport.Send(to, svc, p)
}

// TestStoreWaitsOutAFullQueue: a store whose chunks meet a full send
// queue waits and sends again, rather than failing the put.
func TestStoreWaitsOutAFullQueue(t *testing.T) {
	p := newPair(t, 3)
	mux := transport.NewMux()
	ep, err := p.net.Endpoint("cli2", mux.Deliver)
	if err != nil {
		t.Fatal(err)
	}
	fq := &fullQueue{Transport: ep, full: 5}
	cli, err := NewClient(ClientConfig{Transport: fq})
	if err != nil {
		t.Fatal(err)
	}
	defer cli.Close()
	Handle(mux, nil, cli)
	data := randBlock(rand.New(rand.NewPCG(3, 3)), 3*MaxChunk+5)
	if err := cli.Store(ctxT(t, 10*time.Second), "srv", blockstore.RefOf(data), data); err != nil {
		t.Fatalf("store through a queue full 5 times: %v", err)
	}
	if got, err := p.store.Get(ctxT(t, time.Second), blockstore.RefOf(data)); err != nil || !bytes.Equal(got, data) {
		t.Fatalf("stored block: %d bytes, %v", len(got), err)
	}
}
