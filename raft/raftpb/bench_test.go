package raftpb

import "testing"

// benchApp is a MsgApp with 64 entries of 256 bytes, a typical batch.
func benchApp() *Message {
	m := &Message{Type: MsgApp, To: 2, From: 1, Term: 7, LogTerm: 7, Index: 100000, Commit: 99990}
	m.Entries = make([]Entry, 64)
	for i := range m.Entries {
		d := make([]byte, 256)
		for j := range d {
			d[j] = byte(i + j)
		}
		m.Entries[i] = Entry{Term: 7, Index: m.Index + 1 + uint64(i), Data: d}
	}
	return m
}

func BenchmarkMessageMarshal(b *testing.B) {
	m := benchApp()
	buf := make([]byte, 0, m.Size())
	b.SetBytes(int64(m.Size()))
	b.ReportAllocs()
	for b.Loop() {
		buf = m.AppendMarshal(buf[:0])
	}
}

func BenchmarkMessageUnmarshal(b *testing.B) {
	m := benchApp()
	buf := m.Marshal()
	b.SetBytes(int64(len(buf)))
	b.ReportAllocs()
	var got Message
	for b.Loop() {
		if err := got.Unmarshal(buf); err != nil {
			b.Fatal(err)
		}
	}
}
