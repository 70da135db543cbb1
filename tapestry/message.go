package tapestry

import (
	"encoding/binary"
	"errors"
	"fmt"
	"time"

	"github.com/puddlestore/puddlestore/id"
	"github.com/puddlestore/puddlestore/internal/wire"
	"github.com/puddlestore/puddlestore/transport"
)

// MsgType is the kind of a message between Tapestry nodes.
type MsgType uint8

const (
	// MsgPing probes a node: liveness (heartbeats) and, timed by the
	// sender's driver, round-trip time. Flag: the sender holds the
	// receiver in its routing table (it refreshes a backpointer).
	MsgPing MsgType = iota + 1
	// MsgPong answers a ping with its Seq; the receiving driver fills RTT.
	MsgPong
	// MsgJoin is routed toward the joiner's id (Origin); its root starts
	// the acknowledged multicast (§4.1).
	MsgJoin
	// MsgMulticast asks the receiver to add the joiner (Origin) and to pass
	// the multicast on to every node sharing Level digits with it.
	MsgMulticast
	// MsgMulticastAck reports a subtree of the multicast done: Entries are
	// the nodes it reached.
	MsgMulticastAck
	// MsgJoinReply gives the joiner the nodes that share Level digits with
	// it, where its nearest-neighbour search starts.
	MsgJoinReply
	// MsgGetNeighbors asks for the receiver's neighbours at Level (table
	// row and backpointers), all of them or, if Flag, only those in slot
	// Digit.
	MsgGetNeighbors
	// MsgNeighbors answers MsgGetNeighbors.
	MsgNeighbors
	// MsgPublish is routed toward a root (Key) for Object, leaving a
	// pointer to its server (Origin) at every hop; Dist is the estimated
	// round-trip time from the hop to the server. Seq zero: a republish,
	// not acknowledged.
	MsgPublish
	// MsgPublishAck tells the server that its pointer reached the root.
	MsgPublishAck
	// MsgUnpublish is routed like MsgPublish and removes the pointers.
	MsgUnpublish
	// MsgLocate is routed toward a root for Object until a node has a
	// pointer; Entries are servers to leave out.
	MsgLocate
	// MsgLocateReply answers the origin: Entries are the holders, nearest
	// first; none (Flag false) when the root had no pointer.
	MsgLocateReply
	// MsgRoute traces the route of Key; Entries accumulate the path.
	MsgRoute
	// MsgRouteReply gives the origin the path, ending at the root.
	MsgRouteReply
	// MsgLeave: the sender leaves. Entries are replacements for its slot;
	// Pointers are object pointers it was root for, to republish.
	MsgLeave
	// MsgBackpointer: the sender now holds the receiver in its table
	// (Flag) or no longer does.
	MsgBackpointer
	// MsgHandoff carries a pointer whose root left toward the new root,
	// where alone it is stored: the nodes on the way are not on the
	// server's publish path, and pointers there would outlive an
	// unpublish.
	MsgHandoff
	msgTypeEnd
)

var msgTypeNames = [...]string{"", "Ping", "Pong", "Join", "Multicast", "MulticastAck", "JoinReply",
	"GetNeighbors", "Neighbors", "Publish", "PublishAck", "Unpublish", "Locate", "LocateReply",
	"Route", "RouteReply", "Leave", "Backpointer", "Handoff"}

func (t MsgType) String() string {
	if t > 0 && t < msgTypeEnd {
		return msgTypeNames[t]
	}
	return fmt.Sprintf("MsgType(%d)", uint8(t))
}

// routed reports whether messages of type t travel hop by hop toward the
// root of their Key.
func (t MsgType) routed() bool {
	switch t {
	case MsgJoin, MsgPublish, MsgUnpublish, MsgLocate, MsgRoute, MsgHandoff:
		return true
	}
	return false
}

