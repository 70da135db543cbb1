package raftpb

import (
	"errors"
	"fmt"
	"math"
)

// ErrInvalid is returned (wrapped with detail) by the Validate methods when a
// value decodes but breaks the protocol's rules.
var ErrInvalid = errors.New("raftpb: invalid")

func invalid(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrInvalid}, args...)...)
}

// IsForwarded reports whether t is a local request that a follower may
// forward to its leader over the wire (MsgProp, MsgReadIndex,
// MsgTransferLeader); MsgPropResp and MsgReadIndexResp answer such forwards.
// The other local types (MsgHup, MsgBeat, MsgCheckQuorum) never leave a node.
func (t MessageType) IsForwarded() bool {
	return t == MsgProp || t == MsgReadIndex || t == MsgTransferLeader
}

// Validate checks the rules every Message received from the wire must obey,
// so the raft core can trust them:
//
//   - the type is known, and is a wire type or a forwarded request
//     (IsForwarded); MsgHup, MsgBeat and MsgCheckQuorum are rejected;
//   - From and To are non-zero and differ;
//   - Term is non-zero except for forwarded requests, and LogTerm <= Term;
//   - only MsgApp and MsgProp carry entries, of known types; in MsgApp they
//     have consecutive indexes starting at Index+1 and non-decreasing terms
//     between LogTerm and Term (the Log Matching property, Raft §5.3);
//   - only MsgSnap carries a Snapshot, and it must: a non-empty one with
//     Metadata.Term <= Term, a valid ConfState, and a chunk that lies within
//     Total (ending exactly at Total when Done);
//   - Offset, Total, Checksum and Done are zero outside MsgSnap and MsgSnapResp.
func (m *Message) Validate() error {
	t := m.Type
	switch {
	case !t.Valid():
		return invalid("message type %d unknown", t)
	case t.IsLocal() && !t.IsForwarded():
		return invalid("%v is local and never sent on the wire", t)
	case m.From == 0 || m.To == 0:
		return invalid("%v from %d to %d: node ids must be non-zero", t, m.From, m.To)
	case m.From == m.To:
		return invalid("%v from %d to itself", t, m.From)
	case m.Term == 0 && !t.IsForwarded():
		return invalid("%v from %d has term 0", t, m.From)
	case m.LogTerm > m.Term && !t.IsForwarded():
		return invalid("%v from %d: log term %d exceeds term %d", t, m.From, m.LogTerm, m.Term)
	}
	if len(m.Entries) > 0 && t != MsgApp && t != MsgProp {
		return invalid("%v from %d carries %d entries", t, m.From, len(m.Entries))
	}
	for i := range m.Entries {
		if m.Entries[i].Type > EntryConfChange {
			return invalid("%v from %d: entry %d has unknown type %d", t, m.From, i, m.Entries[i].Type)
		}
	}
	if t == MsgApp {
		if err := m.validateApp(); err != nil {
			return err
		}
	}
	if t == MsgSnap {
		return m.validateSnap()
	}
	if m.Snapshot != nil {
		return invalid("%v from %d carries a snapshot", t, m.From)
	}
	if t != MsgSnapResp && (m.Offset != 0 || m.Total != 0 || m.Checksum != 0 || m.Done) {
		return invalid("%v from %d has snapshot transfer fields set", t, m.From)
	}
	return nil
}

func (m *Message) validateApp() error {
	if uint64(len(m.Entries)) > math.MaxUint64-m.Index {
		return invalid("MsgApp from %d: indexes overflow after %d", m.From, m.Index)
	}
	prev := m.LogTerm
	for i := range m.Entries {
		e := &m.Entries[i]
		if want := m.Index + 1 + uint64(i); e.Index != want {
			return invalid("MsgApp from %d: entry %d has index %d, want %d", m.From, i, e.Index, want)
		}
		if e.Term < prev || e.Term > m.Term {
			return invalid("MsgApp from %d: entry %d has term %d, want %d..%d", m.From, e.Index, e.Term, prev, m.Term)
		}
		prev = e.Term
	}
	return nil
}

func (m *Message) validateSnap() error {
	s := m.Snapshot
	if s == nil || s.IsEmpty() {
		return invalid("MsgSnap from %d has no snapshot", m.From)
	}
	if s.Metadata.Term == 0 || s.Metadata.Term > m.Term {
		return invalid("MsgSnap from %d: snapshot term %d, want 1..%d", m.From, s.Metadata.Term, m.Term)
	}
	if err := s.Metadata.ConfState.Validate(); err != nil {
		return fmt.Errorf("MsgSnap from %d: %w", m.From, err)
	}
	n := uint64(len(s.Data))
	if m.Offset > m.Total || n > m.Total-m.Offset {
		return invalid("MsgSnap from %d: chunk [%d, +%d) exceeds total %d", m.From, m.Offset, n, m.Total)
	}
	if m.Done && m.Offset+n != m.Total {
		return invalid("MsgSnap from %d: last chunk ends at %d, total %d", m.From, m.Offset+n, m.Total)
	}
	return nil
}

// Validate checks that cs names each member once, with non-zero ids, and
// that a voter is not also a learner.
func (cs *ConfState) Validate() error {
	seen := make(map[uint64]bool, len(cs.Voters)+len(cs.Learners))
	for _, list := range [2][]uint64{cs.Voters, cs.Learners} {
		for _, id := range list {
			if id == 0 {
				return invalid("conf state: node id 0")
			}
			if seen[id] {
				return invalid("conf state: node %d listed twice", id)
			}
			seen[id] = true
		}
	}
	return nil
}

// Validate checks that cc has a known type and a non-zero node id.
func (cc *ConfChange) Validate() error {
	if cc.Type > ConfRemoveNode {
		return invalid("conf change type %d unknown", cc.Type)
	}
	if cc.NodeID == 0 {
		return invalid("conf change for node 0")
	}
	return nil
}
