package meta

import (
	"cmp"
	"encoding/binary"
	"maps"
	"slices"
)

// Snapshot format (version 2), in the command encoding's primitives
// (codec.go). Everything is in a canonical order, so equal states give
// equal bytes, and Restore accepts only canonical input, so that
// Snapshot(Restore(b)) == b. Derived data (a file's owner and times, a
// directory's mtime, live count and change times, version numbers, inode
// ids) is not stored.
//
//	version applied now nextToken
//	count inodes, by id from 1 (the root):
//	  file: 0 count versions: Ref Size Time Writer Mode Inline [Data, when Inline]
//	  dir:  1 Owner Mode CTime count names (ascending): Name count events: Time Inode (0: removed)
//	count leases (by path): Path Owner Token Expires
//	count sessions (by client): Client Seq Index Outcome
//	count nodes (by id): ID Addr Roles Updated
//	Outcome: flags (1 error, 2 version, 4 lease), then
//	  error:   Kind Op Path Msg [Version]
//	  result:  Index Time [Version] [Lease]
//	  a Version in full: Number Ref Size Time Writer Mode Inline (never Data:
//	  results and errors carry versions bare)
//
// Version 2 added Inline and Data (a byte, then a string of exactly Size
// bytes, at most MaxInline, when the byte is 1). Restore still reads
// version 1 (no Inline byte: no version is inline), so a node keeps the
// snapshot it wrote before the upgrade; it writes version 2 only, so the
// canonical round trip Snapshot(Restore(b)) == b holds for version 2.

// snapshotVersion is the version byte Snapshot writes.
const snapshotVersion = 2
const (
	outError   = 1 << 0
	outVersion = 1 << 1
	outLease   = 1 << 2
)

// Snapshot encodes the whole state. It implements node.StateMachine.
func (s *State) Snapshot() ([]byte, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	b := []byte{snapshotVersion}
	b = binary.AppendUvarint(b, s.mu.applied)
	b = binary.AppendVarint(b, s.mu.now)
	b = binary.AppendUvarint(b, s.mu.nextToken)
	b = binary.AppendUvarint(b, uint64(len(s.mu.inodes)))
	var names []string
	for _, n := range s.mu.inodes {
		if !n.isDir() {
			b = append(b, 0)
			b = binary.AppendUvarint(b, uint64(len(n.versions)))
			for _, v := range n.versions {
				b = appendVersion(b, v, true)
			}
			continue
		}
		d := n.dir
		b = append(b, 1)
		b = appendString(b, d.owner)
		b = binary.AppendUvarint(b, uint64(d.mode))
		b = binary.AppendVarint(b, d.ctime)
		names = names[:0]
		for name := range d.kids {
			names = append(names, name)
		}
		slices.Sort(names)
		b = binary.AppendUvarint(b, uint64(len(names)))
		for _, name := range names {
			tl := d.kids[name]
			b = appendString(b, name)
			b = binary.AppendUvarint(b, uint64(len(tl)))
			for _, l := range tl {
				b = binary.AppendVarint(b, l.t)
				id := uint64(0)
				if l.n != nil {
					id = l.n.id
				}
				b = binary.AppendUvarint(b, id)
			}
		}
	}
	paths := slices.Sorted(maps.Keys(s.mu.leases))
	b = binary.AppendUvarint(b, uint64(len(paths)))
	for _, p := range paths {
		b = appendLease(b, s.mu.leases[p])
	}
	clients := slices.Sorted(maps.Keys(s.mu.sessions.m))
	b = binary.AppendUvarint(b, uint64(len(clients)))
	for _, c := range clients {
		se := s.mu.sessions.m[c]
		b = binary.AppendUvarint(b, se.client)
		b = binary.AppendUvarint(b, se.seq)
		b = binary.AppendUvarint(b, se.index)
		b = appendOutcome(b, se.res, se.err)
	}
	nodes := sortedNodes(s.mu.nodes)
	b = binary.AppendUvarint(b, uint64(len(nodes)))
	for _, n := range nodes {
		b = binary.AppendUvarint(b, n.ID)
		b = appendString(b, n.Addr)
		b = binary.AppendUvarint(b, uint64(n.Roles))
		b = binary.AppendVarint(b, n.Updated)
	}
	return b, nil
}

