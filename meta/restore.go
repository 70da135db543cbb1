package meta

import "slices"

// Minimum encoded sizes, to bound counts before allocating. Each is at
// most the true minimum (a smaller bound only allows a larger count), so
// a forged count can ask for at most a few times the input's size.
const (
	minInode   = 5  // a directory: kind, owner, mode, ctime, no names
	minVersion = 36 // ref, size, time, writer, mode
	minName    = 3  // name length and byte, events count (an event follows)
	minEvent   = 2  // time, inode
	minLease   = 5  // path, owner, token, expires
	minSession = 6  // client, seq, index, flags, then index and time
	minNode    = 5  // id, addr, roles, updated
)

// decodeSnapshot decodes and checks a snapshot. Beyond the encoding it
// checks what the operations rely on: times are in order (a timeline's
// events and a file's versions strictly increase, and none is after now),
// timelines alternate between an inode and a removal, names are valid path
// elements, no inode is linked before it was created, the root is inode 1
// and no one's child, and every inode is reachable from the root through
// some timeline (so Snapshot writes back exactly what was read).
func decodeSnapshot(b []byte) (*restored, error) {
	d := decoder{b: b, what: "snapshot"}
	r := &restored{leases: map[string]Lease{}, nodes: map[uint64]Node{}}
	d.snap = d.byte("version")
	if d.err == nil && (d.snap < 1 || d.snap > snapshotVersion) {
		d.failAt(0, "unknown version %d", d.snap)
	}
	r.applied = d.uvarint("applied")
	r.now = d.varint("now")
	r.nextToken = d.uvarint("next token")
	if d.err == nil && (r.now < 0 || r.now >= Latest || r.nextToken == 0) {
		d.fail("time %d or next token %d out of range", r.now, r.nextToken)
	}
	n := d.count("inodes", minInode)
	if d.err == nil && n == 0 {
		d.fail("no root")
	}
	all := make([]inode, n)
	r.inodes = make([]*inode, n)
	for i := range all {
		r.inodes[i] = &all[i]
		all[i].id = uint64(i) + 1
	}
	for i := 0; i < n && d.err == nil; i++ {
		d.inode(r, &all[i])
	}
	if d.err == nil {
		d.checkTree(r)
	}
	var last string
	for i, k := 0, d.count("leases", minLease); i < k && d.err == nil; i++ {
		l := d.lease()
		switch {
		case d.err != nil:
		case i > 0 && l.Path <= last:
			d.fail("leases out of order")
		case l.Owner == "" || len(l.Owner) > MaxName || l.Token == 0 || l.Token >= r.nextToken:
			d.fail("lease on %s: bad owner or token", l.Path)
		default:
			if p, err := CleanPath(l.Path); err != nil || p != l.Path {
				d.fail("lease on an invalid path")
			}
		}
		last = l.Path
		r.leases[l.Path] = l
	}
	var prev uint64
	for i, k := 0, d.count("sessions", minSession); i < k && d.err == nil; i++ {
		se := &session{client: d.uvarint("client"), seq: d.uvarint("seq"), index: d.uvarint("index")}
		se.res, se.err = d.outcome()
		if d.err == nil && (se.client <= prev || se.seq == 0 || se.index > r.applied) {
			d.fail("session %d out of order or out of range", se.client)
		}
		prev = se.client
		r.sessions = append(r.sessions, se)
	}
	prev = 0
	for i, k := 0, d.count("nodes", minNode); i < k && d.err == nil; i++ {
		nd := Node{ID: d.uvarint("node"), Addr: d.string("addr"), Roles: Roles(d.uint32("roles")), Updated: d.varint("updated")}
		if d.err == nil && (nd.ID <= prev || nd.Addr == "" || len(nd.Addr) > MaxName || nd.Roles&^roleAll != 0 || nd.Updated > r.now) {
			d.fail("node %d out of order or out of range", nd.ID)
		}
		prev = nd.ID
		r.nodes[nd.ID] = nd
	}
	if err := d.finish(); err != nil {
		return nil, err
	}
	return r, nil
}

