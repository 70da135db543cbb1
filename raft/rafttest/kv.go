package rafttest

import (
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
	"strings"
)

// OpKind is the kind of a key-value command.
type OpKind uint8

const (
	OpGet OpKind = iota + 1
	OpPut
	OpAppend
)

func (k OpKind) String() string {
	switch k {
	case OpGet:
		return "get"
	case OpPut:
		return "put"
	case OpAppend:
		return "append"
	}
	return fmt.Sprintf("op(%d)", uint8(k))
}

// Op is one client command, the data of a log entry. Client and Seq make
// Put and Append exactly-once (MIT 6.824 lab 3): a command whose Seq is not
// above the last one applied for its Client is a retry and is skipped.
type Op struct {
	Kind   OpKind
	Key    string
	Value  string
	Client uint64
	Seq    uint64
}

func (o Op) String() string {
	return fmt.Sprintf("c%d#%d %s(%q,%q)", o.Client, o.Seq, o.Kind, o.Key, o.Value)
}

var errBadOp = errors.New("rafttest: malformed command")

// Marshal encodes o.
func (o Op) Marshal() []byte {
	b := make([]byte, 0, 24+len(o.Key)+len(o.Value))
	b = append(b, byte(o.Kind))
	b = binary.AppendUvarint(b, o.Client)
	b = binary.AppendUvarint(b, o.Seq)
	b = appendString(b, o.Key)
	return appendString(b, o.Value)
}

// Unmarshal decodes b into o.
func (o *Op) Unmarshal(b []byte) error {
	d := decoder{b: b}
	if len(b) == 0 {
		return errBadOp
	}
	o.Kind = OpKind(b[0])
	d.b = b[1:]
	o.Client = d.uvarint()
	o.Seq = d.uvarint()
	o.Key = d.string()
	o.Value = d.string()
	if d.err != nil || len(d.b) != 0 || o.Kind < OpGet || o.Kind > OpAppend {
		return errBadOp
	}
	return nil
}

func appendString(b []byte, s string) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

type decoder struct {
	b   []byte
	err error
}

func (d *decoder) uvarint() uint64 {
	v, n := binary.Uvarint(d.b)
	if n <= 0 {
		d.err = errBadOp
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *decoder) string() string {
	n := d.uvarint()
	if d.err != nil || n > uint64(len(d.b)) {
		d.err = errBadOp
		return ""
	}
	s := string(d.b[:n])
	d.b = d.b[n:]
	return s
}

// KV is the replicated state machine: a map from key to value plus the
// exactly-once table.
type KV struct {
	data map[string]string
	last map[uint64]uint64 // client -> highest Seq of an applied Put/Append
}

// NewKV returns an empty store.
func NewKV() *KV { return &KV{data: map[string]string{}, last: map[uint64]uint64{}} }

// Apply executes o and returns the value a Get reads (the empty string for
// Put and Append). dup reports a retried Put/Append that was skipped.
func (kv *KV) Apply(o Op) (value string, dup bool) {
	switch o.Kind {
	case OpGet:
		return kv.data[o.Key], false
	}
	if o.Seq <= kv.last[o.Client] {
		return "", true
	}
	kv.last[o.Client] = o.Seq
	if o.Kind == OpPut {
		kv.data[o.Key] = o.Value
	} else {
		kv.data[o.Key] += o.Value
	}
	return "", false
}

// Get reads key locally (for ReadIndex reads).
func (kv *KV) Get(key string) string { return kv.data[key] }

// Snapshot encodes the store deterministically (sorted keys).
func (kv *KV) Snapshot() []byte {
	var b []byte
	keys := make([]string, 0, len(kv.data))
	for k := range kv.data {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	b = binary.AppendUvarint(b, uint64(len(keys)))
	for _, k := range keys {
		b = appendString(b, k)
		b = appendString(b, kv.data[k])
	}
	clients := make([]uint64, 0, len(kv.last))
	for c := range kv.last {
		clients = append(clients, c)
	}
	slices.Sort(clients)
	b = binary.AppendUvarint(b, uint64(len(clients)))
	for _, c := range clients {
		b = binary.AppendUvarint(b, c)
		b = binary.AppendUvarint(b, kv.last[c])
	}
	return b
}

// Restore replaces the store by a snapshot.
func (kv *KV) Restore(b []byte) error {
	d := decoder{b: b}
	data := map[string]string{}
	last := map[uint64]uint64{}
	for n := d.uvarint(); n > 0 && d.err == nil; n-- {
		k := d.string()
		data[k] = d.string()
	}
	for n := d.uvarint(); n > 0 && d.err == nil; n-- {
		c := d.uvarint()
		last[c] = d.uvarint()
	}
	if d.err != nil || len(d.b) != 0 {
		return fmt.Errorf("rafttest: bad snapshot (%d bytes)", len(b))
	}
	kv.data, kv.last = data, last
	return nil
}

// String shows the store, for failure messages.
func (kv *KV) String() string {
	keys := make([]string, 0, len(kv.data))
	for k := range kv.data {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	var sb strings.Builder
	for _, k := range keys {
		fmt.Fprintf(&sb, "%s=%q ", k, kv.data[k])
	}
	return sb.String()
}
