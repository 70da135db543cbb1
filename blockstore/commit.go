package blockstore

import (
	"context"
	"fmt"
	"path/filepath"
)

// batchBytes bounds a group commit: the committer stops collecting
// requests once a batch holds this many bytes, so a batch spans at most
// batchBytes + one record. Open verifies that much of the last pack's tail.
const (
	batchBytes   = 16 << 20
	maxBatchSpan = batchBytes + headerSize + MaxBlockSize
	// Records at most this large are copied into the batch buffer, so that
	// small blocks cost one write per batch; larger ones are written from
	// the caller's slice.
	copyLimit = 64 << 10
)

// request is one record to append, handed to the committer.
type request struct {
	kind byte
	ref  Ref
	data []byte
	// move: a live record copied out of a pack being compacted; written
	// only if ref still lives at from. A moved tombstone (kind
	// kindTombstone) is written only if ref is not live.
	move bool
	from loc
	done chan error // receives the outcome once
}

func (r *request) size() int64 { return headerSize + int64(len(r.data)) }

// submit hands r to the committer and waits for the outcome. Once r is
// handed over, the caller waits even if ctx ends: the committer may be
// writing r.data, and a commit takes bounded time.
func (d *Disk) submit(ctx context.Context, r *request) error {
	d.mu.RLock()
	failed := d.mu.failed
	d.mu.RUnlock()
	if failed != nil {
		return failed
	}
	r.done = make(chan error, 1)
	select {
	case d.reqs <- r:
	case <-ctx.Done():
		return ctx.Err()
	}
	return <-r.done
}

// run is the committer: it gathers the requests that arrived while the
// previous commit was syncing and commits them together.
func (d *Disk) run() {
	defer close(d.done)
	for {
		var batch []*request
		select {
		case r := <-d.reqs:
			batch = append(batch, r)
		case <-d.stop:
			return
		}
		n := batch[0].size()
	gather:
		for n < batchBytes {
			select {
			case r := <-d.reqs:
				batch = append(batch, r)
				n += r.size()
			default:
				break gather
			}
		}
		err := d.commit(batch)
		for _, r := range batch {
			r.done <- err
		}
	}
}

// commit appends the batch's records that still have an effect with one
// write (plus one per large block) and one fdatasync, then applies them to
// the index. Only the committer writes to packs or changes the index, so
// what it plans under the read lock still holds when it applies.
func (d *Disk) commit(batch []*request) error {
	d.mu.RLock()
	if err := d.mu.failed; err != nil {
		d.mu.RUnlock()
		return err
	}
	var writes []*request
	pending := map[Ref]bool{} // liveness after this batch's earlier records
	live := func(ref Ref) (loc, bool) {
		if v, ok := pending[ref]; ok {
			return loc{}, v
		}
		l, ok := d.mu.index[ref]
		return l, ok
	}
	var total int64
	for _, r := range batch {
		l, ok := live(r.ref)
		var write bool
		switch {
		case r.kind == kindBlock && r.move:
			_, seen := pending[r.ref]
			write = ok && !seen && l == r.from
		case r.kind == kindBlock:
			write = !ok || l.bad
		case r.move: // a tombstone kept by compaction
			write = !ok
		default:
			write = ok
		}
		if write {
			writes = append(writes, r)
			pending[r.ref] = r.kind == kindBlock
			total += r.size()
		}
	}
	d.mu.RUnlock()
	if len(writes) == 0 {
		return nil
	}
	if err := d.append(writes, total); err != nil {
		d.mu.Lock()
		d.mu.failed = fmt.Errorf("%w: %v", ErrFailed, err)
		err = d.mu.failed
		d.mu.Unlock()
		d.log.Error("pack write failed; refusing writes until reopened", "err", err)
		return err
	}
	return nil
}

// append writes and syncs the records, then applies them.
func (d *Disk) append(writes []*request, total int64) error {
	if d.active == nil || (d.active.size > 0 && d.active.size+total > d.packBytes) {
		if err := d.roll(); err != nil {
			return err
		}
	}
	p := d.active
	offs := make([]int64, len(writes))
	off := p.size
	buf := d.buf[:0]
	for i, r := range writes {
		offs[i] = off
		off += r.size()
		buf = header{kind: r.kind, length: uint32(len(r.data)), ref: r.ref}.encode(buf)
		if len(r.data) <= copyLimit {
			buf = append(buf, r.data...)
			continue
		}
		if _, err := d.w.Write(buf); err != nil {
			return err
		}
		buf = buf[:0]
		if _, err := d.w.Write(r.data); err != nil {
			return err
		}
	}
	if len(buf) > 0 {
		if _, err := d.w.Write(buf); err != nil {
			return err
		}
	}
	if cap(buf) <= 4<<20 {
		d.buf = buf[:0]
	}
	if err := d.w.Sync(); err != nil {
		return err
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	p.size = off
	for i, r := range writes {
		d.applyLocked(r.kind, r.ref, loc{pack: p.seq, off: offs[i], length: uint32(len(r.data))})
	}
	return nil
}

// applyLocked makes a record at l the latest for its ref.
func (d *Disk) applyLocked(kind byte, ref Ref, l loc) {
	if old, ok := d.mu.index[ref]; ok {
		op := d.mu.packs[old.pack]
		op.live -= headerSize + int64(old.length)
		op.dead[ref] = struct{}{}
		d.mu.bytes -= int64(old.length)
		delete(d.mu.index, ref)
	}
	if kind == kindBlock {
		d.mu.index[ref] = l
		d.mu.packs[l.pack].live += headerSize + int64(l.length)
		d.mu.bytes += int64(l.length)
	}
}

// roll seals the active pack (already synced by the commit that last
// wrote it) and starts the next, whose name is made durable before any
// record in it is acknowledged.
func (d *Disk) roll() error {
	seq := d.nextSeq
	name := filepath.Join(d.dir, packName(seq))
	w, err := d.fs.Create(name)
	if err != nil {
		return err
	}
	if err := d.fs.SyncDir(d.dir); err != nil {
		w.Close()
		return err
	}
	r, err := d.fs.OpenReadAt(name)
	if err != nil {
		w.Close()
		return err
	}
	if d.w != nil {
		d.w.Close()
	}
	d.w = w
	d.nextSeq++
	p := &pack{seq: seq, name: name, r: r, dead: map[Ref]struct{}{}}
	d.mu.Lock()
	d.mu.packs[seq] = p
	d.mu.Unlock()
	d.active = p
	return nil
}

func packName(seq uint64) string { return fmt.Sprintf("%016x.pack", seq) }
