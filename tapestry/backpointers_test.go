package tapestry

import (
	"testing"
	"time"
)

func TestBackpointersByLevel(t *testing.T) {
	self := mustID("12345" + pad)
	b := NewBackpointers(self)
	l0far := Entry{ID: mustID("f0000" + pad), RTT: 9 * time.Millisecond}
	l0near := Entry{ID: mustID("e0000" + pad), RTT: 1 * time.Millisecond}
	l3 := Entry{ID: mustID("12300" + pad), RTT: 5 * time.Millisecond}
	for _, e := range []Entry{l0far, l0near, l3, {ID: self}} {
		b.Add(e)
	}
	if got := b.AtLevel(0); len(got) != 2 || got[0].ID != l0near.ID || got[1].ID != l0far.ID {
		t.Fatalf("level 0: %v", got)
	}
	if got := b.AtLevel(3); len(got) != 1 || got[0].ID != l3.ID {
		t.Fatalf("level 3: %v", got)
	}
	if got := b.All(); len(got) != 3 {
		t.Fatalf("all: %v", got)
	}
	if !b.Remove(l0near.ID) || b.Remove(l0near.ID) || b.Remove(self) {
		t.Fatal("remove")
	}
	if got := b.AtLevel(0); len(got) != 1 {
		t.Fatalf("after remove: %v", got)
	}
	if b.AtLevel(-1) != nil || b.AtLevel(40) != nil {
		t.Fatal("out-of-range level")
	}
}
