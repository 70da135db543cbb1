package raftpb

import (
	"bytes"
	"errors"
	"math"
	"reflect"
	"testing"
)

func sampleMessages() []Message {
	ents := []Entry{
		{Term: 3, Index: 11, Type: EntryNormal, Data: []byte("a")},
		{Term: 3, Index: 12, Type: EntryConfChange, Data: (&ConfChange{Type: ConfAddVoter, NodeID: 4}).Marshal()},
		{Term: 4, Index: 13},
	}
	return []Message{
		{},
		{Type: MsgHup},
		{Type: MsgApp, To: 2, From: 1, Term: 4, LogTerm: 3, Index: 10, Commit: 9, Entries: ents},
		{Type: MsgAppResp, To: 1, From: 2, Term: 4, Index: 10, Reject: true, RejectHint: 7, LogTerm: 2},
		{Type: MsgHeartbeat, To: math.MaxUint64, From: 1 << 63, Term: math.MaxUint64, Context: []byte("ctx")},
		{Type: MsgSnap, To: 3, From: 1, Term: 9, Offset: 1 << 20, Total: 1<<20 + 5, Checksum: 0xdeadbeef, Done: true,
			Snapshot: &Snapshot{Metadata: SnapshotMetadata{Index: 100, Term: 8,
				ConfState: ConfState{Voters: []uint64{1, 2, 3}, Learners: []uint64{4}}}, Data: []byte("hello")}},
		{Type: MsgSnap, To: 3, From: 1, Term: 9, Snapshot: &Snapshot{}},
		{Type: MsgPropResp, To: 2, From: 1, Term: 1, Reject: true},
	}
}

func TestMessageRoundTrip(t *testing.T) {
	for i, m := range sampleMessages() {
		b := m.Marshal()
		if len(b) != m.Size() || cap(b) != m.Size() {
			t.Errorf("%d: len %d cap %d, Size %d", i, len(b), cap(b), m.Size())
		}
		var got Message
		if err := got.Unmarshal(b); err != nil {
			t.Fatalf("%d: unmarshal %v: %v", i, m.Type, err)
		}
		if !reflect.DeepEqual(got, m) {
			t.Errorf("%d: round trip:\n got %+v\nwant %+v", i, got, m)
		}
		if again := got.Marshal(); !bytes.Equal(again, b) {
			t.Errorf("%d: re-encoding differs", i)
		}
	}
}

func TestOtherRoundTrips(t *testing.T) {
	type codec interface {
		Marshal() []byte
		Unmarshal([]byte) error
		Size() int
	}
	cases := []struct{ in, out codec }{
		{&Entry{Term: 1, Index: 2, Type: EntryConfChange, Data: []byte{0, 1}}, &Entry{}},
		{&Entry{}, &Entry{}},
		{&HardState{Term: 5, Vote: 3, Commit: 1 << 40}, &HardState{}},
		{&ConfState{Voters: []uint64{1, 300}, Learners: []uint64{70000}}, &ConfState{}},
		{&ConfState{}, &ConfState{}},
		{&SnapshotMetadata{Index: 9, Term: 2, ConfState: ConfState{Voters: []uint64{1}}}, &SnapshotMetadata{}},
		{&Snapshot{Metadata: SnapshotMetadata{Index: 9, Term: 2}, Data: bytes.Repeat([]byte{7}, 1000)}, &Snapshot{}},
		{&ConfChange{Type: ConfRemoveNode, NodeID: 7, Context: []byte("addr")}, &ConfChange{}},
	}
	for i, c := range cases {
		b := c.in.Marshal()
		if len(b) != c.in.Size() {
			t.Errorf("%d: len %d, Size %d", i, len(b), c.in.Size())
		}
		if err := c.out.Unmarshal(b); err != nil {
			t.Fatalf("%d: %T: %v", i, c.in, err)
		}
		if !reflect.DeepEqual(c.in, c.out) {
			t.Errorf("%d: got %+v, want %+v", i, c.out, c.in)
		}
		// Every strict prefix and any trailing byte is rejected.
		for n := 0; n < len(b); n++ {
			if err := c.out.Unmarshal(b[:n]); !errors.Is(err, ErrMalformed) {
				t.Errorf("%d: %T prefix %d: err %v", i, c.in, n, err)
			}
		}
		if err := c.out.Unmarshal(append(b, 0)); !errors.Is(err, ErrMalformed) {
			t.Errorf("%d: %T trailing byte: err %v", i, c.in, err)
		}
	}
}

func TestUnmarshalCopiesInput(t *testing.T) {
	m := Message{Type: MsgApp, To: 2, From: 1, Term: 1, Context: []byte("c"),
		Entries: []Entry{{Term: 1, Index: 1, Data: []byte("data")}}}
	b := m.Marshal()
	var got Message
	if err := got.Unmarshal(b); err != nil {
		t.Fatal(err)
	}
	clear(b)
	if string(got.Entries[0].Data) != "data" || string(got.Context) != "c" {
		t.Fatalf("decoded message aliases the input: %+v", got)
	}
	// Appending to a decoded field must not clobber its neighbour.
	_ = append(got.Context, 'X', 'X', 'X')
	if got.Entries[0].Term != 1 || got.Entries[0].Index != 1 {
		t.Fatalf("append to Context clobbered entries: %+v", got.Entries[0])
	}
}

func TestMessageUnmarshalMalformed(t *testing.T) {
	app := sampleMessages()[2]
	good := app.Marshal()
	mod := func(f func(b []byte) []byte) []byte { return f(bytes.Clone(good)) }
	cases := map[string][]byte{
		"empty":           {},
		"version":         mod(func(b []byte) []byte { b[0] = 2; return b }),
		"type":            mod(func(b []byte) []byte { b[1] = byte(maxMessageType); return b }),
		"flags":           mod(func(b []byte) []byte { b[2] = 0x80; return b }),
		"trailing":        append(bytes.Clone(good), 1),
		"truncated":       good[:len(good)-1],
		"huge count":      {Version, byte(MsgApp), 0, 1, 1, 1, 1, 1, 1, 0, 0, 0xff, 0xff, 0xff, 0xff, 0x0f},
		"huge context":    {Version, byte(MsgApp), 0, 1, 1, 1, 1, 1, 1, 0, 0xff, 0xff, 0xff, 0xff, 0x0f},
		"varint overflow": {Version, byte(MsgApp), 0, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01},
		"non-minimal":     {Version, byte(MsgApp), 0, 0x81, 0x00},
		"entry type":      (&Message{Entries: []Entry{{Type: 9}}}).Marshal(),
		"snapshot absent": (&Message{Snapshot: &Snapshot{}}).Marshal()[:13],
	}
	for name, b := range cases {
		var m Message
		err := m.Unmarshal(b)
		if !errors.Is(err, ErrMalformed) {
			t.Errorf("%s: err = %v, want ErrMalformed", name, err)
		}
		if !reflect.DeepEqual(m, Message{}) {
			t.Errorf("%s: message not reset on error: %+v", name, m)
		}
	}
}