// inode decodes inode n (its id is set).
func (d *decoder) inode(r *restored, n *inode) {
	switch kind := d.byte("inode kind"); {
	case d.err != nil:
	case kind == 0:
		k := d.count("versions", minVersion)
		if d.err == nil && k == 0 {
			d.fail("file %d without versions", n.id)
		}
		n.versions = make([]Version, k)
		for i := range n.versions {
			v := d.version1(true)
			v.Number = uint64(i) + 1
			if d.err == nil && (v.Time < 1 || v.Time > r.now || i > 0 && v.Time <= n.versions[i-1].Time) {
				d.fail("file %d: version times out of order", n.id)
			}
			n.versions[i] = v
		}
	case kind == 1:
		dr := &dir{owner: d.string("owner"), mode: d.uint32("mode"), ctime: d.varint("ctime"), kids: map[string][]link{}}
		n.dir = dr
		if d.err == nil && (len(dr.owner) > MaxName || checkMode("", dr.mode) != nil ||
			n.id == 1 && dr.ctime != 0 || n.id > 1 && (dr.ctime < 1 || dr.ctime > r.now)) {
			d.fail("directory %d: bad owner, mode or time", n.id)
		}
		var last string
		for i, k := 0, d.count("names", minName); i < k && d.err == nil; i++ {
			name := d.string("name")
			if d.err == nil && (checkName(name) != "" || i > 0 && name <= last) {
				d.fail("directory %d: bad or unordered name", n.id)
			}
			last = name
			tl := make([]link, d.count("events", minEvent))
			for j := range tl {
				tl[j].t = d.varint("event time")
				id := d.uvarint("event inode")
				if d.err != nil {
					break
				}
				if id > uint64(len(r.inodes)) || id == 1 {
					d.fail("directory %d: entry %s names inode %d", n.id, name, id)
					break
				}
				if id > 0 {
					tl[j].n = r.inodes[id-1]
				}
				// Alternate: an inode, a removal, an inode...
				if tl[j].t < 1 || tl[j].t > r.now || (tl[j].n != nil) != (j%2 == 0) || j > 0 && tl[j].t <= tl[j-1].t {
					d.fail("directory %d: entry %s: events out of order", n.id, name)
				}
			}
			if d.err == nil && len(tl) == 0 {
				d.fail("directory %d: entry %s without events", n.id, name)
			}
			dr.kids[name] = tl
			if len(tl) > 0 && tl[len(tl)-1].n != nil {
				dr.live++
			}
		}
	default:
		d.fail("inode %d: unknown kind %d", n.id, kind)
	}
}

// version1 decodes a version without its number; withData: a file's
// history, whose inline versions carry their data.
func (d *decoder) version1(withData bool) Version {
	v := Version{Ref: d.ref("ref"), Size: d.uvarint("size"), Time: d.varint("time"), Writer: d.string("writer"), Mode: d.uint32("mode")}
	if d.err == nil && (v.Ref.IsZero() || len(v.Writer) > MaxName || checkMode("", v.Mode) != nil) {
		d.fail("version: zero ref, bad writer or mode")
	}
	if d.snap < 2 {
		return v
	}
	v.Inline = d.bool("inline")
	if v.Inline && withData {
		v.Data = d.string("data")
		if d.err == nil && (uint64(len(v.Data)) != v.Size || len(v.Data) > MaxInline) {
			d.fail("version: %d bytes inline, size %d (at most %d)", len(v.Data), v.Size, MaxInline)
		}
	}
	if d.err == nil && v.Inline && v.Size > MaxInline {
		d.fail("version: inline size %d over %d", v.Size, MaxInline)
	}
	return v
}

func (d *decoder) lease() Lease {
	return Lease{Path: d.string("lease path"), Owner: d.string("lease owner"), Token: d.uvarint("token"), Expires: d.varint("expires")}
}

// outcome decodes a cached command outcome.
func (d *decoder) outcome() (Result, *Error) {
	flags := d.byte("outcome")
	var res Result
	var e *Error
	if flags&^(outError|outVersion|outLease) != 0 || flags&outError != 0 && flags&outLease != 0 {
		d.fail("outcome flags %#x", flags)
		return res, nil
	}
	if flags&outError != 0 {
		e = &Error{Kind: Kind(d.byte("kind")), Op: d.string("op"), Path: d.string("path"), Msg: d.string("msg")}
		if d.err == nil && !e.Kind.valid() {
			d.fail("unknown error kind %d", e.Kind)
		}
	} else {
		res.Index = d.uvarint("index")
		res.Time = d.varint("time")
	}
	if flags&outVersion != 0 {
		num := d.uvarint("number")
		v := d.version1(false)
		v.Number = num
		if d.err == nil && num == 0 {
			d.fail("version 0")
		}
		if e != nil {
			e.Current = &v
		} else {
			res.Version = v
		}
	}
	if flags&outLease != 0 {
		res.Lease = d.lease()
		if d.err == nil && res.Lease.Token == 0 {
			d.fail("lease without token")
		}
	}
	return res, e
}

// checkTree checks the links between inodes and derives each directory's
// change times.
func (d *decoder) checkTree(r *restored) {
	root := r.inodes[0]
	if !root.isDir() {
		d.fail("root is a file")
		return
	}
	for _, n := range r.inodes {
		if !n.isDir() {
			continue
		}
		var changes []int64
		for name, tl := range n.dir.kids {
			for _, l := range tl {
				changes = append(changes, l.t)
				if l.n == nil {
					continue
				}
				if born := created(l.n); born > l.t {
					d.fail("directory %d: entry %s links inode %d before its creation", n.id, name, l.n.id)
					return
				}
			}
		}
		slices.Sort(changes)
		n.dir.changes = slices.Clip(slices.Compact(changes))
	}
	// Reachability from the root, through every event of every timeline.
	seen := make([]bool, len(r.inodes))
	seen[0] = true
	stack := []*inode{root}
	for len(stack) > 0 {
		n := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		if !n.isDir() {
			continue
		}
		for _, tl := range n.dir.kids {
			for _, l := range tl {
				if l.n != nil && !seen[l.n.id-1] {
					seen[l.n.id-1] = true
					stack = append(stack, l.n)
				}
			}
		}
	}
	if i := slices.Index(seen, false); i >= 0 {
		d.fail("inode %d unreachable", i+1)
	}
}

// created is an inode's creation time.
func created(n *inode) int64 {
	if n.isDir() {
		return n.dir.ctime
	}
	return n.versions[0].Time
}
