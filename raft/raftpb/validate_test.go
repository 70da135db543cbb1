package raftpb

import (
	"errors"
	"testing"
)

func TestMessageValidate(t *testing.T) {
	app := func(mut func(m *Message)) Message {
		m := Message{Type: MsgApp, To: 2, From: 1, Term: 5, LogTerm: 3, Index: 10, Commit: 10,
			Entries: []Entry{{Term: 3, Index: 11}, {Term: 4, Index: 12}, {Term: 5, Index: 13}}}
		if mut != nil {
			mut(&m)
		}
		return m
	}
	snap := func(mut func(m *Message)) Message {
		m := Message{Type: MsgSnap, To: 2, From: 1, Term: 5, Offset: 10, Total: 15, Done: true,
			Snapshot: &Snapshot{Metadata: SnapshotMetadata{Index: 50, Term: 4,
				ConfState: ConfState{Voters: []uint64{1, 2, 3}}}, Data: []byte("12345")}}
		if mut != nil {
			mut(&m)
		}
		return m
	}
	cases := []struct {
		name string
		m    Message
		ok   bool
	}{
		{"app", app(nil), true},
		{"app empty", app(func(m *Message) { m.Entries = nil }), true},
		{"heartbeat", Message{Type: MsgHeartbeat, To: 2, From: 1, Term: 1, Commit: 3}, true},
		{"forwarded prop", Message{Type: MsgProp, To: 1, From: 2, Entries: []Entry{{Data: []byte("x")}}}, true},
		{"snap", snap(nil), true},
		{"snap resp", Message{Type: MsgSnapResp, To: 1, From: 2, Term: 5, Offset: 15}, true},
		{"hup", Message{Type: MsgHup, To: 2, From: 1, Term: 1}, false},
		{"beat", Message{Type: MsgBeat, To: 2, From: 1, Term: 1}, false},
		{"unknown type", Message{Type: maxMessageType, To: 2, From: 1, Term: 1}, false},
		{"from zero", app(func(m *Message) { m.From = 0 }), false},
		{"to zero", app(func(m *Message) { m.To = 0 }), false},
		{"to self", app(func(m *Message) { m.To = 1 }), false},
		{"term zero", Message{Type: MsgVote, To: 2, From: 1}, false},
		{"log term above term", Message{Type: MsgVote, To: 2, From: 1, Term: 2, LogTerm: 3}, false},
		{"app gap", app(func(m *Message) { m.Entries[1].Index = 13 }), false},
		{"app wrong start", app(func(m *Message) { m.Index = 11 }), false},
		{"app term above", app(func(m *Message) { m.Entries[2].Term = 6 }), false},
		{"app term decreasing", app(func(m *Message) { m.Entries[1].Term = 2 }), false},
		{"app term below log term", app(func(m *Message) { m.Entries[0].Term = 2 }), false},
		{"app entry type", app(func(m *Message) { m.Entries[0].Type = 7 }), false},
		{"app overflow", app(func(m *Message) { m.Index = 1<<64 - 2 }), false},
		{"entries on vote", Message{Type: MsgVote, To: 2, From: 1, Term: 2, Entries: []Entry{{}}}, false},
		{"snapshot on app", app(func(m *Message) { m.Snapshot = &Snapshot{} }), false},
		{"snap fields on app", app(func(m *Message) { m.Total = 1 }), false},
		{"snap missing", snap(func(m *Message) { m.Snapshot = nil }), false},
		{"snap empty", snap(func(m *Message) { m.Snapshot.Metadata.Index = 0 }), false},
		{"snap term", snap(func(m *Message) { m.Snapshot.Metadata.Term = 6 }), false},
		{"snap chunk past total", snap(func(m *Message) { m.Total = 14; m.Done = false }), false},
		{"snap offset past total", snap(func(m *Message) { m.Offset = 1 << 63; m.Done = false }), false},
		{"snap done early", snap(func(m *Message) { m.Total = 16 }), false},
		{"snap dup voter", snap(func(m *Message) { m.Snapshot.Metadata.ConfState.Learners = []uint64{2} }), false},
	}
	for _, c := range cases {
		err := c.m.Validate()
		if c.ok && err != nil {
			t.Errorf("%s: unexpected error %v", c.name, err)
		}
		if !c.ok && !errors.Is(err, ErrInvalid) {
			t.Errorf("%s: err = %v, want ErrInvalid", c.name, err)
		}
	}
}

func TestConfChangeValidate(t *testing.T) {
	if err := (&ConfChange{Type: ConfAddLearner, NodeID: 3}).Validate(); err != nil {
		t.Error(err)
	}
	for _, cc := range []ConfChange{{Type: ConfAddVoter}, {Type: 9, NodeID: 1}} {
		if err := cc.Validate(); !errors.Is(err, ErrInvalid) {
			t.Errorf("%+v: err = %v", cc, err)
		}
	}
}
