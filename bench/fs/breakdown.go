package main

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/puddlestore/puddlestore/blocks"
	"github.com/puddlestore/puddlestore/blockstore"
	"github.com/puddlestore/puddlestore/client"
	"github.com/puddlestore/puddlestore/fsys"
	"github.com/puddlestore/puddlestore/meta"
)

// breakdown splits the two writes into their steps, timed one by one, to
// show where a put's time goes. It does by hand what WriteFile does: put
// the blocks on a storage node (blocks.Remote, the block service's gRPC
// API the client library uses), then commit the version (one metadata
// Raft command).
type breakdown struct {
	smallOps                int
	blockPut, commit        smallResult // a small file's manifest block put, and its commit
	chunks, chunksParallel  int
	inFlight                int
	retries                 atomic.Int64          // puts retried on the next node after ErrUnavailable
	lastRetry               atomic.Pointer[error] // the error of the last retried put
	chunkSeq, chunkParallel smallResult           // 1 MiB block puts, one at a time and Parallel at once
}

// Parallel chunk puts of one WriteContent (fsys.ContentOptions' default).
const contentParallel = 8

// runBreakdown runs ops small writes from the clients (each with its own
// connections to the storage nodes, as each client.Client has), then
// 1 MiB block puts one at a time and contentParallel at once.
func runBreakdown(ctx context.Context, cs []*client.Client, seed uint64, ops, n int) (*breakdown, error) {
	b := &breakdown{smallOps: ops, chunks: 16, chunksParallel: 64}
	ns, err := cs[0].Meta().Nodes(ctx)
	if err != nil {
		return b, err
	}
	var addrs []string
	for _, nd := range ns {
		if nd.Roles&meta.RoleBlocks != 0 {
			addrs = append(addrs, nd.Addr)
		}
	}
	if len(addrs) == 0 {
		return b, errors.New("breakdown: no storage node is registered")
	}
	remotes := make([][]*blocks.Remote, len(cs))
	defer func() {
		for _, rs := range remotes {
			for _, r := range rs {
				r.Close()
			}
		}
	}()
	for k := range cs {
		for _, a := range addrs {
			r, err := blocks.Dial(a)
			if err != nil {
				return b, err
			}
			remotes[k] = append(remotes[k], r)
		}
	}
	for d := range min(smallDirs, ops) {
		if err := cs[0].MkdirAll(ctx, fmt.Sprintf("/bench/breakdown/d%d", d)); err != nil {
			return b, err
		}
	}

	b.blockPut.lat, b.commit.lat = make([]time.Duration, ops), make([]time.Duration, ops)
	r, err := parallel(ops, len(cs), func(k, i int) error {
		m := fsys.Manifest{Kind: fsys.KindInline, Size: int64(n), Data: smallFile(seed+1, i, n)}
		data, err := m.Marshal()
		if err != nil {
			return err
		}
		t := time.Now()
		ref, err := b.put(ctx, remotes[k], i, data)
		if err != nil {
			return fmt.Errorf("block put: %w", err)
		}
		b.blockPut.lat[i] = time.Since(t)
		t = time.Now()
		path := fmt.Sprintf("/bench/breakdown/d%d/f%05d", i%smallDirs, i)
		if _, err := cs[k].Meta().Apply(ctx, meta.Commit(path, meta.Expect{}, meta.Ref(ref), uint64(n), 0o644, "bench", 0)); err != nil {
			return fmt.Errorf("commit: %w", err)
		}
		b.commit.lat[i] = time.Since(t)
		return nil
	})
	if err != nil {
		return b, fmt.Errorf("breakdown of small writes: %w", err)
	}
	b.blockPut.wall, b.commit.wall = r.wall, r.wall

	chunkPuts := func(count, inFlight int, variant uint64) (smallResult, error) {
		return parallel(count, inFlight, func(k, i int) error {
			data := smallFile(seed+variant, i, 1<<20)
			_, err := b.put(ctx, remotes[k], i, data)
			return err
		})
	}
	if b.chunkSeq, err = chunkPuts(b.chunks, 1, 2); err != nil {
		return b, fmt.Errorf("breakdown: 1 MiB puts: %w", err)
	}
	b.inFlight = min(contentParallel, len(cs))
	if b.chunkParallel, err = chunkPuts(b.chunksParallel, b.inFlight, 3); err != nil {
		return b, fmt.Errorf("breakdown: 1 MiB puts: %w", err)
	}
	return b, nil
}

// put puts data on the storage node i picks, and on ErrUnavailable on the
// next ones in turn, as the client library does (counting the retries).
func (b *breakdown) put(ctx context.Context, rs []*blocks.Remote, i int, data []byte) (blockstore.Ref, error) {
	var errs []error
	for j := range rs {
		ref, err := rs[(i+j)%len(rs)].Put(ctx, data)
		if err == nil || !errors.Is(err, blocks.ErrUnavailable) || ctx.Err() != nil {
			return ref, err
		}
		b.retries.Add(1)
		b.lastRetry.Store(&err)
		errs = append(errs, err)
	}
	return blockstore.Ref{}, errors.Join(errs...)
}
