package chord

import (
	"bytes"
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/puddlestore/puddlestore/id"
)

func sampleMessages() []Message {
	a := Entry{ID: id.Hash([]byte("a")), Addr: "127.0.0.1:7001"}
	b := Entry{ID: id.Hash([]byte("b")), Addr: "127.0.0.1:7002"}
	c := Entry{ID: id.Hash([]byte("c")), Addr: "h3"}
	key := id.Hash([]byte("key"))
	return []Message{
		{Type: MsgPing, From: a, To: b, Seq: 7},
		{Type: MsgPong, From: b, To: a, Seq: 7},
		{Type: MsgFindSuccessor, From: a, To: b, Seq: 1 << 40, Origin: c, Key: key, Hops: 2, Path: []Entry{c, a}},
		{Type: MsgFoundSuccessor, From: b, To: c, Seq: 3, Origin: c, Key: key, Hops: 2, Succs: []Entry{a, b},
			Path: []Entry{c, a, b}},
		{Type: MsgGetPredecessor, From: a, To: Entry{Addr: "x"}, Seq: 9},
		{Type: MsgPredecessor, From: b, To: a, Seq: 9, Pred: c, Succs: []Entry{c, a}},
		{Type: MsgPredecessor, From: b, To: a, Seq: 10},
		{Type: MsgNotify, From: a, To: b},
		{Type: MsgLeave, From: a, To: b, Pred: c, Succs: []Entry{b, c}},
	}
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
		if !reflect.DeepEqual(got, m) {
			t.Errorf("%v: round trip\n got %+v\nwant %+v", m.Type, got, m)
		}
		// Every truncation is an error, never a panic.
		for i := range b {
			var x Message
			if err := x.Unmarshal(b[:i]); !errors.Is(err, ErrMalformed) {
				t.Errorf("%v: %d of %d bytes: %v", m.Type, i, len(b), err)
			}
		}
		// So is a trailing byte.
		var x Message
		if err := x.Unmarshal(append(b, 0)); !errors.Is(err, ErrMalformed) {
			t.Errorf("%v: trailing byte: %v", m.Type, err)
		}
	}
}

// RTT is the driver's, not the wire's.
func TestMessageRTTNotOnWire(t *testing.T) {
	a := Entry{ID: id.Hash([]byte("a")), Addr: "a"}
	m := Message{Type: MsgPong, From: a, Seq: 1, RTT: time.Second}
	var got Message
	if err := got.Unmarshal(m.Marshal()); err != nil || got.RTT != 0 {
		t.Errorf("got %+v, %v", got, err)
	}
}

func TestMessageMalformed(t *testing.T) {
	ping := Message{Type: MsgPing, From: Entry{ID: id.Hash([]byte("a")), Addr: "a"}}
	good := ping.Marshal()
	for name, b := range map[string][]byte{
		"empty":         {},
		"version":       append([]byte{2}, good[1:]...),
		"type 0":        append([]byte{wireVersion, 0}, good[2:]...),
		"unknown type":  append([]byte{wireVersion, byte(msgTypeEnd)}, good[2:]...),
		"long varint":   append(append(clone(good[:22]), 0x81, 0x00), good[23:]...),
		"huge address":  append(append(clone(good[:22]), 0xff, 0x7f), good[23:]...),
		"huge count":    append(clone(good[:len(good)-2]), 0xff, 0x01, 0),
		"count > input": append(clone(good[:len(good)-2]), 5, 0),
	} {
		var m Message
		if err := m.Unmarshal(b); !errors.Is(err, ErrMalformed) {
			t.Errorf("%s: Unmarshal = %v, want ErrMalformed", name, err)
		}
	}
}

func clone(b []byte) []byte { return bytes.Clone(b) }

func TestMessageValidate(t *testing.T) {
	a := Entry{ID: id.Hash([]byte("a")), Addr: "x"}
	for name, m := range map[string]Message{
		"unknown type":          {Type: msgTypeEnd, From: a},
		"no type":               {From: a},
		"no sender":             {Type: MsgPing},
		"sender no addr":        {Type: MsgPing, From: Entry{ID: a.ID}},
		"sender no id":          {Type: MsgPing, From: Entry{Addr: "x"}},
		"lookup no origin":      {Type: MsgFindSuccessor, From: a},
		"answer no successors":  {Type: MsgFoundSuccessor, From: a, Origin: a},
		"hops":                  {Type: MsgPing, From: a, Hops: -1},
		"too many hops":         {Type: MsgPing, From: a, Hops: MaxHops + 1},
		"zero successor":        {Type: MsgPredecessor, From: a, Succs: []Entry{{}}},
		"predecessor no addr":   {Type: MsgPredecessor, From: a, Pred: Entry{ID: a.ID}},
		"too many successors":   {Type: MsgPredecessor, From: a, Succs: make([]Entry, MaxSuccessors+1)},
		"path entry without id": {Type: MsgFindSuccessor, From: a, Origin: a, Path: []Entry{{Addr: "y"}}},
	} {
		if err := m.Validate(); !errors.Is(err, ErrMalformed) {
			t.Errorf("%s: Validate = %v, want ErrMalformed", name, err)
		}
	}
}

// FuzzMessage: decoding never panics, and what decodes encodes back to the
// same bytes (the wire form is canonical).
func FuzzMessage(f *testing.F) {
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
		if !bytes.Equal(out, b) {
			t.Fatalf("re-encoding differs:\n%x\n%x", b, out)
		}
	})
}
