package tapestry

import (
	"encoding/binary"
	"slices"

	"github.com/puddlestore/puddlestore/id"
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
// republishes them (§3.3).
type Pointer struct {
	Key     id.ID
	Server  Entry
	Expires uint64 // tick
}

// Pointers is the object-pointer store of one node: what publish messages
// left here on their way to the roots. Not safe for concurrent use.
type Pointers struct {
	byKey map[id.ID][]Pointer // each list sorted by server RTT, then id
}

// NewPointers returns an empty store.
func NewPointers() *Pointers { return &Pointers{byKey: map[id.ID][]Pointer{}} }

// Put records or refreshes a pointer.
func (ps *Pointers) Put(p Pointer) {
	list := slices.DeleteFunc(ps.byKey[p.Key], func(x Pointer) bool { return x.Server.ID == p.Server.ID })
	i, _ := slices.BinarySearchFunc(list, p, func(a, b Pointer) int { return nearer(a.Server, b.Server) })
	ps.byKey[p.Key] = slices.Insert(list, i, p)
}

// Delete removes server's pointer for key (unpublish) and reports whether
// there was one.
func (ps *Pointers) Delete(key, server id.ID) bool {
	list := ps.byKey[key]
	n := len(list)
	list = slices.DeleteFunc(list, func(x Pointer) bool { return x.Server.ID == server })
	if len(list) == 0 {
		delete(ps.byKey, key)
	} else {
		ps.byKey[key] = list
	}
	return len(list) != n
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

// Expire drops every pointer that has expired by tick now and returns how
// many it dropped.
func (ps *Pointers) Expire(now uint64) int {
	dropped := 0
	for k, list := range ps.byKey {
		n := len(list)
		list = slices.DeleteFunc(list, func(p Pointer) bool { return p.Expires <= now })
		dropped += n - len(list)
		if len(list) == 0 {
			delete(ps.byKey, k)
		} else {
			ps.byKey[k] = list
		}
	}
	return dropped
}

// Len returns the number of pointers held, live or not yet expired.
func (ps *Pointers) Len() int {
	n := 0
	for _, list := range ps.byKey {
		n += len(list)
	}
	return n
}
