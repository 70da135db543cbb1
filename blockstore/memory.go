package blockstore

import (
	"context"
	"errors"
	"io"
	"slices"
	"sync"
)

// Memory is a Store in process memory: for tests, and the model the disk
// store is checked against. Blocks are copied in and out, so callers may
// reuse their buffers. Its bytes never leave the process, so reads do not
// re-hash them.
type Memory struct {
	mu struct {
		sync.RWMutex
		blocks map[Ref][]byte // guarded by mu
		bytes  int64
		closed bool
	}
}

var _ Store = (*Memory)(nil)

// NewMemory returns an empty in-memory store.
func NewMemory() Store { return newMemory() }

func newMemory() *Memory {
	m := &Memory{}
	m.mu.blocks = map[Ref][]byte{}
	return m
}

func (m *Memory) Put(ctx context.Context, ref Ref, data []byte) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := checkPut(ref, data); err != nil {
		return err
	}
	return m.put(ref, slices.Clone(data))
}

func (m *Memory) PutReader(ctx context.Context, ref Ref, r io.Reader, size int64) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	data, err := readVerified(ref, r, size)
	if err != nil {
		return err
	}
	return m.put(ref, data)
}

func (m *Memory) put(ref Ref, data []byte) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.mu.closed {
		return ErrClosed
	}
	if _, ok := m.mu.blocks[ref]; !ok {
		if data == nil {
			data = []byte{}
		}
		m.mu.blocks[ref] = data
		m.mu.bytes += int64(len(data))
	}
	return nil
}

// lookup returns the stored slice (not a copy) for ref.
func (m *Memory) lookup(ctx context.Context, ref Ref) ([]byte, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	m.mu.RLock()
	defer m.mu.RUnlock()
	if m.mu.closed {
		return nil, ErrClosed
	}
	data, ok := m.mu.blocks[ref]
	if !ok {
		return nil, ErrNotFound
	}
	return data, nil
}

func (m *Memory) Get(ctx context.Context, ref Ref) ([]byte, error) {
	data, err := m.lookup(ctx, ref)
	if err != nil {
		return nil, err
	}
	return slices.Clone(data), nil
}

func (m *Memory) GetRange(ctx context.Context, ref Ref, off, n int64) ([]byte, error) {
	data, err := m.lookup(ctx, ref)
	if err != nil {
		return nil, err
	}
	part, err := checkRange(ref, data, off, n)
	if err != nil {
		return nil, err
	}
	return slices.Clone(part), nil
}

func (m *Memory) Has(ctx context.Context, ref Ref) (bool, error) {
	_, err := m.lookup(ctx, ref)
	if errors.Is(err, ErrNotFound) {
		return false, nil
	}
	return err == nil, err
}

func (m *Memory) Size(ctx context.Context, ref Ref) (int64, error) {
	data, err := m.lookup(ctx, ref)
	return int64(len(data)), err
}

func (m *Memory) Delete(ctx context.Context, ref Ref) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.mu.closed {
		return ErrClosed
	}
	if data, ok := m.mu.blocks[ref]; ok {
		m.mu.bytes -= int64(len(data))
		delete(m.mu.blocks, ref)
	}
	return nil
}

func (m *Memory) Enumerate(ctx context.Context, fn func(ref Ref, size int64) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	m.mu.RLock()
	if m.mu.closed {
		m.mu.RUnlock()
		return ErrClosed
	}
	ents := make([]entry, 0, len(m.mu.blocks))
	for ref, data := range m.mu.blocks {
		ents = append(ents, entry{ref, int64(len(data))})
	}
	m.mu.RUnlock()
	return enumerate(ctx, ents, fn)
}

func (m *Memory) Stats() Stats {
	m.mu.RLock()
	defer m.mu.RUnlock()
	return Stats{Blocks: int64(len(m.mu.blocks)), Bytes: m.mu.bytes}
}

func (m *Memory) Close() error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.mu.closed = true
	m.mu.blocks = nil
	return nil
}

// entry is a block as Enumerate reports it.
type entry struct {
	ref  Ref
	size int64
}

// enumerate sorts ents by ref and calls fn on each, checking ctx between calls.
func enumerate(ctx context.Context, ents []entry, fn func(Ref, int64) error) error {
	slices.SortFunc(ents, func(a, b entry) int { return bytesCompare(a.ref, b.ref) })
	for _, e := range ents {
		if err := ctx.Err(); err != nil {
			return err
		}
		if err := fn(e.ref, e.size); err != nil {
			return err
		}
	}
	return nil
}

func bytesCompare(a, b Ref) int { return slices.Compare(a[:], b[:]) }
