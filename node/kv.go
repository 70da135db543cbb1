package node

import (
	"encoding/binary"
	"errors"
	"fmt"
	"maps"
	"slices"
	"sync"
)

// KV is the small replicated key-value state machine that exercises Raft
// until the metadata service replaces it. Writes are exactly-once: each
// carries a client id and a sequence number, and the state machine keeps, per
// client, the last sequence applied and its result (the session table of the
// course's Raft, after the Raft thesis §6.3). A retry of an applied command is
// answered from the table and not applied again.
//
// KV is safe for concurrent use: the driver applies from its goroutine while
// readers Get from theirs.
type KV struct {
	mu struct {
		sync.RWMutex
		data     map[string][]byte
		sessions map[uint64]session // by client id
		applied  uint64
	}
	maxSessions int
}

type session struct {
	seq    uint64
	index  uint64 // log index where seq was applied; also the eviction order
	result KVResult
}

// KVResult is what a write returns.
type KVResult struct {
	Index   uint64 // index the write was first applied at
	Existed bool   // Delete: the key was present
}

// DefaultMaxSessions bounds the session table; the least recently active
// client is forgotten first. A client silent for that many other clients'
// writes loses exactly-once protection for its one in-flight retry, the
// standard trade-off (thesis §6.3).
const DefaultMaxSessions = 100_000

// NewKV returns an empty store.
func NewKV() *KV {
	kv := &KV{maxSessions: DefaultMaxSessions}
	kv.mu.data = map[string][]byte{}
	kv.mu.sessions = map[uint64]session{}
	return kv
}

const (
	opPut    byte = 1
	opDelete byte = 2
)

// ErrBadCommand: a log entry that is not a KV command.
var ErrBadCommand = errors.New("node: malformed kv command")

// kvCommand is one write.
type kvCommand struct {
	op       byte
	clientID uint64
	seq      uint64
	key      string
	value    []byte
}

func (c kvCommand) encode() []byte {
	b := make([]byte, 0, 1+3*binary.MaxVarintLen64+len(c.key)+len(c.value)+binary.MaxVarintLen64)
	b = append(b, c.op)
	b = binary.AppendUvarint(b, c.clientID)
	b = binary.AppendUvarint(b, c.seq)
	b = binary.AppendUvarint(b, uint64(len(c.key)))
	b = append(b, c.key...)
	return append(b, c.value...)
}

func decodeCommand(b []byte) (kvCommand, error) {
	var c kvCommand
	if len(b) < 1 {
		return c, ErrBadCommand
	}
	c.op, b = b[0], b[1:]
	var n int
	if c.clientID, n = binary.Uvarint(b); n <= 0 {
		return c, ErrBadCommand
	}
	b = b[n:]
	if c.seq, n = binary.Uvarint(b); n <= 0 {
		return c, ErrBadCommand
	}
	b = b[n:]
	kl, n := binary.Uvarint(b)
	if n <= 0 || kl > uint64(len(b)-n) {
		return c, ErrBadCommand
	}
	b = b[n:]
	c.key, c.value = string(b[:kl]), b[kl:]
	if c.op != opPut && c.op != opDelete {
		return c, fmt.Errorf("%w: op %d", ErrBadCommand, c.op)
	}
	return c, nil
}

// Apply applies the command at index. It implements StateMachine.
func (kv *KV) Apply(index uint64, data []byte) (any, error) {
	c, err := decodeCommand(data)
	kv.mu.Lock()
	defer kv.mu.Unlock()
	kv.mu.applied = index
	if err != nil {
		return nil, err
	}
	if c.clientID != 0 {
		if s, ok := kv.mu.sessions[c.clientID]; ok && c.seq <= s.seq {
			if c.seq == s.seq {
				return s.result, nil // a retry: same answer, not applied again
			}
			return nil, fmt.Errorf("node: stale request %d from client %x (last %d)", c.seq, c.clientID, s.seq)
		}
	}
	res := KVResult{Index: index}
	switch c.op {
	case opPut:
		kv.mu.data[c.key] = c.value
	case opDelete:
		_, res.Existed = kv.mu.data[c.key]
		delete(kv.mu.data, c.key)
	}
	if c.clientID != 0 {
		kv.mu.sessions[c.clientID] = session{seq: c.seq, index: index, result: res}
		kv.evictLocked()
	}
	return res, nil
}

// evictLocked drops the least recently active sessions over the bound. The
// choice depends only on the log, so every replica drops the same ones.
func (kv *KV) evictLocked() {
	for len(kv.mu.sessions) > kv.maxSessions {
		var oldest uint64
		var at uint64 = ^uint64(0)
		for id, s := range kv.mu.sessions {
			if s.index < at {
				oldest, at = id, s.index
			}
		}
		delete(kv.mu.sessions, oldest)
	}
}

// Get returns the value of key and the applied index it was read at.
func (kv *KV) Get(key string) (value []byte, found bool, index uint64) {
	kv.mu.RLock()
	defer kv.mu.RUnlock()
	v, ok := kv.mu.data[key]
	return v, ok, kv.mu.applied
}

