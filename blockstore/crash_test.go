package blockstore_test

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/puddlestore/puddlestore/blockstore"
	"github.com/puddlestore/puddlestore/wal"
)

var (
	seedFlag  = flag.Uint64("seed", 0, "run only this seed of the randomized crash test")
	seedsFlag = flag.Int("seeds", 40, "how many seeds the randomized crash test runs")
)

var errPowerCut = errors.New("power cut")

// blockState is what the test knows of one block: its bytes, whether the
// last acknowledged operation left it present, and whether a later
// operation's outcome is unknown (it was in flight at the crash).
type blockState struct {
	data      []byte
	present   bool
	uncertain bool
}

// crashWorld is a seed's model: every block any worker ever touched. Each
// worker owns its own blocks, so the operations on one block are ordered.
type crashWorld struct {
	workers [][]blockstore.Ref
	blocks  map[blockstore.Ref]*blockState
}

// TestCrash runs workers putting and deleting blocks concurrently on a
// MemFS, cuts the power at a random file operation (often between a group
// commit's write and its fsync, or in the middle of a batch's writes,
// tearing what was not synced), reopens, and checks that every
// acknowledged put reads back byte-exact, every acknowledged delete stays
// deleted, an operation in flight either happened whole or not at all, and
// nothing reads as corrupt. A seed fixes the operations and the tearing;
// goroutine scheduling still varies between runs.
func TestCrash(t *testing.T) {
	seeds := make([]uint64, 0, *seedsFlag)
	if *seedFlag != 0 {
		seeds = append(seeds, *seedFlag)
	} else {
		for i := range *seedsFlag {
			seeds = append(seeds, uint64(i+1))
		}
	}
	for _, seed := range seeds {
		if err := runCrash(seed); err != nil {
			t.Fatalf("seed %d: %v\nreplay: go test ./blockstore -run TestCrash -seed %d", seed, err, seed)
		}
	}
}

func runCrash(seed uint64) error {
	const workers, cycles = 4, 4
	rng := rand.New(rand.NewPCG(seed, 0xb10c))
	m := wal.NewMemFS(seed)
	opts := blockstore.Options{FS: m, PackBytes: int64(16<<10) << rng.IntN(5)}
	w := &crashWorld{workers: make([][]blockstore.Ref, workers), blocks: map[blockstore.Ref]*blockState{}}
	for cycle := range cycles {
		d, err := blockstore.Open("/blocks", opts)
		if err != nil {
			return fmt.Errorf("cycle %d: open: %w", cycle, err)
		}
		if err := w.check(d); err != nil {
			d.Close()
			return fmt.Errorf("cycle %d: after reopen: %w", cycle, err)
		}
		var ops atomic.Int64
		var cut atomic.Bool
		crashAt := 1 + rng.Int64N(120)
		m.SetFault(func(op, name string) error {
			if cut.Load() {
				return errPowerCut
			}
			switch op {
			case "write", "sync", "create", "syncdir", "truncate", "remove":
				if ops.Add(1) == crashAt {
					cut.Store(true)
					m.Crash()
					return errPowerCut
				}
			}
			return nil
		})
		var wg sync.WaitGroup
		errs := make([]error, workers)
		for i := range workers {
			wrng := rand.New(rand.NewPCG(seed, uint64(cycle*workers+i)))
			wg.Go(func() { errs[i] = w.work(d, wrng, i, seed, cycle) })
		}
		var compactErr error
		if rng.IntN(2) == 0 { // compact while the workers run, and maybe crash in it
			wg.Go(func() {
				for range 4 {
					_, err := d.Compact(context.Background(), 0.6)
					if errors.Is(err, blockstore.ErrCorrupt) {
						compactErr = err
					}
					if err != nil {
						return
					}
				}
			})
		}
		wg.Wait()
		if err := errors.Join(append(errs, compactErr)...); err != nil {
			d.Close()
			return fmt.Errorf("cycle %d: %w", cycle, err)
		}
		if !cut.Load() {
			m.Crash() // nothing unsynced should be lost either
		}
		d.Close()
		m.SetFault(nil)
	}
	return nil
}

