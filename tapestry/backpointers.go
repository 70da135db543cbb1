package tapestry

import (
	"slices"

	"github.com/puddlestore/puddlestore/id"
)

// Backpointers are the nodes that hold this node in their routing tables,
// by the level at which they hold it (§3.1, §4.2). A joining node's
// nearest-neighbour search walks them level by level, and a leaving node
// tells them to replace it. Not safe for concurrent use.
type Backpointers struct {
	self   id.ID
	levels [id.Digits]map[id.ID]Entry
}

// NewBackpointers returns an empty set for node self.
func NewBackpointers(self id.ID) *Backpointers { return &Backpointers{self: self} }

// Add records that e holds this node in its table. The level is the length
// of the prefix they share, as in e's own table.
func (b *Backpointers) Add(e Entry) {
	if e.ID == b.self {
		return
	}
	l := id.SharedPrefixLen(b.self, e.ID)
	if b.levels[l] == nil {
		b.levels[l] = map[id.ID]Entry{}
	}
	b.levels[l][e.ID] = e
}

// Remove forgets x and reports whether it was there.
func (b *Backpointers) Remove(x id.ID) bool {
	if x == b.self {
		return false
	}
	l := id.SharedPrefixLen(b.self, x)
	if _, ok := b.levels[l][x]; !ok {
		return false
	}
	delete(b.levels[l], x)
	return true
}

// AtLevel returns the backpointers at level l, nearest first (ties by id).
func (b *Backpointers) AtLevel(l int) []Entry {
	if l < 0 || l >= id.Digits {
		return nil
	}
	out := make([]Entry, 0, len(b.levels[l]))
	for _, e := range b.levels[l] {
		out = append(out, e)
	}
	slices.SortFunc(out, nearer)
	return out
}

// All returns every backpointer, by level then nearest first.
func (b *Backpointers) All() []Entry {
	var out []Entry
	for l := range b.levels {
		out = append(out, b.AtLevel(l)...)
	}
	return out
}

// Get returns x's backpointer entry, if x is one.
func (b *Backpointers) Get(x id.ID) (Entry, bool) {
	if x == b.self {
		return Entry{}, false
	}
	e, ok := b.levels[id.SharedPrefixLen(b.self, x)][x]
	return e, ok
}

// Has reports whether x is a backpointer.
func (b *Backpointers) Has(x id.ID) bool {
	_, ok := b.Get(x)
	return ok
}

// Len returns the number of backpointers.
func (b *Backpointers) Len() int {
	n := 0
	for _, m := range b.levels {
		n += len(m)
	}
	return n
}
