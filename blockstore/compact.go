package blockstore

import (
	"cmp"
	"context"
	"crypto/sha256"
	"fmt"
	"slices"
)

// CompactStats says what a Compact did.
type CompactStats struct {
	Packs      int   // packs removed
	Moved      int64 // live blocks rewritten into the active pack
	Reclaimed  int64 // bytes of pack files removed, less the bytes rewritten
	Tombstones int   // tombstones carried forward
}

// Compact reclaims the space of deleted and superseded records: each sealed
// pack whose live bytes are at most maxLive of its size (0.5: half dead) has
// its live blocks, each verified, appended to the active pack through the
// committer, and is then removed. Reads and writes continue meanwhile. A
// crash at any point is safe: until the pack's removal, its records are
// older than their copies, so replay ends with the same state. A pack
// holding a damaged live block is kept (and the damage logged).
func (d *Disk) Compact(ctx context.Context, maxLive float64) (CompactStats, error) {
	var st CompactStats
	if err := d.begin(ctx); err != nil {
		return st, err
	}
	defer d.end()
	d.compact.Lock()
	defer d.compact.Unlock()
	var cands []*pack
	d.mu.RLock()
	var active uint64
	for seq := range d.mu.packs {
		active = max(active, seq)
	}
	for seq, p := range d.mu.packs {
		if seq != active && float64(p.live) <= maxLive*float64(p.size) {
			cands = append(cands, p)
		}
	}
	d.mu.RUnlock()
	slices.SortFunc(cands, func(a, b *pack) int { return cmp.Compare(a.seq, b.seq) })
	for _, p := range cands {
		if err := ctx.Err(); err != nil {
			return st, err
		}
		if err := d.compactPack(ctx, p, &st); err != nil {
			return st, fmt.Errorf("blockstore: compact %s: %w", p.name, err)
		}
	}
	return st, nil
}

func (d *Disk) compactPack(ctx context.Context, p *pack, st *CompactStats) error {
	d.mu.RLock()
	size := p.size
	d.mu.RUnlock()
	sc := scanner{r: p.r, size: size}
	recs, _, err := sc.scan(d, p.name)
	if err != nil {
		return err
	}
	var reqs []*request
	var pending int64
	flush := func() error {
		err := d.submitAll(ctx, reqs)
		reqs, pending = nil, 0
		return err
	}
	moved := int64(0)
	for _, rec := range recs {
		l := loc{pack: p.seq, off: rec.off, length: rec.h.length}
		d.mu.RLock()
		cur, live := d.mu.index[rec.h.ref]
		needed := false
		if rec.h.kind == kindTombstone && !live {
			for _, q := range d.mu.packs {
				if _, ok := q.dead[rec.h.ref]; ok && q != p {
					needed = true
					break
				}
			}
		}
		d.mu.RUnlock()
		switch {
		case rec.h.kind == kindBlock && live && cur.pack == p.seq && cur.off == rec.off:
			data := make([]byte, rec.h.length)
			if n, err := p.r.ReadAt(data, rec.off+headerSize); n < len(data) {
				return fmt.Errorf("reading %s: %v", rec.h.ref, err)
			}
			if sha256.Sum256(data) != rec.h.ref {
				d.corrupt(rec.h.ref, l, p, "bytes do not hash to ref (found by compaction)")
				return fmt.Errorf("%w: %s: pack kept", ErrCorrupt, rec.h.ref)
			}
			reqs = append(reqs, &request{kind: kindBlock, ref: rec.h.ref, data: data, move: true, from: cur})
			pending += rec.h.recordSize()
			moved += rec.h.recordSize()
			st.Moved++
		case needed:
			reqs = append(reqs, &request{kind: kindTombstone, ref: rec.h.ref, move: true})
			pending += headerSize
			moved += headerSize
			st.Tombstones++
		}
		if pending >= batchBytes {
			if err := flush(); err != nil {
				return err
			}
		}
	}
	if err := flush(); err != nil {
		return err
	}
	d.mu.Lock()
	for ref, l := range d.mu.index {
		if l.pack == p.seq {
			d.mu.Unlock()
			return fmt.Errorf("block %s still lives in the pack after moving", ref)
		}
	}
	delete(d.mu.packs, p.seq)
	d.mu.Unlock()
	p.readers.Wait()
	p.r.Close()
	if err := d.fs.Remove(p.name); err != nil {
		return err
	}
	if err := d.fs.SyncDir(d.dir); err != nil {
		return err
	}
	d.log.Info("compacted pack", "pack", p.name, "bytes", size, "moved", moved)
	st.Packs++
	st.Reclaimed += size - moved
	return nil
}

// submitAll hands every request to the committer before waiting for any,
// so that they share commits.
func (d *Disk) submitAll(ctx context.Context, reqs []*request) error {
	d.mu.RLock()
	failed := d.mu.failed
	d.mu.RUnlock()
	if failed != nil {
		return failed
	}
	var first error
	sent := 0
	for _, r := range reqs {
		r.done = make(chan error, 1)
		select {
		case d.reqs <- r:
			sent++
			continue
		case <-ctx.Done():
			first = ctx.Err()
		}
		break
	}
	for _, r := range reqs[:sent] {
		if err := <-r.done; err != nil && first == nil {
			first = err
		}
	}
	return first
}
