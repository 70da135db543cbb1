package chord

import (
	"encoding/binary"
	"errors"
	"fmt"
	"time"

	"github.com/puddlestore/puddlestore/id"
	"github.com/puddlestore/puddlestore/internal/wire"
	"github.com/puddlestore/puddlestore/transport"
)

// Entry is a position on the ring and the address that serves it. Several
// entries (virtual nodes) may share an address; the driver tells them apart
// by ID.
type Entry struct {
	ID   id.ID
	Addr transport.Addr
}

// IsZero reports whether e names no node.
func (e Entry) IsZero() bool { return e.ID == (id.ID{}) && e.Addr == "" }

// MsgType is the kind of a message between Chord nodes.
type MsgType uint8

const (
	// MsgPing probes a node: liveness (check_predecessor, fingers and the
	// successor list) and, timed by the sender's driver, round-trip time.
	MsgPing MsgType = iota + 1
	// MsgPong answers a ping with its Seq; the receiving driver fills RTT.
	MsgPong
	// MsgFindSuccessor is a recursive lookup of Key for Origin, forwarded
	// hop by hop (§4.3, Figure 5, done recursively); Path holds the nodes
	// it went through, Origin first, and Hops counts the forwards.
	MsgFindSuccessor
	// MsgFoundSuccessor answers the Origin of a lookup: Succs are the key's
	// first successors, Path the route, ending at the node that answered.
	MsgFoundSuccessor
	// MsgGetPredecessor is stabilize's question to a successor (§4.4).
	MsgGetPredecessor
	// MsgPredecessor answers it: Pred (zero if none) and the sender's
	// successor list in Succs.
	MsgPredecessor
	// MsgNotify: the sender thinks it might be the receiver's predecessor.
	MsgNotify
	// MsgLeave: the sender leaves. Its successor takes Pred as its
	// predecessor; its predecessor takes Succs as its successor list.
	MsgLeave
	msgTypeEnd
)

var msgTypeNames = [...]string{"", "Ping", "Pong", "FindSuccessor", "FoundSuccessor", "GetPredecessor",
	"Predecessor", "Notify", "Leave"}

func (t MsgType) String() string {
	if t > 0 && t < msgTypeEnd {
		return msgTypeNames[t]
	}
	return fmt.Sprintf("MsgType(%d)", uint8(t))
}

// Message is one message between Chord nodes. The driver sends it to
// To.Addr; To.ID lets a driver with several virtual nodes on one address
// hand it to the right one. RTT is filled by the driver on a MsgPong it
// receives and is not on the wire.
type Message struct {
	Type   MsgType
	From   Entry
	To     Entry
	Seq    uint64
	Origin Entry // MsgFindSuccessor, MsgFoundSuccessor: who looks up
	Key    id.ID
	Hops   int
	Pred   Entry   // MsgPredecessor, MsgLeave
	Succs  []Entry // successor lists
	Path   []Entry // a lookup's route so far
	RTT    time.Duration
}

// Limits on what a message may carry; a message beyond them is malformed.
const (
	MaxSuccessors = 64  // entries in Succs
	MaxHops       = 64  // a lookup forwarded more often is dropped
	MaxAddrLen    = 256 // bytes in an address
)

// ErrMalformed is returned, wrapped, for bytes that do not decode to a
// valid message and for messages that fail Validate.
var ErrMalformed = errors.New("chord: malformed message")

const wireVersion = 1

// Marshal encodes m (without RTT).
//
// Wire format, version 1: version, type, From, To, Seq, Origin, Key, Hops,
// Pred, len(Succs), Succs..., len(Path), Path... Integers are minimal
// uvarints; an Entry is its 20-byte id and its address, length-prefixed.
// The decoder accepts only this canonical form, so decoding and encoding
// again gives the same bytes.
func (m *Message) Marshal() []byte {
	b := make([]byte, 0, m.Size())
	b = append(b, wireVersion, byte(m.Type))
	b = appendEntry(b, m.From)
	b = appendEntry(b, m.To)
	b = binary.AppendUvarint(b, m.Seq)
	b = appendEntry(b, m.Origin)
	b = append(b, m.Key[:]...)
	b = binary.AppendUvarint(b, uint64(max(m.Hops, 0)))
	b = appendEntry(b, m.Pred)
	b = binary.AppendUvarint(b, uint64(len(m.Succs)))
	for _, e := range m.Succs {
		b = appendEntry(b, e)
	}
	b = binary.AppendUvarint(b, uint64(len(m.Path)))
	for _, e := range m.Path {
		b = appendEntry(b, e)
	}
	return b
}

func appendEntry(b []byte, e Entry) []byte { return wire.AppendNode(b, e.ID, e.Addr) }

