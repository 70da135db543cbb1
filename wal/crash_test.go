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
}

func (m *model) lastIndex() uint64 { return m.snap.Metadata.Index + uint64(len(m.ents)) }

func (m *model) term(i uint64) uint64 {
	if i == m.snap.Metadata.Index {
		return m.snap.Metadata.Term
	}
	return m.ents[i-m.snap.Metadata.Index-1].Term
}

func (m model) save(hs raftpb.HardState, es []raftpb.Entry) model {
	if !hs.IsEmpty() {
		m.hs = hs
	}
	if len(es) > 0 {
		keep := es[0].Index - m.snap.Metadata.Index - 1
		m.ents = append(slices.Clone(m.ents[:keep]), es...)
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
		if rng.IntN(2) == 0 {
			hs = raftpb.HardState{Term: *term, Vote: rng.Uint64N(3), Commit: rng.Uint64N(first + 1)}
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
		if err := sameState(st, m.state()); err != nil {
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
		if sameState(st, m.state()) != nil {
			if err := sameState(st, pending.state()); err != nil {
				return fmt.Errorf("cycle %d: crash at op %d: neither acknowledged nor pending state: %w", cycle, cut, err)
			}
			m = *pending
		}
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

func sameState(got *State, want State) error {
	if got.HardState != want.HardState {
		return fmt.Errorf("hard state %+v, want %+v", got.HardState, want.HardState)
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
