// Package storetest is the test suite every blockstore.Store passes.
//
//	func TestSuite(t *testing.T) {
//		storetest.Run(t, func(t *testing.T) blockstore.Store { return blockstore.NewMemory() })
//	}
package storetest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"sync"
	"testing"

	"github.com/puddlestore/puddlestore/blockstore"
)

// Run runs the suite; newStore returns an empty store, which the suite
// closes (closing it again must be harmless).
func Run(t *testing.T, newStore func(t *testing.T) blockstore.Store) {
	tests := []struct {
		name string
		fn   func(t *testing.T, s blockstore.Store)
	}{
		{"PutGet", testPutGet},
		{"Empty", testEmpty},
		{"Idempotent", testIdempotent},
		{"WrongRef", testWrongRef},
		{"TooLarge", testTooLarge},
		{"PutReader", testPutReader},
		{"Range", testRange},
		{"Delete", testDelete},
		{"Enumerate", testEnumerate},
		{"Concurrent", testConcurrent},
		{"Closed", testClosed},
		{"Canceled", testCanceled},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := newStore(t)
			defer s.Close()
			tc.fn(t, s)
		})
	}
}

// Block returns n pseudo-random bytes derived from seed, and their ref.
func Block(seed uint64, n int) (blockstore.Ref, []byte) {
	b := make([]byte, n)
	r := rand.New(rand.NewPCG(seed, uint64(n)))
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	return blockstore.RefOf(b), b
}

func mustPut(t *testing.T, s blockstore.Store, ref blockstore.Ref, data []byte) {
	t.Helper()
	if err := s.Put(context.Background(), ref, data); err != nil {
		t.Fatalf("put %s: %v", ref, err)
	}
}