var uvarintLen = wire.UvarintLen

func entrySize(e Entry) int { return wire.NodeSize(e.Addr) }

// Size returns the length of m's encoding, without encoding it.
func (m *Message) Size() int {
	n := 2 + entrySize(m.From) + entrySize(m.To) + uvarintLen(m.Seq) + entrySize(m.Origin) + id.Size +
		uvarintLen(uint64(max(m.Hops, 0))) + entrySize(m.Pred) +
		uvarintLen(uint64(len(m.Succs))) + uvarintLen(uint64(len(m.Path)))
	for _, e := range m.Succs {
		n += entrySize(e)
	}
	for _, e := range m.Path {
		n += entrySize(e)
	}
	return n
}

// decoder is wire's, with Chord's entries; it refuses non-minimal
// varints, so that what decodes re-encodes to the same bytes.
type decoder struct{ wire.Decoder }

func (d *decoder) entry() Entry {
	x, a := d.Node(MaxAddrLen)
	return Entry{ID: x, Addr: a}
}

// entries reads a count, at most limit, and that many entries. Each entry
// takes at least id.Size+1 bytes: the count is checked against what is
// left before anything is allocated.
func (d *decoder) entries(limit uint64, what string) []Entry {
	n := d.Small(limit, what+" count")
	if d.Err != nil || n == 0 {
		return nil
	}
	if n > len(d.B)/(id.Size+1) {
		d.Fail(what + " count exceeds input")
		return nil
	}
	es := make([]Entry, n)
	for i := range es {
		es[i] = d.entry()
	}
	return es
}

// Unmarshal decodes b into m and validates it.
func (m *Message) Unmarshal(b []byte) error {
	d := decoder{wire.Decoder{B: b, Malformed: ErrMalformed, Minimal: true}}
	if v := d.Byte(); d.Err == nil && v != wireVersion {
		return fmt.Errorf("%w: version %d", ErrMalformed, v)
	}
	*m = Message{Type: MsgType(d.Byte())}
	m.From = d.entry()
	m.To = d.entry()
	m.Seq = d.Uvarint()
	m.Origin = d.entry()
	m.Key = d.ID()
	m.Hops = d.Small(MaxHops, "hops")
	m.Pred = d.entry()
	m.Succs = d.entries(MaxSuccessors, "successor")
	m.Path = d.entries(MaxHops+1, "path")
	if d.Err != nil {
		return d.Err
	}
	if len(d.B) != 0 {
		return fmt.Errorf("%w: %d trailing bytes", ErrMalformed, len(d.B))
	}
	return m.Validate()
}

// validEntry: a node is named by a nonzero id and an address.
func validEntry(e Entry) bool { return e.ID != (id.ID{}) && e.Addr != "" && len(e.Addr) <= MaxAddrLen }

// Validate checks what the decoder cannot: that the type is known and the
// fields its handler relies on are there. Step calls it first.
func (m *Message) Validate() error {
	if m.Type == 0 || m.Type >= msgTypeEnd {
		return fmt.Errorf("%w: unknown type %d", ErrMalformed, m.Type)
	}
	if !validEntry(m.From) {
		return fmt.Errorf("%w: %v without a sender", ErrMalformed, m.Type)
	}
	if m.Hops < 0 || m.Hops > MaxHops || len(m.Succs) > MaxSuccessors || len(m.Path) > MaxHops+1 {
		return fmt.Errorf("%w: %v: hops %d, %d successors, path of %d", ErrMalformed, m.Type, m.Hops,
			len(m.Succs), len(m.Path))
	}
	for _, e := range [...]Entry{m.To, m.Origin, m.Pred} {
		if len(e.Addr) > MaxAddrLen {
			return fmt.Errorf("%w: %v: address too long", ErrMalformed, m.Type)
		}
	}
	for _, es := range [...][]Entry{m.Succs, m.Path} {
		for _, e := range es {
			if !validEntry(e) {
				return fmt.Errorf("%w: %v: a listed node without id or address", ErrMalformed, m.Type)
			}
		}
	}
	switch m.Type {
	case MsgFindSuccessor, MsgFoundSuccessor:
		if !validEntry(m.Origin) {
			return fmt.Errorf("%w: %v without an origin", ErrMalformed, m.Type)
		}
	}
	if m.Type == MsgFoundSuccessor && len(m.Succs) == 0 {
		return fmt.Errorf("%w: %v without successors", ErrMalformed, m.Type)
	}
	if !m.Pred.IsZero() && !validEntry(m.Pred) {
		return fmt.Errorf("%w: %v: predecessor without id or address", ErrMalformed, m.Type)
	}
	return nil
}
