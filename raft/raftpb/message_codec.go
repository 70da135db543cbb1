package raftpb

import "encoding/binary"

// bodySize is the length of e's encoding without the version byte.
func (e *Entry) bodySize() int {
	return uvarintSize(e.Term) + uvarintSize(e.Index) + 1 + bytesSize(e.Data)
}

func (e *Entry) appendBody(dst []byte) []byte {
	dst = binary.AppendUvarint(dst, e.Term)
	dst = binary.AppendUvarint(dst, e.Index)
	dst = append(dst, byte(e.Type))
	return appendBytes(dst, e.Data)
}

func (e *Entry) decodeBody(d *decoder) {
	e.Term = d.uvarint("entry term")
	e.Index = d.uvarint("entry index")
	t := EntryType(d.byte("entry type"))
	if d.err == nil && t > EntryConfChange {
		d.fail("entry type %d unknown", t)
	}
	e.Type = t
	e.Data = d.bytes("entry data")
}

// Size returns the length of e's encoding.
func (e *Entry) Size() int { return 1 + e.bodySize() }

// AppendMarshal appends e's encoding to dst.
func (e *Entry) AppendMarshal(dst []byte) []byte {
	return e.appendBody(append(dst, Version))
}

// Marshal returns e's encoding.
func (e *Entry) Marshal() []byte { return e.AppendMarshal(make([]byte, 0, e.Size())) }

// Unmarshal decodes b into e. e.Data is a copy: b may be reused.
func (e *Entry) Unmarshal(b []byte) error {
	d := decoder{b: b}
	d.version("entry")
	*e = Entry{}
	e.decodeBody(&d)
	if err := d.finish("entry"); err != nil {
		*e = Entry{}
		return err
	}
	if e.Data != nil {
		e.Data = cloneInput(e.Data)
	}
	return nil
}

func (m *Message) flags() byte {
	var f byte
	if m.Reject {
		f |= flagReject
	}
	if m.Done {
		f |= flagDone
	}
	if m.Snapshot != nil {
		f |= flagSnapshot
	}
	return f
}

// Size returns the length of m's encoding.
func (m *Message) Size() int {
	n := 1 + 1 + 1 + uvarintSize(m.To) + uvarintSize(m.From) + uvarintSize(m.Term) +
		uvarintSize(m.LogTerm) + uvarintSize(m.Index) + uvarintSize(m.Commit) +
		uvarintSize(m.RejectHint) + bytesSize(m.Context) + uvarintSize(uint64(len(m.Entries)))
	for i := range m.Entries {
		n += m.Entries[i].bodySize()
	}
	if m.Snapshot != nil {
		n += m.Snapshot.bodySize()
	}
	return n + uvarintSize(m.Offset) + uvarintSize(m.Total) + 4
}

// AppendMarshal appends m's encoding to dst. With enough capacity in dst
// (see Size) it does not allocate.
func (m *Message) AppendMarshal(dst []byte) []byte {
	dst = append(dst, Version, byte(m.Type), m.flags())
	dst = binary.AppendUvarint(dst, m.To)
	dst = binary.AppendUvarint(dst, m.From)
	dst = binary.AppendUvarint(dst, m.Term)
	dst = binary.AppendUvarint(dst, m.LogTerm)
	dst = binary.AppendUvarint(dst, m.Index)
	dst = binary.AppendUvarint(dst, m.Commit)
	dst = binary.AppendUvarint(dst, m.RejectHint)
	dst = appendBytes(dst, m.Context)
	dst = binary.AppendUvarint(dst, uint64(len(m.Entries)))
	for i := range m.Entries {
		dst = m.Entries[i].appendBody(dst)
	}
	if m.Snapshot != nil {
		dst = m.Snapshot.appendBody(dst)
	}
	dst = binary.AppendUvarint(dst, m.Offset)
	dst = binary.AppendUvarint(dst, m.Total)
	return binary.LittleEndian.AppendUint32(dst, m.Checksum)
}

// Marshal returns m's encoding in a buffer of exactly the right size.
func (m *Message) Marshal() []byte { return m.AppendMarshal(make([]byte, 0, m.Size())) }

// Unmarshal decodes b into m, replacing its contents. It checks syntax only
// (known types, lengths within the input, no trailing bytes); see Validate
// for the protocol's rules. The byte fields of m share one private copy of
// b: b may be reused. On error m is left zero.
func (m *Message) Unmarshal(b []byte) error {
	*m = Message{}
	d := decoder{b: b}
	d.version("message")
	if d.err == nil {
		// Decode from a private copy only once the input looks sane.
		d.b = cloneInput(b)
	}
	t := MessageType(d.byte("message type"))
	if d.err == nil && !t.Valid() {
		d.fail("message type %d unknown", t)
	}
	m.Type = t
	f := d.byte("message flags")
	if d.err == nil && f&^flagsKnown != 0 {
		d.fail("message flags %#x unknown", f)
	}
	m.Reject = f&flagReject != 0
	m.Done = f&flagDone != 0
	m.To = d.uvarint("message to")
	m.From = d.uvarint("message from")
	m.Term = d.uvarint("message term")
	m.LogTerm = d.uvarint("message log term")
	m.Index = d.uvarint("message index")
	m.Commit = d.uvarint("message commit")
	m.RejectHint = d.uvarint("message reject hint")
	m.Context = d.bytes("message context")
	if n := d.count("message entries", minEntrySize); n > 0 {
		m.Entries = make([]Entry, n)
		for i := range m.Entries {
			m.Entries[i].decodeBody(&d)
			if d.err != nil {
				break
			}
		}
	}
	if f&flagSnapshot != 0 && d.err == nil {
		m.Snapshot = new(Snapshot)
		m.Snapshot.decodeBody(&d)
	}
	m.Offset = d.uvarint("message offset")
	m.Total = d.uvarint("message total")
	m.Checksum = d.fixed32("message checksum")
	if err := d.finish("message"); err != nil {
		*m = Message{}
		return err
	}
	return nil
}
