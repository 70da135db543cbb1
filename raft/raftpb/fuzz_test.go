package raftpb

import (
	"bytes"
	"testing"
)

// The fuzz targets check that decoding never panics, and that whatever
// decodes re-encodes to exactly the input (the encoding is canonical).

func FuzzMessageUnmarshal(f *testing.F) {
	for _, m := range sampleMessages() {
		f.Add(m.Marshal())
	}
	f.Add([]byte{})
	f.Add([]byte{Version, byte(MsgApp), 0, 0xff, 0xff, 0xff, 0xff, 0x0f})
	f.Fuzz(func(t *testing.T, b []byte) {
		var m Message
		if err := m.Unmarshal(b); err != nil {
			return
		}
		_ = m.Validate()
		if got := m.Marshal(); !bytes.Equal(got, b) {
			t.Fatalf("re-encoding differs:\n in %x\nout %x", b, got)
		}
	})
}

type unmarshaler interface {
	Unmarshal([]byte) error
	Marshal() []byte
}

func fuzzCodec(f *testing.F, seed unmarshaler, fresh func() unmarshaler) {
	f.Add(seed.Marshal())
	f.Add([]byte{Version})
	f.Fuzz(func(t *testing.T, b []byte) {
		v := fresh()
		if err := v.Unmarshal(b); err != nil {
			return
		}
		if got := v.Marshal(); !bytes.Equal(got, b) {
			t.Fatalf("re-encoding differs:\n in %x\nout %x", b, got)
		}
	})
}

func FuzzEntryUnmarshal(f *testing.F) {
	fuzzCodec(f, &Entry{Term: 2, Index: 3, Data: []byte("x")}, func() unmarshaler { return new(Entry) })
}

func FuzzHardStateUnmarshal(f *testing.F) {
	fuzzCodec(f, &HardState{Term: 2, Vote: 1, Commit: 300}, func() unmarshaler { return new(HardState) })
}

func FuzzSnapshotUnmarshal(f *testing.F) {
	fuzzCodec(f, &Snapshot{Metadata: SnapshotMetadata{Index: 4, Term: 1,
		ConfState: ConfState{Voters: []uint64{1, 2}, Learners: []uint64{3}}}, Data: []byte("img")},
		func() unmarshaler { return new(Snapshot) })
}

func FuzzConfChangeUnmarshal(f *testing.F) {
	fuzzCodec(f, &ConfChange{Type: ConfAddVoter, NodeID: 2, Context: []byte("h:1")},
		func() unmarshaler { return new(ConfChange) })
}
