package blocks

import (
	"container/list"
	"context"
	"fmt"
	"sync"

	"github.com/puddlestore/puddlestore/blockstore"
)

// cache keeps verified copies of remote blocks in memory, least recently
// used first out, within a byte budget. It is a Reader, so the Server
// answers fetches from it (cached copies are published).
type cache struct {
	budget int64

	mu struct {
		sync.Mutex
		lru   *list.List                       // of *cached, most recent first, guarded by mu
		items map[blockstore.Ref]*list.Element // guarded by mu
		bytes int64                            // guarded by mu
	}
}

type cached struct {
	ref  blockstore.Ref
	data []byte // verified; never modified
}

var _ Reader = (*cache)(nil)

func newCache(budget int64) *cache {
	c := &cache{budget: budget}
	c.mu.lru = list.New()
	c.mu.items = map[blockstore.Ref]*list.Element{}
	return c
}

// lookup returns the cached bytes (shared: do not modify) and marks them
// recently used.
func (c *cache) lookup(ref blockstore.Ref) ([]byte, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e := c.mu.items[ref]
	if e == nil {
		return nil, false
	}
	c.mu.lru.MoveToFront(e)
	return e.Value.(*cached).data, true
}

// add caches data, which must already be verified against ref, and
// returns the refs it evicted to make room. A block larger than the whole
// budget is not cached. added reports whether ref is newly cached.
func (c *cache) add(ref blockstore.Ref, data []byte) (added bool, evicted []blockstore.Ref) {
	size := int64(len(data))
	if size > c.budget {
		return false, nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if e := c.mu.items[ref]; e != nil {
		c.mu.lru.MoveToFront(e)
		return false, nil
	}
	for c.mu.bytes+size > c.budget && c.mu.lru.Len() > 0 {
		e := c.mu.lru.Back()
		x := c.mu.lru.Remove(e).(*cached)
		delete(c.mu.items, x.ref)
		c.mu.bytes -= int64(len(x.data))
		evicted = append(evicted, x.ref)
	}
	c.mu.items[ref] = c.mu.lru.PushFront(&cached{ref: ref, data: data})
	c.mu.bytes += size
	return true, evicted
}

// stats returns the blocks and bytes cached.
func (c *cache) stats() (int64, int64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return int64(c.mu.lru.Len()), c.mu.bytes
}

func (c *cache) Get(ctx context.Context, ref blockstore.Ref) ([]byte, error) {
	data, ok := c.lookup(ref)
	if !ok {
		return nil, fmt.Errorf("blocks: cache: %w", blockstore.ErrNotFound)
	}
	return data, nil
}

func (c *cache) GetRange(ctx context.Context, ref blockstore.Ref, off, n int64) ([]byte, error) {
	data, err := c.Get(ctx, ref)
	if err != nil {
		return nil, err
	}
	return sliceRange(ref, data, off, n)
}

// sliceRange returns up to n bytes of data from off.
func sliceRange(ref blockstore.Ref, data []byte, off, n int64) ([]byte, error) {
	size := int64(len(data))
	if off < 0 || n < 0 || off > size {
		return nil, fmt.Errorf("%w: range %d+%d of %s (%d bytes)", ErrInvalid, off, n, ref.String()[:12], size)
	}
	return data[off : off+min(n, size-off)], nil
}
