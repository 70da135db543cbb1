package wal

import (
	"bytes"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/puddlestore/puddlestore/raft/raftpb"
)

var errPowerCut = errors.New("power cut")

// model is what the WAL must recover: the effect of every call that
// returned nil.
type model struct {
	hs   raftpb.HardState
	snap raftpb.Snapshot
	ents []raftpb.Entry // after snap
	// durable is the least commit index recovery may return: the one of
	// the last synced call. A Save that only advances the commit index is
	// not synced, so recovery returns a commit index from durable to
	// hs.Commit.
	durable uint64
}

func (m *model) lastIndex() uint64 { return m.snap.Metadata.Index + uint64(len(m.ents)) }

func (m *model) term(i uint64) uint64 {
	if i == m.snap.Metadata.Index {
		return m.snap.Metadata.Term
	}
	return m.ents[i-m.snap.Metadata.Index-1].Term
}

func (m model) save(hs raftpb.HardState, es []raftpb.Entry) model {
	synced := len(es) > 0
	if !hs.IsEmpty() {
		synced = synced || hs.Term != m.hs.Term || hs.Vote != m.hs.Vote
		m.hs = hs
	}
	if len(es) > 0 {
		keep := es[0].Index - m.snap.Metadata.Index - 1
		m.ents = append(slices.Clone(m.ents[:keep]), es...)
	}
	if synced {
		m.durable = m.hs.Commit
	}
	return m
}

func (m model) saveSnapshot(s raftpb.Snapshot) model {
	i := s.Metadata.Index
	if i <= m.lastIndex() && m.term(i) == s.Metadata.Term {
		m.ents = slices.Clone(m.ents[i-m.snap.Metadata.Index:])
	} else {
		m.ents = nil
	}
	m.snap = s
	m.durable = m.hs.Commit // the marker's fsync covers the whole segment
	return m
}

func (m *model) state() State {
	return State{HardState: m.hs, Snapshot: m.snap, Entries: m.ents}
}

// step performs one random raft-like operation and returns the model as it
// would be if the operation succeeds.
func step(rng *rand.Rand, w *WAL, m *model, term *uint64) (model, error) {
	switch r := rng.IntN(20); {
	case r == 0 && m.lastIndex() > m.snap.Metadata.Index: // snapshot within the log
		i := m.snap.Metadata.Index + 1 + rng.Uint64N(m.lastIndex()-m.snap.Metadata.Index)
		s := snap(i, m.term(i))
		return m.saveSnapshot(s), w.SaveSnapshot(s)
	case r == 1: // a leader's snapshot beyond the log
		*term++
		s := snap(m.lastIndex()+1+rng.Uint64N(5), *term)
		return m.saveSnapshot(s), w.SaveSnapshot(s)
	default:
		first := m.lastIndex() + 1
		if r < 5 { // overwrite an uncommitted suffix
			*term++
			back := min(rng.Uint64N(6), m.lastIndex()-m.snap.Metadata.Index)
			first -= back
		}
		es := ents(first, rng.Uint64N(8), *term)
		for i := range es {
			es[i].Data = append(es[i].Data, make([]byte, rng.IntN(64))...)
		}
		var hs raftpb.HardState
		switch rng.IntN(3) {
		case 0: // a new vote
			hs = raftpb.HardState{Term: *term, Vote: rng.Uint64N(3), Commit: m.hs.Commit + rng.Uint64N(3)}
		case 1: // the commit index alone advances: written, not synced
			if m.hs.Term != 0 {
				hs = m.hs
				hs.Commit += 1 + rng.Uint64N(4)
				es = nil
			}
		}
		return m.save(hs, es), w.Save(hs, es)
	}
}

