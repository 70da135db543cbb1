package wal

// inode is a MemFS file's content, kept in chunks so that a file growing
// to a full segment is never copied to grow (reallocating one large slice
// per Save made simulated runs slow). Bytes below synced are durable unless
// diverged: then an unsynced truncation changed them, and the durable
// content was copied to durable first.
type inode struct {
	chunks   [][]byte // all of length chunkSize but the last
	size     int
	synced   int
	diverged bool
	durable  []byte
}

const chunkSize = 256 << 10

// append adds p at the end. It writes only beyond size, never into bytes a
// durable view may share.
func (n *inode) append(p []byte) {
	n.size += len(p)
	for len(p) > 0 {
		if len(n.chunks) == 0 || len(n.chunks[len(n.chunks)-1]) == chunkSize {
			c := chunkSize // a file past its first chunk is a growing segment
			if len(n.chunks) == 0 {
				c = min(chunkSize, max(2*len(p), 4096))
			}
			n.chunks = append(n.chunks, make([]byte, 0, c))
		}
		last := &n.chunks[len(n.chunks)-1]
		k := min(len(p), chunkSize-len(*last))
		*last = append(*last, p[:k]...)
		p = p[k:]
	}
}

// read copies bytes [off, end) into a new slice.
func (n *inode) read(off, end int) []byte {
	out := make([]byte, 0, end-off)
	for off < end {
		c := n.chunks[off/chunkSize]
		k := min(end, (off/chunkSize+1)*chunkSize) - off
		out = append(out, c[off%chunkSize:off%chunkSize+k]...)
		off += k
	}
	return out
}

// truncate cuts the file to size (which must not exceed n.size).
func (n *inode) truncate(size int) {
	if size < n.synced {
		n.diverge()
	}
	if size == 0 {
		n.chunks, n.size = nil, 0
		return
	}
	i := (size - 1) / chunkSize
	n.chunks = n.chunks[:i+1]
	n.chunks[i] = n.chunks[i][:size-i*chunkSize]
	n.size = size
}

// durableContent returns a copy of what survives a crash before tearing.
func (n *inode) durableContent() []byte {
	if n.diverged {
		return append([]byte(nil), n.durable...)
	}
	return n.read(0, n.synced)
}

// diverge copies the durable content aside before bytes below synced change.
func (n *inode) diverge() {
	if !n.diverged {
		n.durable = n.read(0, n.synced)
		n.diverged = true
	}
}

func (n *inode) sync() { n.synced, n.diverged, n.durable = n.size, false, nil }

// newInode returns an inode holding b, all durable.
func newInode(b []byte) *inode {
	n := &inode{}
	n.append(b)
	n.sync()
	return n
}
