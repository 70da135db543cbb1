package node

import (
	"bytes"
	"errors"
	"math/rand/v2"
	"testing"
)

func TestKVExactlyOnce(t *testing.T) {
	kv := NewKV()
	put := kvCommand{op: opPut, clientID: 7, seq: 1, key: "a", value: []byte("1")}
	r1, err := kv.Apply(10, put.encode())
	if err != nil {
		t.Fatal(err)
	}
	// Another client overwrites; then client 7's retry of seq 1 arrives.
	if _, err := kv.Apply(11, kvCommand{op: opPut, clientID: 8, seq: 1, key: "a", value: []byte("2")}.encode()); err != nil {
		t.Fatal(err)
	}
	r2, err := kv.Apply(12, put.encode())
	if err != nil {
		t.Fatal(err)
	}
	if r1 != r2 || r2.(KVResult).Index != 10 {
		t.Fatalf("retry answered %v, first answer %v", r2, r1)
	}
	if v, _, _ := kv.Get("a"); string(v) != "2" {
		t.Fatalf("retry was applied again: a=%q", v)
	}
	// An older sequence than the last applied is refused.
	put.seq = 0
	if _, err := kv.Apply(13, put.encode()); err == nil {
		t.Fatal("stale sequence accepted")
	}
}

func TestKVSnapshotRoundTrip(t *testing.T) {
	kv := NewKV()
	for i, k := range []string{"x", "y", "z"} {
		c := kvCommand{op: opPut, clientID: uint64(i + 1), seq: 1, key: k, value: []byte(k + k)}
		if _, err := kv.Apply(uint64(i+1), c.encode()); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := kv.Apply(4, kvCommand{op: opDelete, clientID: 1, seq: 2, key: "x"}.encode()); err != nil {
		t.Fatal(err)
	}
	snap, err := kv.Snapshot()
	if err != nil {
		t.Fatal(err)
	}
	kv2 := NewKV()
	if err := kv2.Restore(snap); err != nil {
		t.Fatal(err)
	}
	snap2, _ := kv2.Snapshot()
	if !bytes.Equal(snap, snap2) {
		t.Fatal("snapshot of the restored store differs")
	}
	// The session table came along: a retry is still answered from it.
	r, err := kv2.Apply(5, kvCommand{op: opDelete, clientID: 1, seq: 2, key: "x"}.encode())
	if err != nil || !r.(KVResult).Existed || r.(KVResult).Index != 4 {
		t.Fatalf("retry after restore: %v %v", r, err)
	}
}

func TestKVRejectsGarbage(t *testing.T) {
	seed := uint64(1)
	rng := rand.New(rand.NewPCG(seed, 2))
	kv := NewKV()
	good, _ := kv.Snapshot()
	for i := range 2000 {
		b := make([]byte, rng.IntN(64))
		for j := range b {
			b[j] = byte(rng.Uint32())
		}
		if i%2 == 0 && len(good) > 0 {
			b = append([]byte{}, good...)
			b[rng.IntN(len(b))] ^= byte(1 + rng.IntN(255))
		}
		_, _ = kv.Apply(uint64(i+1), b) // errors are fine; panics are not
		_ = NewKV().Restore(b)
	}
	if _, err := decodeCommand([]byte{9, 1, 1, 0}); !errors.Is(err, ErrBadCommand) {
		t.Fatalf("unknown op: %v", err)
	}
}

func FuzzKVRestore(f *testing.F) {
	kv := NewKV()
	_, _ = kv.Apply(1, kvCommand{op: opPut, clientID: 1, seq: 1, key: "k", value: []byte("v")}.encode())
	s, _ := kv.Snapshot()
	f.Add(s)
	f.Add([]byte{1})
	f.Fuzz(func(t *testing.T, b []byte) {
		kv := NewKV()
		if err := kv.Restore(b); err != nil {
			return
		}
		// Whatever restores must snapshot and restore again to the same.
		s1, _ := kv.Snapshot()
		kv2 := NewKV()
		if err := kv2.Restore(s1); err != nil {
			t.Fatalf("re-restore: %v", err)
		}
		s2, _ := kv2.Snapshot()
		if !bytes.Equal(s1, s2) {
			t.Fatal("snapshot not stable")
		}
	})
}

// The driver's snapshots (SnapshotView) leave keys unsorted; they restore
// to the same state as the canonical encoding.
func TestKVSnapshotViewRestoresSameState(t *testing.T) {
	kv := NewKV()
	for i := range 500 {
		c := kvCommand{op: opPut, clientID: uint64(i%7 + 1), seq: uint64(i/7 + 1), key: string(rune('a'+i%26)) + string(rune('0'+i%10)) + string(rune(i)), value: []byte{byte(i)}}
		if _, err := kv.Apply(uint64(i+1), c.encode()); err != nil {
			t.Fatal(err)
		}
	}
	fast, err := kv.SnapshotView()()
	if err != nil {
		t.Fatal(err)
	}
	kv2 := NewKV()
	if err := kv2.Restore(fast); err != nil {
		t.Fatal(err)
	}
	want, _ := kv.Snapshot()
	got, _ := kv2.Snapshot()
	if !bytes.Equal(want, got) {
		t.Fatal("state restored from SnapshotView differs")
	}
}