func mustGet(t *testing.T, s blockstore.Store, ref blockstore.Ref, want []byte) {
	t.Helper()
	got, err := s.Get(context.Background(), ref)
	if err != nil {
		t.Fatalf("get %s: %v", ref, err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("get %s: %d bytes differ from the %d put", ref, len(got), len(want))
	}
}

func mustAbsent(t *testing.T, s blockstore.Store, ref blockstore.Ref) {
	t.Helper()
	ctx := context.Background()
	if _, err := s.Get(ctx, ref); !errors.Is(err, blockstore.ErrNotFound) {
		t.Fatalf("get %s: %v, want ErrNotFound", ref, err)
	}
	if _, err := s.Size(ctx, ref); !errors.Is(err, blockstore.ErrNotFound) {
		t.Fatalf("size %s: %v, want ErrNotFound", ref, err)
	}
	if ok, err := s.Has(ctx, ref); ok || err != nil {
		t.Fatalf("has %s = %v, %v", ref, ok, err)
	}
}

func testPutGet(t *testing.T, s blockstore.Store) {
	ctx := context.Background()
	for i, n := range []int{1, 100, 4096, 70 << 10, 1 << 20} {
		ref, data := Block(uint64(i), n)
		mustAbsent(t, s, ref)
		mustPut(t, s, ref, data)
		data2 := bytes.Clone(data)
		clear(data) // the store must not keep the caller's slice
		mustGet(t, s, ref, data2)
		if ok, err := s.Has(ctx, ref); !ok || err != nil {
			t.Fatalf("has = %v, %v", ok, err)
		}
		if size, err := s.Size(ctx, ref); size != int64(n) || err != nil {
			t.Fatalf("size = %d, %v; want %d", size, err, n)
		}
		got, _ := s.Get(ctx, ref)
		clear(got) // nor hand out its own
		mustGet(t, s, ref, data2)
	}
	if st := s.Stats(); st.Blocks != 5 || st.Bytes != 1+100+4096+70<<10+1<<20 {
		t.Fatalf("stats %+v", st)
	}
}

func testEmpty(t *testing.T, s blockstore.Store) {
	ref := blockstore.RefOf(nil)
	mustPut(t, s, ref, nil)
	mustGet(t, s, ref, []byte{})
	if got, err := s.Get(context.Background(), ref); got == nil || err != nil {
		t.Fatalf("empty block: %v, %v (want non-nil empty slice)", got, err)
	}
	if got, err := s.GetRange(context.Background(), ref, 0, 10); len(got) != 0 || err != nil {
		t.Fatalf("range of empty block: %q, %v", got, err)
	}
}

func testIdempotent(t *testing.T, s blockstore.Store) {
	ref, data := Block(1, 5000)
	for range 3 {
		mustPut(t, s, ref, data)
	}
	if st := s.Stats(); st.Blocks != 1 || st.Bytes != 5000 {
		t.Fatalf("stats after 3 puts of one block: %+v", st)
	}
	mustGet(t, s, ref, data)
}

func testWrongRef(t *testing.T, s blockstore.Store) {
	ref, data := Block(1, 100)
	other, _ := Block(2, 100)
	if err := s.Put(context.Background(), other, data); !errors.Is(err, blockstore.ErrInvalid) {
		t.Fatalf("put under wrong ref: %v", err)
	}
	mustAbsent(t, s, other)
	mustAbsent(t, s, ref)
}

func testTooLarge(t *testing.T, s blockstore.Store) {
	data := make([]byte, blockstore.MaxBlockSize+1)
	ref := blockstore.RefOf(data)
	if err := s.Put(context.Background(), ref, data); !errors.Is(err, blockstore.ErrInvalid) {
		t.Fatalf("put of MaxBlockSize+1 bytes: %v", err)
	}
	if err := s.PutReader(context.Background(), ref, bytes.NewReader(data), int64(len(data))); !errors.Is(err, blockstore.ErrInvalid) {
		t.Fatalf("PutReader of MaxBlockSize+1 bytes: %v", err)
	}
	mustAbsent(t, s, ref)
}

func testPutReader(t *testing.T, s blockstore.Store) {
	ctx := context.Background()
	ref, data := Block(1, 300<<10)
	if err := s.PutReader(ctx, ref, bytes.NewReader(data), int64(len(data))); err != nil {
		t.Fatal(err)
	}
	mustGet(t, s, ref, data)
	// Wrong bytes, a short reader, a negative size: nothing stored.
	bad, badData := Block(2, 1000)
	badData2 := bytes.Clone(badData)
	badData2[500] ^= 1
	if err := s.PutReader(ctx, bad, bytes.NewReader(badData2), 1000); !errors.Is(err, blockstore.ErrInvalid) {
		t.Fatalf("mismatch: %v", err)
	}
	if err := s.PutReader(ctx, bad, bytes.NewReader(badData[:999]), 1000); err == nil {
		t.Fatal("short reader accepted")
	}
	if err := s.PutReader(ctx, bad, bytes.NewReader(badData), -1); !errors.Is(err, blockstore.ErrInvalid) {
		t.Fatalf("negative size: %v", err)
	}
	boom := errors.New("boom")
	if err := s.PutReader(ctx, bad, io.MultiReader(bytes.NewReader(badData[:10]), errReader{boom}), 1000); !errors.Is(err, boom) {
		t.Fatalf("reader error: %v", err)
	}
	mustAbsent(t, s, bad)
	if err := s.PutReader(ctx, bad, bytes.NewReader(badData), 1000); err != nil {
		t.Fatal(err)
	}
	mustGet(t, s, bad, badData)
}

type errReader struct{ err error }

func (r errReader) Read([]byte) (int, error) { return 0, r.err }

func testRange(t *testing.T, s blockstore.Store) {
	ctx := context.Background()
	ref, data := Block(1, 10000)
	mustPut(t, s, ref, data)
	for _, c := range []struct{ off, n, wantLen int64 }{
		{0, 10000, 10000}, {0, 0, 0}, {1, 5, 5}, {9990, 100, 10}, {10000, 5, 0}, {5000, 5000, 5000},
	} {
		got, err := s.GetRange(ctx, ref, c.off, c.n)
		if err != nil || !bytes.Equal(got, data[c.off:c.off+c.wantLen]) {
			t.Fatalf("range %d+%d: %d bytes, %v", c.off, c.n, len(got), err)
		}
	}
	for _, c := range [][2]int64{{-1, 5}, {0, -1}, {10001, 1}} {
		if _, err := s.GetRange(ctx, ref, c[0], c[1]); !errors.Is(err, blockstore.ErrInvalid) {
			t.Fatalf("range %d+%d: %v, want ErrInvalid", c[0], c[1], err)
		}
	}
	missing, _ := Block(2, 10)
	if _, err := s.GetRange(ctx, missing, 0, 1); !errors.Is(err, blockstore.ErrNotFound) {
		t.Fatalf("range of missing block: %v", err)
	}
}

func testDelete(t *testing.T, s blockstore.Store) {
	ctx := context.Background()
	a, da := Block(1, 2000)
	b, db := Block(2, 3000)
	mustPut(t, s, a, da)
	mustPut(t, s, b, db)
	if err := s.Delete(ctx, a); err != nil {
		t.Fatal(err)
	}
	mustAbsent(t, s, a)
	mustGet(t, s, b, db)
	if err := s.Delete(ctx, a); err != nil {
		t.Fatalf("deleting a missing block: %v", err)
	}
	if st := s.Stats(); st.Blocks != 1 || st.Bytes != 3000 {
		t.Fatalf("stats %+v", st)
	}
	mustPut(t, s, a, da) // put again after delete
	mustGet(t, s, a, da)
}

func testEnumerate(t *testing.T, s blockstore.Store) {
	ctx := context.Background()
	want := map[blockstore.Ref]int64{}
	for i := range 50 {
		ref, data := Block(uint64(i), i*37)
		mustPut(t, s, ref, data)
		want[ref] = int64(len(data))
	}
	for i := range 10 {
		ref, _ := Block(uint64(i), i*37)
		s.Delete(ctx, ref)
		delete(want, ref)
	}
	var prev *blockstore.Ref
	seen := map[blockstore.Ref]bool{}
	err := s.Enumerate(ctx, func(ref blockstore.Ref, size int64) error {
		if prev != nil && bytes.Compare(prev[:], ref[:]) >= 0 {
			return fmt.Errorf("%s after %s: not in ref order", ref, prev)
		}
		prev = &ref
		if seen[ref] || want[ref] != size {
			return fmt.Errorf("%s size %d: seen %v, want size %d", ref, size, seen[ref], want[ref])
		}
		seen[ref] = true
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(seen) != len(want) {
		t.Fatalf("enumerated %d of %d", len(seen), len(want))
	}
	stop := errors.New("stop")
	calls := 0
	if err := s.Enumerate(ctx, func(blockstore.Ref, int64) error { calls++; return stop }); !errors.Is(err, stop) || calls != 1 {
		t.Fatalf("stopping enumerate: %v after %d calls", err, calls)
	}
	// fn may call the store.
	err = s.Enumerate(ctx, func(ref blockstore.Ref, _ int64) error {
		_, err := s.Get(ctx, ref)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
}

func testConcurrent(t *testing.T, s blockstore.Store) {
	ctx := context.Background()
	const workers, per = 8, 40
	var wg sync.WaitGroup
	errs := make(chan error, workers)
	for w := range workers {
		wg.Go(func() {
			for i := range per {
				// Workers share half their blocks, so the same ref is put concurrently.
				seed := uint64(w*per + i)
				if i%2 == 0 {
					seed = uint64(1000 + i)
				}
				ref, data := Block(seed, 100+int(seed%7)*3000)
				if err := s.Put(ctx, ref, data); err != nil {
					errs <- err
					return
				}
				got, err := s.Get(ctx, ref)
				if err != nil || !bytes.Equal(got, data) {
					errs <- fmt.Errorf("get %s after put: %v", ref, err)
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	if st := s.Stats(); st.Blocks != workers*per/2+per/2 {
		t.Fatalf("stats %+v, want %d blocks", st, workers*per/2+per/2)
	}
}

func testClosed(t *testing.T, s blockstore.Store) {
	ctx := context.Background()
	ref, data := Block(1, 100)
	mustPut(t, s, ref, data)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("second close: %v", err)
	}
	check := func(op string, err error) {
		if !errors.Is(err, blockstore.ErrClosed) {
			t.Errorf("%s after close: %v", op, err)
		}
	}
	check("put", s.Put(ctx, ref, data))
	check("putreader", s.PutReader(ctx, ref, bytes.NewReader(data), 100))
	_, err := s.Get(ctx, ref)
	check("get", err)
	_, err = s.GetRange(ctx, ref, 0, 1)
	check("getrange", err)
	_, err = s.Has(ctx, ref)
	check("has", err)
	_, err = s.Size(ctx, ref)
	check("size", err)
	check("delete", s.Delete(ctx, ref))
	check("enumerate", s.Enumerate(ctx, func(blockstore.Ref, int64) error { return nil }))
	_ = s.Stats()
}

func testCanceled(t *testing.T, s blockstore.Store) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	ref, data := Block(1, 100)
	if err := s.Put(ctx, ref, data); !errors.Is(err, context.Canceled) {
		t.Fatalf("put with canceled context: %v", err)
	}
	if _, err := s.Get(ctx, ref); !errors.Is(err, context.Canceled) {
		t.Fatalf("get with canceled context: %v", err)
	}
}
