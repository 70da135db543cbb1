package tapestry

import (
	"testing"
	"time"

	"github.com/puddlestore/puddlestore/id"
)

func TestSaltedKeys(t *testing.T) {
	key := id.Hash([]byte("block"))
	ks := SaltedKeys(key, 4)
	if len(ks) != 4 || ks[0] != key {
		t.Fatalf("salted keys %v", ks)
	}
	seen := map[id.ID]bool{}
	for _, k := range ks {
		if seen[k] {
			t.Fatalf("duplicate salted key %s", k)
		}
		seen[k] = true
	}
	again := SaltedKeys(key, 4)
	for i := range ks {
		if ks[i] != again[i] {
			t.Fatal("salted keys are not deterministic")
		}
	}
	if got := SaltedKeys(key, 0); len(got) != 1 || got[0] != key {
		t.Fatalf("k=0: %v", got)
	}
}

func TestPointersSoftState(t *testing.T) {
	ps := NewPointers()
	key := id.Hash([]byte("obj"))
	far := Entry{ID: id.Hash([]byte("far")), RTT: 50 * time.Millisecond}
	near := Entry{ID: id.Hash([]byte("near")), RTT: 5 * time.Millisecond}
	ps.Put(Pointer{Key: key, Server: far, Expires: 100})
	ps.Put(Pointer{Key: key, Server: near, Expires: 50})
	if got := ps.Get(key, 10); len(got) != 2 || got[0].Server.ID != near.ID {
		t.Fatalf("nearest first: %v", got)
	}
	// Past near's expiry only far is live; a republish refreshes it.
	if got := ps.Get(key, 60); len(got) != 1 || got[0].Server.ID != far.ID {
		t.Fatalf("after expiry: %v", got)
	}
	ps.Put(Pointer{Key: key, Server: near, Expires: 200})
	if got := ps.Get(key, 60); len(got) != 2 || ps.Len() != 2 {
		t.Fatalf("after republish: %v (len %d)", got, ps.Len())
	}
	if n := ps.Expire(150); n != 1 || ps.Len() != 1 {
		t.Fatalf("expire dropped %d, len %d", n, ps.Len())
	}
	if !ps.Delete(key, near.ID) || ps.Delete(key, near.ID) || ps.Len() != 0 {
		t.Fatal("unpublish")
	}
}