// work runs one worker's operations until the store fails (the power cut).
// It returns an error only for a wrong answer.
func (w *crashWorld) work(d *blockstore.Disk, rng *rand.Rand, id int, seed uint64, cycle int) error {
	ctx := context.Background()
	mine := &w.workers[id] // only this goroutine touches its slice and its blocks
	for i := range 40 {
		var ref blockstore.Ref
		var b *blockState
		if len(*mine) > 0 {
			ref = (*mine)[rng.IntN(len(*mine))]
			b = w.get(ref)
		}
		switch r := rng.IntN(10); {
		case r < 5 || b == nil: // a new block
			size := rng.IntN(2000)
			if rng.IntN(4) == 0 {
				size = rng.IntN(40 << 10)
			}
			data := make([]byte, size)
			for j := range data {
				data[j] = byte(rng.Uint32())
			}
			copy(data, fmt.Sprintf("%d/%d/%d/%d", seed, cycle, id, i)) // unique
			ref = blockstore.RefOf(data)
			b = &blockState{data: data}
			w.add(ref, b)
			*mine = append(*mine, ref)
			fallthrough
		case r < 7: // put (again)
			b.uncertain = true
			if err := d.Put(ctx, ref, b.data); err != nil {
				return nil
			}
			b.present, b.uncertain = true, false
		case r < 9:
			b.uncertain = true
			if err := d.Delete(ctx, ref); err != nil {
				return nil
			}
			b.present, b.uncertain = false, false
		default:
			got, err := d.Get(ctx, ref)
			switch {
			case errors.Is(err, blockstore.ErrCorrupt):
				return fmt.Errorf("get %s: %w", ref, err)
			case err != nil && !errors.Is(err, blockstore.ErrNotFound):
				return nil // the power cut
			case b.uncertain:
			case b.present && (err != nil || !bytes.Equal(got, b.data)):
				return fmt.Errorf("get %s: acknowledged block: %v", ref, err)
			case !b.present && err == nil:
				return fmt.Errorf("get %s: deleted block is back", ref)
			}
		}
	}
	return nil
}

var worldMu sync.Mutex // guards crashWorld.blocks (the map, not the states)

func (w *crashWorld) get(ref blockstore.Ref) *blockState {
	worldMu.Lock()
	defer worldMu.Unlock()
	return w.blocks[ref]
}

func (w *crashWorld) add(ref blockstore.Ref, b *blockState) {
	worldMu.Lock()
	defer worldMu.Unlock()
	w.blocks[ref] = b
}

// check compares a reopened store with the model, and settles uncertain
// blocks to what the store holds.
func (w *crashWorld) check(d *blockstore.Disk) error {
	ctx := context.Background()
	for ref, b := range w.blocks {
		got, err := d.Get(ctx, ref)
		switch {
		case err != nil && !errors.Is(err, blockstore.ErrNotFound):
			return fmt.Errorf("get %s: %w", ref, err)
		case err == nil && !bytes.Equal(got, b.data):
			return fmt.Errorf("get %s: %d bytes, not the %d put", ref, len(got), len(b.data))
		case b.uncertain:
			b.present, b.uncertain = err == nil, false
		case b.present && err != nil:
			return fmt.Errorf("acknowledged block %s (%d bytes) lost", ref, len(b.data))
		case !b.present && err == nil:
			return fmt.Errorf("acknowledged delete of %s undone", ref)
		}
	}
	var n int64
	err := d.Enumerate(ctx, func(ref blockstore.Ref, size int64) error {
		b := w.blocks[ref]
		if b == nil || !b.present || int64(len(b.data)) != size {
			return fmt.Errorf("enumerate: unexpected block %s (%d bytes)", ref, size)
		}
		n++
		return nil
	})
	if err != nil {
		return err
	}
	st := d.Stats()
	if st.Blocks != n || st.VerifyFailures != 0 {
		return fmt.Errorf("stats %+v after enumerating %d blocks", st, n)
	}
	return nil
}