// Message is one message between Tapestry nodes. To and ToAddr say where
// the driver sends it; RTT is filled by the driver on a MsgPong it
// receives and is not on the wire.
type Message struct {
	Type     MsgType
	From     Entry // sender (its RTT is not sent)
	To       id.ID // receiver, zero when only its address is known
	ToAddr   transport.Addr
	Seq      uint64
	Origin   Entry // who asked: the joiner, the server, the locating node
	Key      id.ID // routing key
	Object   id.ID // object key (publish, unpublish, locate)
	Level    int   // digits resolved; multicast and neighbour levels
	Digit    int
	Hops     int
	Flag     bool
	Dist     time.Duration
	RTT      time.Duration
	Entries  []Entry
	Pointers []Pointer // MsgLeave: pointers handed over
}

// Limits on what a message may carry; a message beyond them is malformed.
const (
	MaxEntries  = 4096
	MaxPointers = 1 << 16
	MaxAddrLen  = 256
	maxHops     = 4 * id.Digits
)

// ErrMalformed is returned, wrapped, for bytes that do not decode to a
// valid message.
var ErrMalformed = errors.New("tapestry: malformed message")

const wireVersion = 1

// Marshal encodes m (without ToAddr and RTT).
//
// Wire format, version 1: version, type, flag byte, From, To, Seq, Origin,
// Key, Object, Level, Digit, Hops, Dist (ns), len(Entries), Entries...,
// len(Pointers), Pointers... Integers are uvarints; an Entry is its 20-byte
// id, its address (length-prefixed) and its RTT (ns); a Pointer is Object,
// route Key, server Entry, Dist.
func (m *Message) Marshal() []byte {
	b := make([]byte, 0, m.Size())
	b = append(b, wireVersion, byte(m.Type))
	if m.Flag {
		b = append(b, 1)
	} else {
		b = append(b, 0)
	}
	b = appendEntry(b, m.From)
	b = append(b, m.To[:]...)
	b = binary.AppendUvarint(b, m.Seq)
	b = appendEntry(b, m.Origin)
	b = append(b, m.Key[:]...)
	b = append(b, m.Object[:]...)
	b = binary.AppendUvarint(b, uint64(m.Level))
	b = binary.AppendUvarint(b, uint64(m.Digit))
	b = binary.AppendUvarint(b, uint64(m.Hops))
	b = binary.AppendUvarint(b, uint64(max(m.Dist, 0)))
	b = binary.AppendUvarint(b, uint64(len(m.Entries)))
	for _, e := range m.Entries {
		b = appendEntry(b, e)
	}
	b = binary.AppendUvarint(b, uint64(len(m.Pointers)))
	for _, p := range m.Pointers {
		b = append(b, p.Key[:]...)
		b = append(b, p.Route[:]...)
		b = appendEntry(b, p.Server)
	}
	return b
}

func appendEntry(b []byte, e Entry) []byte {
	b = wire.AppendNode(b, e.ID, e.Addr)
	return binary.AppendUvarint(b, uint64(max(e.RTT, 0)))
}

var uvarintLen = wire.UvarintLen

func entrySize(e Entry) int { return wire.NodeSize(e.Addr) + uvarintLen(uint64(max(e.RTT, 0))) }

// Size returns the length of m's encoding, without encoding it.
func (m *Message) Size() int {
	n := 3 + entrySize(m.From) + id.Size + uvarintLen(m.Seq) + entrySize(m.Origin) + 2*id.Size +
		uvarintLen(uint64(m.Level)) + uvarintLen(uint64(m.Digit)) + uvarintLen(uint64(m.Hops)) +
		uvarintLen(uint64(max(m.Dist, 0))) + uvarintLen(uint64(len(m.Entries))) + uvarintLen(uint64(len(m.Pointers)))
	for _, e := range m.Entries {
		n += entrySize(e)
	}
	for _, p := range m.Pointers {
		n += 2*id.Size + entrySize(p.Server)
	}
	return n
}

