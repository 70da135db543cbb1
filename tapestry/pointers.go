package tapestry

import (
	"encoding/binary"
	"slices"

	"github.com/puddlestore/puddlestore/id"
	"github.com/puddlestore/puddlestore/transport"
)

// SaltedKeys returns the k keys under which an object is published: the
// object's own key and k-1 salted variants, each with its own root, so that
// the object stays reachable when one root fails (§3.3, "multiple roots").
// Salt i is the hash of the key followed by i as 8 big-endian bytes.
func SaltedKeys(key id.ID, k int) []id.ID {
	if k < 1 {
		k = 1
	}
	keys := make([]id.ID, 0, k)
	keys = append(keys, key)
	var b [id.Size + 8]byte
	copy(b[:], key[:])
	for i := 1; i < k; i++ {
		binary.BigEndian.PutUint64(b[id.Size:], uint64(i))
		keys = append(keys, id.Hash(b[:]))
	}
	return keys
}

// Pointer says that Server holds the object with key Key, until tick
// Expires: object pointers are soft state, kept only while the server
// republishes them (§3.3). Route is the (salted) key whose path toward its
// root left the pointer here; Next is where this node passed the publish
// on (zero at the root) and Level the digits resolved on arrival, so the
// pointer can be sent on again when Next fails or a new node becomes root.
// Server.RTT is the estimated round-trip time from this node to the server.
// A Deposit is a copy left on a backup neighbour of the publish path: it
// answers locates but is never sent on.
type Pointer struct {
	Key     id.ID
	Route   id.ID
	Server  Entry
	Expires uint64 // tick
	Next    id.ID
	NextAt  transport.Addr // Next's address, to follow the path after Next left the table
	Level   int
	Deposit bool
}

// Pointers is the object-pointer store of one node: what publish messages
// left here on their way to the roots. Not safe for concurrent use.
type Pointers struct {
	byKey map[id.ID][]Pointer // each list sorted by server RTT, then id
}

// NewPointers returns an empty store.
func NewPointers() *Pointers { return &Pointers{byKey: map[id.ID][]Pointer{}} }

func samePointer(a, b Pointer) bool { return a.Server.ID == b.Server.ID && a.Route == b.Route }

// Put records or refreshes a pointer; one per server and route.
func (ps *Pointers) Put(p Pointer) {
	list := slices.DeleteFunc(ps.byKey[p.Key], func(x Pointer) bool { return samePointer(x, p) })
	i, _ := slices.BinarySearchFunc(list, p, func(a, b Pointer) int { return nearer(a.Server, b.Server) })
	ps.byKey[p.Key] = slices.Insert(list, i, p)
}

// Delete removes server's pointers for key (unpublish), on every route, and
// reports whether there were any.
func (ps *Pointers) Delete(key, server id.ID) bool {
	return ps.drop(key, func(x Pointer) bool { return x.Server.ID == server }) > 0
}

// drop removes key's pointers that match and returns how many.
func (ps *Pointers) drop(key id.ID, match func(Pointer) bool) int {
	list := ps.byKey[key]
	n := len(list)
	list = slices.DeleteFunc(list, match)
	if len(list) == 0 {
		delete(ps.byKey, key)
	} else {
		ps.byKey[key] = list
	}
	return n - len(list)
}

// dropAll removes every pointer that matches and returns how many.
func (ps *Pointers) dropAll(match func(Pointer) bool) int {
	n := 0
	for k := range ps.byKey {
		n += ps.drop(k, match)
	}
	return n
}

// take removes and returns server's pointer for key on route.
func (ps *Pointers) take(key, server, route id.ID) (Pointer, bool) {
	var p Pointer
	n := ps.drop(key, func(x Pointer) bool {
		if x.Server.ID == server && x.Route == route {
			p = x
			return true
		}
		return false
	})
	return p, n > 0
}

// DeleteServer removes every pointer to server (declared dead) and returns
// how many it removed.
func (ps *Pointers) DeleteServer(server id.ID) int {
	return ps.dropAll(func(x Pointer) bool { return x.Server.ID == server })
}

// Holders returns the servers with a live pointer for key at tick now,
// nearest first, once each, leaving out those in exclude.
func (ps *Pointers) Holders(key id.ID, now uint64, exclude []id.ID) []Entry {
	var out []Entry
	for _, p := range ps.byKey[key] {
		if p.Expires > now && !slices.Contains(exclude, p.Server.ID) &&
			!slices.ContainsFunc(out, func(e Entry) bool { return e.ID == p.Server.ID }) {
			out = append(out, p.Server)
		}
	}
	return out
}

// Get returns the live pointers for key at tick now, nearest server first.
func (ps *Pointers) Get(key id.ID, now uint64) []Pointer {
	var out []Pointer
	for _, p := range ps.byKey[key] {
		if p.Expires > now {
			out = append(out, p)
		}
	}
	return out
}

// Each calls f on every pointer, in a deterministic order (by key, then
// as stored); f may change the pointer's Next and Level in place.
func (ps *Pointers) Each(f func(p *Pointer)) {
	keys := make([]id.ID, 0, len(ps.byKey))
	for k := range ps.byKey {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, id.Compare)
	for _, k := range keys {
		list := ps.byKey[k]
		for i := range list {
			f(&list[i])
		}
	}
}

// Expire drops every pointer that has expired by tick now and returns how
// many it dropped.
func (ps *Pointers) Expire(now uint64) int {
	return ps.dropAll(func(p Pointer) bool { return p.Expires <= now })
}

// Len returns the number of pointers held, live or not yet expired.
func (ps *Pointers) Len() int {
	n := 0
	for _, list := range ps.byKey {
		n += len(list)
	}
	return n
}
