package tapestry

import (
	"cmp"
	"fmt"
	"slices"
	"time"

	"github.com/puddlestore/puddlestore/id"
	"github.com/puddlestore/puddlestore/transport"
)

// DefaultSlotSize is how many neighbours a routing-table slot keeps: the
// nearest one to route through and two backups (§3.1).
const DefaultSlotSize = 3

// Entry is a neighbour: its id, where to reach it, and the round-trip time
// measured to it, which orders a slot (nearest first).
type Entry struct {
	ID   id.ID
	Addr transport.Addr
	RTT  time.Duration
}

// Table is a node's routing table. Level i, slot d holds nodes that share
// the first i digits with this node and have digit d at position i; the
// slot of this node's own digit at each level stands for the node itself
// and stays empty. Not safe for concurrent use; the core owns it.
type Table struct {
	self     id.ID
	slotSize int
	rows     [id.Digits][id.Base][]Entry
}

// NewTable returns an empty table for node self; slotSize 0 means
// DefaultSlotSize.
func NewTable(self id.ID, slotSize int) *Table {
	if slotSize <= 0 {
		slotSize = DefaultSlotSize
	}
	return &Table{self: self, slotSize: slotSize}
}

// Self returns the id of the table's node.
func (t *Table) Self() id.ID { return t.self }

// place returns the level and digit of x's slot.
func (t *Table) place(x id.ID) (level, digit int) {
	level = id.SharedPrefixLen(t.self, x)
	return level, x.Digit(level)
}

// nearer orders a slot: nearest first, ties by id so that every run sees
// the same order.
func nearer(a, b Entry) int {
	if c := cmp.Compare(a.RTT, b.RTT); c != 0 {
		return c
	}
	return id.Compare(a.ID, b.ID)
}

// Add puts e in its slot, or updates its address and round-trip time if it
// is there already. When the slot is over its size, the farthest entry is
// evicted and returned (it may be e itself). It reports whether e is in
// the table afterwards.
func (t *Table) Add(e Entry) (in bool, evicted *Entry) {
	if e.ID == t.self {
		return false, nil
	}
	level, digit := t.place(e.ID)
	slot := slices.DeleteFunc(t.rows[level][digit], func(x Entry) bool { return x.ID == e.ID })
	i, _ := slices.BinarySearchFunc(slot, e, nearer)
	slot = slices.Insert(slot, i, e)
	if len(slot) > t.slotSize {
		last := slot[len(slot)-1]
		slot = slot[:len(slot)-1]
		evicted = &last
	}
	t.rows[level][digit] = slot
	return evicted == nil || evicted.ID != e.ID, evicted
}

// Remove deletes x from the table and reports whether it was there.
func (t *Table) Remove(x id.ID) bool {
	if x == t.self {
		return false
	}
	level, digit := t.place(x)
	slot := t.rows[level][digit]
	n := len(slot)
	t.rows[level][digit] = slices.DeleteFunc(slot, func(e Entry) bool { return e.ID == x })
	return len(t.rows[level][digit]) != n
}

// Contains reports whether x is in the table.
func (t *Table) Contains(x id.ID) bool {
	if x == t.self {
		return false
	}
	level, digit := t.place(x)
	return slices.ContainsFunc(t.rows[level][digit], func(e Entry) bool { return e.ID == x })
}

// Slot returns a copy of the entries at level, digit, nearest first.
func (t *Table) Slot(level, digit int) []Entry {
	if level < 0 || level >= id.Digits || digit < 0 || digit >= id.Base {
		return nil
	}
	return slices.Clone(t.rows[level][digit])
}

// Len returns the number of entries.
func (t *Table) Len() int {
	n := 0
	for l := range t.rows {
		for d := range t.rows[l] {
			n += len(t.rows[l][d])
		}
	}
	return n
}

// NextHop chooses where a message for key goes next, having resolved level
// digits of it so far. At each level it takes the slot of key's digit or,
// if that slot is empty, the next non-empty slot in increasing digit order,
// wrapping (surrogate routing, §3.2); reaching this node's own digit means
// the node itself matches at that level, and routing goes on locally one
// level down. Every node applies the same rule to the same membership, so a
// key has exactly one root. It returns the neighbour and the level the
// message has resolved on arrival there, or isRoot when this node is the
// key's root.
func (t *Table) NextHop(key id.ID, level int) (hop Entry, next int, isRoot bool) {
	return t.NextHopAvoiding(key, level, nil)
}

// NextHopAvoiding is NextHop, except that within the chosen slot it passes
// over entries suspect reports (neighbours gone quiet) while the slot has
// another. A slot of suspects only is still taken: treating it as empty
// would change the key's root.
func (t *Table) NextHopAvoiding(key id.ID, level int, suspect func(id.ID) bool) (hop Entry, next int, isRoot bool) {
	if level < 0 {
		panic(fmt.Sprintf("tapestry: NextHop at level %d", level))
	}
	for ; level < id.Digits; level++ {
		want, own := key.Digit(level), t.self.Digit(level)
		for k := range id.Base {
			d := (want + k) % id.Base
			if d == own {
				break // this node matches here: resolve the next level locally
			}
			if slot := t.rows[level][d]; len(slot) > 0 {
				if suspect != nil {
					slot = avoid(slot, suspect)
				}
				return t.pick(slot, key, level), level + 1, false
			}
		}
	}
	return Entry{}, id.Digits, true
}

// avoid returns slot without its suspects, or slot itself if all are.
func avoid(slot []Entry, suspect func(id.ID) bool) []Entry {
	if !slices.ContainsFunc(slot, func(e Entry) bool { return suspect(e.ID) }) {
		return slot
	}
	var ok []Entry
	for _, e := range slot {
		if !suspect(e.ID) {
			ok = append(ok, e)
		}
	}
	if len(ok) == 0 {
		return slot
	}
	return ok
}

// pick chooses within a slot: the nearest entry, unless a backup no more
// than twice as far also matches the key's next digit and so saves a hop.
func (t *Table) pick(slot []Entry, key id.ID, level int) Entry {
	best := slot[0]
	if level+1 >= id.Digits || best.ID.Digit(level+1) == key.Digit(level+1) {
		return best
	}
	for _, e := range slot[1:] {
		if e.ID.Digit(level+1) == key.Digit(level+1) && e.RTT <= 2*best.RTT {
			return e
		}
	}
	return best
}

// Get returns x's entry, if x is in the table.
func (t *Table) Get(x id.ID) (Entry, bool) {
	if x == t.self {
		return Entry{}, false
	}
	level, digit := t.place(x)
	for _, e := range t.rows[level][digit] {
		if e.ID == x {
			return e, true
		}
	}
	return Entry{}, false
}

// Row returns the entries at level, by digit then nearest first.
func (t *Table) Row(level int) []Entry {
	if level < 0 || level >= id.Digits {
		return nil
	}
	var out []Entry
	for d := range t.rows[level] {
		out = append(out, t.rows[level][d]...)
	}
	return out
}

// All returns every entry, by level, digit, then nearest first.
func (t *Table) All() []Entry {
	var out []Entry
	for l := range t.rows {
		out = append(out, t.Row(l)...)
	}
	return out
}

// Deepest returns the deepest level holding an entry, or -1 for an empty
// table: no node shares more digits with this one than that.
func (t *Table) Deepest() int {
	for l := id.Digits - 1; l >= 0; l-- {
		for d := range t.rows[l] {
			if len(t.rows[l][d]) > 0 {
				return l
			}
		}
	}
	return -1
}

// SlotSize returns how many entries a slot keeps.
func (t *Table) SlotSize() int { return t.slotSize }