// decoder is wire's, with Tapestry's durations and entries.
type decoder struct{ wire.Decoder }

func (d *decoder) duration() time.Duration {
	v := d.Uvarint()
	if v > 1<<62 {
		d.Fail("duration out of range")
		return 0
	}
	return time.Duration(v)
}

func (d *decoder) entry() Entry {
	x, a := d.Node(MaxAddrLen)
	return Entry{ID: x, Addr: a, RTT: d.duration()}
}

// Unmarshal decodes b into m and validates it.
func (m *Message) Unmarshal(b []byte) error {
	d := decoder{wire.Decoder{B: b, Malformed: ErrMalformed}}
	if v := d.Byte(); d.Err == nil && v != wireVersion {
		return fmt.Errorf("%w: version %d", ErrMalformed, v)
	}
	*m = Message{Type: MsgType(d.Byte())}
	switch f := d.Byte(); f {
	case 0, 1:
		m.Flag = f == 1
	default:
		d.Fail("flag byte")
	}
	m.From = d.entry()
	m.To = d.ID()
	m.Seq = d.Uvarint()
	m.Origin = d.entry()
	m.Key = d.ID()
	m.Object = d.ID()
	m.Level = d.Small(id.Digits, "level")
	m.Digit = d.Small(id.Base, "digit")
	m.Hops = d.Small(maxHops, "hops")
	m.Dist = d.duration()
	// Each entry takes at least id.Size+2 bytes: bound the count by what
	// is left before allocating.
	if n := d.Small(MaxEntries, "entry count"); n > 0 && n <= len(d.B)/(id.Size+2) {
		m.Entries = make([]Entry, n)
		for i := range m.Entries {
			m.Entries[i] = d.entry()
		}
	} else if n > 0 {
		d.Fail("entry count exceeds input")
	}
	if n := d.Small(MaxPointers, "pointer count"); n > 0 && n <= len(d.B)/(3*id.Size+2) {
		m.Pointers = make([]Pointer, n)
		for i := range m.Pointers {
			m.Pointers[i] = Pointer{Key: d.ID(), Route: d.ID(), Server: d.entry()}
		}
	} else if n > 0 {
		d.Fail("pointer count exceeds input")
	}
	if d.Err != nil {
		return d.Err
	}
	if len(d.B) != 0 {
		return fmt.Errorf("%w: %d trailing bytes", ErrMalformed, len(d.B))
	}
	return m.Validate()
}

// Validate checks what the decoder cannot: that the type is known and the
// fields its handler relies on are there.
func (m *Message) Validate() error {
	if m.Type == 0 || m.Type >= msgTypeEnd {
		return fmt.Errorf("%w: unknown type %d", ErrMalformed, m.Type)
	}
	if m.From.Addr == "" || m.From.ID == (id.ID{}) {
		return fmt.Errorf("%w: %v without a sender", ErrMalformed, m.Type)
	}
	if m.Level < 0 || m.Level > id.Digits || m.Digit < 0 || m.Digit >= id.Base || m.Hops < 0 || m.Hops > maxHops {
		return fmt.Errorf("%w: %v: level %d digit %d hops %d", ErrMalformed, m.Type, m.Level, m.Digit, m.Hops)
	}
	if len(m.Entries) > MaxEntries || len(m.Pointers) > MaxPointers {
		return fmt.Errorf("%w: %v: %d entries, %d pointers", ErrMalformed, m.Type, len(m.Entries), len(m.Pointers))
	}
	switch m.Type {
	case MsgJoin, MsgMulticast, MsgJoinReply, MsgPublish, MsgUnpublish, MsgLocate, MsgRoute, MsgHandoff:
		if m.Origin.Addr == "" || m.Origin.ID == (id.ID{}) {
			return fmt.Errorf("%w: %v without an origin", ErrMalformed, m.Type)
		}
	}
	return nil
}