// TestCrashRecovery cuts the power at a random file operation, many times
// per seed, and checks that recovery returns exactly the acknowledged state,
// or that state plus the interrupted call.
func TestCrashRecovery(t *testing.T) {
	seeds := 200
	if testing.Short() {
		seeds = 20
	}
	var logs bytes.Buffer // what recovery logged: the runs must exercise torn tails
	for seed := uint64(1); seed <= uint64(seeds); seed++ {
		if err := crashRun(seed, &logs); err != nil {
			t.Fatalf("seed %d: %v", seed, err)
		}
	}
	if n := strings.Count(logs.String(), "torn write"); n < seeds {
		t.Errorf("only %d torn tails recovered in %d runs", n, seeds)
	}
	t.Logf("%d torn tails truncated", strings.Count(logs.String(), "torn write"))
}

func crashRun(seed uint64, logs *bytes.Buffer) error {
	rng := rand.New(rand.NewPCG(seed, 0))
	fsys := NewMemFS(seed)
	segBytes := int64(256 + rng.IntN(4096))
	opts := Options{Dir: dir, FS: fsys, SegmentBytes: segBytes, Logger: slog.New(slog.NewTextHandler(logs, nil))}
	var m model
	var term uint64 = 1
	for cycle := 0; cycle < 8; cycle++ {
		w, st, err := Open(opts)
		if err != nil {
			return fmt.Errorf("cycle %d: open: %w", cycle, err)
		}
		if err := sameState(st, m); err != nil {
			return fmt.Errorf("cycle %d: after open: %w", cycle, err)
		}
		ops, cut := 0, 1+rng.IntN(400)
		fsys.SetFault(func(op, name string) error {
			if ops++; ops >= cut {
				return errPowerCut
			}
			return nil
		})
		var pending *model
		for pending == nil {
			next, err := step(rng, w, &m, &term)
			switch {
			case err == nil:
				m = next
			case errors.Is(err, errPowerCut):
				pending = &next
			default:
				return fmt.Errorf("cycle %d: op: %w", cycle, err)
			}
		}
		fsys.SetFault(nil)
		fsys.Crash()
		w, st, err = Open(opts)
		if err != nil {
			return fmt.Errorf("cycle %d: open after crash at op %d: %w", cycle, cut, err)
		}
		if sameState(st, m) != nil {
			if err := sameState(st, *pending); err != nil {
				return fmt.Errorf("cycle %d: crash at op %d: neither acknowledged nor pending state: %w", cycle, cut, err)
			}
			m = *pending
		}
		m.hs.Commit, m.durable = st.HardState.Commit, st.HardState.Commit
		if err := w.Close(); err != nil {
			return err
		}
		if m.hs.Term > term {
			term = m.hs.Term
		}
		if m.snap.Metadata.Term > term {
			term = m.snap.Metadata.Term
		}
	}
	return nil
}

// sameState reports whether recovery returned the model's state: its
// term, vote, snapshot and entries exactly, and a commit index it may have
// lost the unsynced updates of.
func sameState(got *State, m model) error {
	want := m.state()
	g, w := got.HardState, want.HardState
	if g.Term != w.Term || g.Vote != w.Vote || g.Commit > w.Commit || g.Commit < m.durable {
		return fmt.Errorf("hard state %+v, want %+v with commit at least %d", g, w, m.durable)
	}
	if got.Snapshot.Metadata.Index != want.Snapshot.Metadata.Index ||
		got.Snapshot.Metadata.Term != want.Snapshot.Metadata.Term ||
		string(got.Snapshot.Data) != string(want.Snapshot.Data) {
		return fmt.Errorf("snapshot %+v, want %+v", got.Snapshot.Metadata, want.Snapshot.Metadata)
	}
	if len(got.Entries) != len(want.Entries) {
		return fmt.Errorf("entries %v, want %v", indexes(got.Entries), indexes(want.Entries))
	}
	for i := range got.Entries {
		g, w := got.Entries[i], want.Entries[i]
		if g.Index != w.Index || g.Term != w.Term || g.Type != w.Type || string(g.Data) != string(w.Data) {
			return fmt.Errorf("entry %d: %d/%d, want %d/%d", i, g.Index, g.Term, w.Index, w.Term)
		}
	}
	return nil
}
