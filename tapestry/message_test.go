package tapestry

import (
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/puddlestore/puddlestore/id"
)

func sampleMessages() []Message {
	a := Entry{ID: id.Hash([]byte("a")), Addr: "127.0.0.1:7001", RTT: 3 * time.Millisecond}
	b := Entry{ID: id.Hash([]byte("b")), Addr: "127.0.0.1:7002"}
	key := id.Hash([]byte("key"))
	return []Message{
		{Type: MsgPing, From: a, To: b.ID, Seq: 7, Flag: true},
		{Type: MsgPong, From: b, To: a.ID, Seq: 7},
		{Type: MsgJoin, From: a, Origin: a, Key: a.ID},
		{Type: MsgMulticast, From: a, To: b.ID, Origin: a, Level: 3, Seq: 1 << 40},
		{Type: MsgJoinReply, From: b, Origin: a, Level: 2, Entries: []Entry{a, b}},
		{Type: MsgGetNeighbors, From: a, Level: 39, Digit: 15, Flag: true, Seq: 9},
		{Type: MsgPublish, From: a, Origin: b, Key: key, Object: key, Level: 1, Hops: 4, Dist: 40 * time.Millisecond},
		{Type: MsgLocate, From: a, Origin: a, Key: key, Object: key, Entries: []Entry{{ID: b.ID}}},
		{Type: MsgLeave, From: a, Entries: []Entry{b}, Pointers: []Pointer{{Key: key, Route: key, Server: b}}},
	}
}

// clean is m as it arrives: ToAddr and RTT are not on the wire, and
// decoded pointers carry only what the wire has.
func clean(m Message) Message {
	m.ToAddr, m.RTT = "", 0
	for i, p := range m.Pointers {
		m.Pointers[i] = Pointer{Key: p.Key, Route: p.Route, Server: p.Server}
	}
	return m
}

func TestMessageRoundTrip(t *testing.T) {
	for _, m := range sampleMessages() {
		b := m.Marshal()
		if len(b) != m.Size() {
			t.Errorf("%v: Size %d, encoding %d bytes", m.Type, m.Size(), len(b))
		}
		var got Message
		if err := got.Unmarshal(b); err != nil {
			t.Fatalf("%v: %v", m.Type, err)
		}
		if want := clean(m); !reflect.DeepEqual(got, want) {
			t.Errorf("%v: round trip\n got %+v\nwant %+v", m.Type, got, want)
		}
		// Every truncation is an error, never a panic.
		for i := range b {
			var x Message
			if err := x.Unmarshal(b[:i]); err == nil {
				t.Errorf("%v: %d of %d bytes decoded", m.Type, i, len(b))
			}
		}
	}
}

func TestMessageValidate(t *testing.T) {
	a := Entry{ID: id.Hash([]byte("a")), Addr: "x"}
	for name, m := range map[string]Message{
		"unknown type":   {Type: msgTypeEnd, From: a},
		"no type":        {From: a},
		"no sender":      {Type: MsgPing},
		"sender no addr": {Type: MsgPing, From: Entry{ID: a.ID}},
		"join no origin": {Type: MsgJoin, From: a},
		"level":          {Type: MsgPing, From: a, Level: id.Digits + 1},
		"digit":          {Type: MsgPing, From: a, Digit: id.Base},
		"hops":           {Type: MsgPing, From: a, Hops: -1},
	} {
		if err := m.Validate(); !errors.Is(err, ErrMalformed) {
			t.Errorf("%s: Validate = %v, want ErrMalformed", name, err)
		}
	}
}

// A node refuses malformed messages and messages for another id, and
// changes nothing.
func TestStepRefuses(t *testing.T) {
	n, err := New(Config{ID: id.Hash([]byte("n")), Addr: "n"})
	if err != nil {
		t.Fatal(err)
	}
	if err := n.Bootstrap(); err != nil {
		t.Fatal(err)
	}
	a := Entry{ID: id.Hash([]byte("a")), Addr: "a"}
	if err := n.Step(Message{Type: MsgPing, From: a, To: id.Hash([]byte("other"))}); !errors.Is(err, ErrWrongNode) {
		t.Errorf("wrong id: %v", err)
	}
	if err := n.Step(Message{Type: MsgPublish, From: a, To: n.Self().ID}); !errors.Is(err, ErrMalformed) {
		t.Errorf("publish without origin: %v", err)
	}
	if n.HasReady() || n.Status().Pointers != 0 {
		t.Errorf("a refused message had effects: %+v", n.Status())
	}
}

// FuzzMessageUnmarshal: decoding never panics, and what decodes encodes
// back to a message that decodes the same.
func FuzzMessageUnmarshal(f *testing.F) {
	for _, m := range sampleMessages() {
		f.Add(m.Marshal())
	}
	f.Add([]byte{})
	f.Add([]byte{wireVersion, byte(MsgLeave), 0})
	f.Fuzz(func(t *testing.T, b []byte) {
		var m Message
		if err := m.Unmarshal(b); err != nil {
			return
		}
		out := m.Marshal()
		if len(out) != m.Size() {
			t.Fatalf("Size %d, encoding %d", m.Size(), len(out))
		}
		var again Message
		if err := again.Unmarshal(out); err != nil {
			t.Fatalf("re-encoding does not decode: %v", err)
		}
		if !reflect.DeepEqual(again, m) {
			t.Fatalf("re-encoding decodes differently:\n%+v\n%+v", m, again)
		}
	})
}