// appendVersion writes a version of a file's history (its number is its
// position), with its inline data if withData, as a file's history has
// it.
func appendVersion(b []byte, v Version, withData bool) []byte {
	b = append(b, v.Ref[:]...)
	b = binary.AppendUvarint(b, v.Size)
	b = binary.AppendVarint(b, v.Time)
	b = appendString(b, v.Writer)
	b = binary.AppendUvarint(b, uint64(v.Mode))
	b = appendBool(b, v.Inline)
	if v.Inline && withData {
		b = appendString(b, v.Data)
	}
	return b
}

func appendLease(b []byte, l Lease) []byte {
	b = appendString(b, l.Path)
	b = appendString(b, l.Owner)
	b = binary.AppendUvarint(b, l.Token)
	return binary.AppendVarint(b, l.Expires)
}

// appendOutcome writes a cached command outcome.
func appendOutcome(b []byte, res Result, err *Error) []byte {
	var flags byte
	v := res.Version
	if err != nil {
		flags |= outError
		if err.Current != nil {
			flags |= outVersion
			v = *err.Current
		}
	} else {
		if res.Version.Number != 0 {
			flags |= outVersion
		}
		if res.Lease.Token != 0 {
			flags |= outLease
		}
	}
	b = append(b, flags)
	if err != nil {
		b = append(b, byte(err.Kind))
		b = appendString(b, err.Op)
		b = appendString(b, err.Path)
		b = appendString(b, err.Msg)
	} else {
		b = binary.AppendUvarint(b, res.Index)
		b = binary.AppendVarint(b, res.Time)
	}
	if flags&outVersion != 0 {
		b = binary.AppendUvarint(b, v.Number)
		b = appendVersion(b, v, false)
	}
	if flags&outLease != 0 {
		b = appendLease(b, res.Lease)
	}
	return b
}

// Restore replaces the state by a snapshot. Input that Snapshot would not
// have produced (malformed, not canonical, or breaking an invariant the
// operations rely on, such as time order) is a KindInvalid error, and the
// state is left unchanged. It implements node.StateMachine.
func (s *State) Restore(data []byte) error {
	r, err := decodeSnapshot(data)
	if err != nil {
		return withOp(err, "restore")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.resetLocked()
	s.mu.applied, s.mu.now, s.mu.nextToken = r.applied, r.now, r.nextToken
	s.mu.inodes, s.mu.root = r.inodes, r.inodes[0]
	s.mu.leases, s.mu.nodes = r.leases, r.nodes
	// Interning again shares each name's bytes across the restored state.
	for _, n := range r.inodes {
		if n.isDir() {
			n.dir.owner = s.internLocked(n.dir.owner)
		}
		for i := range n.versions {
			n.versions[i].Writer = s.internLocked(n.versions[i].Writer)
		}
	}
	for p, l := range s.mu.leases {
		l.Owner = s.internLocked(l.Owner)
		s.mu.leases[p] = l
	}
	// Recency order is (index, client): restored in that order, the
	// table evicts, now and later, exactly as the snapshotted one would.
	slices.SortFunc(r.sessions, func(a, b *session) int {
		return cmp.Or(cmp.Compare(a.index, b.index), cmp.Compare(a.client, b.client))
	})
	for _, se := range r.sessions {
		s.mu.sessions.put(se.client, se.seq, se.index, se.res, se.err)
	}
	return nil
}

// restored is a decoded snapshot, checked and ready to install.
type restored struct {
	applied, nextToken uint64
	now                int64
	inodes             []*inode
	leases             map[string]Lease
	sessions           []*session
	nodes              map[uint64]Node
}