// Len returns the number of keys.
func (kv *KV) Len() int {
	kv.mu.RLock()
	defer kv.mu.RUnlock()
	return len(kv.mu.data)
}

const kvSnapshotVersion = 1

// Snapshot encodes the whole state in its canonical form: keys in sorted
// order, then sessions, so equal states give equal bytes.
func (kv *KV) Snapshot() ([]byte, error) { return kv.view(true)() }

// SnapshotView takes a point-in-time view of the state, cheaply (a copy
// of the maps, not of the values, which are never modified in place), and
// returns the function that encodes it, which may run on any goroutine
// while writes go on. It implements ViewSnapshotter. Keys are not sorted:
// Restore takes them in any order, and sorting 100,000 keys costs more
// than the rest of the encoding.
func (kv *KV) SnapshotView() func() ([]byte, error) { return kv.view(false) }

func (kv *KV) view(sorted bool) func() ([]byte, error) {
	kv.mu.RLock()
	data := maps.Clone(kv.mu.data)
	sessions := maps.Clone(kv.mu.sessions)
	applied := kv.mu.applied
	kv.mu.RUnlock()
	return func() ([]byte, error) { return encodeKVSnapshot(data, sessions, applied, sorted), nil }
}

func encodeKVSnapshot(data map[string][]byte, sessions map[uint64]session, applied uint64, sorted bool) []byte {
	keys := make([]string, 0, len(data))
	size := 16
	for k, v := range data {
		keys = append(keys, k)
		size += len(k) + len(v) + 8
	}
	if sorted {
		slices.Sort(keys)
	}
	b := make([]byte, 0, size+len(sessions)*32)
	b = append(b, kvSnapshotVersion)
	b = binary.AppendUvarint(b, applied)
	b = binary.AppendUvarint(b, uint64(len(keys)))
	for _, k := range keys {
		v := data[k]
		b = binary.AppendUvarint(b, uint64(len(k)))
		b = append(b, k...)
		b = binary.AppendUvarint(b, uint64(len(v)))
		b = append(b, v...)
	}
	ids := make([]uint64, 0, len(sessions))
	for id := range sessions {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	b = binary.AppendUvarint(b, uint64(len(ids)))
	for _, id := range ids {
		s := sessions[id]
		b = binary.AppendUvarint(b, id)
		b = binary.AppendUvarint(b, s.seq)
		b = binary.AppendUvarint(b, s.index)
		b = binary.AppendUvarint(b, s.result.Index)
		ex := byte(0)
		if s.result.Existed {
			ex = 1
		}
		b = append(b, ex)
	}
	return b
}

// Restore replaces the state by a snapshot. A malformed snapshot is an
// error and leaves the state unchanged.
func (kv *KV) Restore(b []byte) error {
	d := snapDecoder{b: b}
	if v := d.byte(); v != kvSnapshotVersion {
		return fmt.Errorf("%w: snapshot version %d", ErrBadCommand, v)
	}
	applied := d.uvarint()
	n := d.count()
	data := make(map[string][]byte, n)
	for range n {
		k := d.bytes()
		data[string(k)] = d.bytes()
	}
	n = d.count()
	sessions := make(map[uint64]session, n)
	for range n {
		id := d.uvarint()
		s := session{seq: d.uvarint(), index: d.uvarint()}
		s.result.Index = d.uvarint()
		s.result.Existed = d.byte() == 1
		sessions[id] = s
	}
	if d.err != nil || len(d.b) != 0 {
		return fmt.Errorf("%w: snapshot: %v", ErrBadCommand, d.err)
	}
	kv.mu.Lock()
	defer kv.mu.Unlock()
	kv.mu.data, kv.mu.sessions, kv.mu.applied = data, sessions, applied
	return nil
}

type snapDecoder struct {
	b   []byte
	err error
}

func (d *snapDecoder) byte() byte {
	if d.err != nil || len(d.b) < 1 {
		d.err = errors.New("short")
		return 0
	}
	c := d.b[0]
	d.b = d.b[1:]
	return c
}

func (d *snapDecoder) uvarint() uint64 {
	if d.err != nil {
		return 0
	}
	v, n := binary.Uvarint(d.b)
	if n <= 0 {
		d.err = errors.New("bad varint")
		return 0
	}
	d.b = d.b[n:]
	return v
}

// count reads a count, bounded by the bytes left (each item takes one at
// least), so a corrupt count cannot force a huge allocation.
func (d *snapDecoder) count() int {
	n := d.uvarint()
	if n > uint64(len(d.b)) {
		d.err = errors.New("count exceeds input")
		return 0
	}
	return int(n)
}

func (d *snapDecoder) bytes() []byte {
	n := d.uvarint()
	if d.err != nil || n > uint64(len(d.b)) {
		d.err = errors.New("short bytes")
		return nil
	}
	v := d.b[:n:n]
	d.b = d.b[n:]
	return v
}
