package meta

import (
	"errors"
	"testing"
)

// TestExactlyOnce: a retried (client, seq) is not applied twice, whether
// the first application succeeded or failed, and across a snapshot.
func TestExactlyOnce(t *testing.T) {
	h := newHarness(t, Config{})
	c := Commit("/f", ExpectAny(), refOf("a"), 1, 0o644, "w", 0)
	c.Client, c.Seq, c.Time = 42, 1, 100
	b := c.Encode()
	first, err := resultOf(h.s.Apply(1, b))
	if err != nil {
		t.Fatal(err)
	}
	// The same bytes committed twice (a proposer's retry after a timeout,
	// both copies in the log), and again after a restore.
	for i, s := range []*State{h.s, restoredCopy(t, h.s)} {
		again, err := resultOf(s.Apply(uint64(2+i), b))
		if err != nil || again != first {
			t.Fatalf("retry %d: %+v, %v; want the first result %+v", i, again, err, first)
		}
		if vs, _ := s.History("/f", Latest); len(vs) != 1 {
			t.Fatalf("retry %d: applied again: %d versions", i, len(vs))
		}
	}
	// A failed command's retry fails the same way, though it would now
	// succeed.
	h.must(0, Commit("/g", ExpectAbsent(), refOf("x"), 1, 0o644, "w", 0))
	fail := Commit("/g", ExpectAbsent(), refOf("b"), 1, 0o644, "w", 0)
	fail.Client, fail.Seq = 42, 2
	_, err1 := h.apply(fail)
	h.must(0, Remove("/g", false))
	_, err2 := h.apply(fail)
	if KindOf(err1) != KindConflict || KindOf(err2) != KindConflict || err1.Error() != err2.Error() {
		t.Fatalf("retried failure: %v, then %v", err1, err2)
	}
	// The cached error is a copy: changing what Apply returned, first
	// or on a retry, changes nothing for the next retry.
	want := err1.Error()
	for _, err := range []error{err1, err2} {
		var e *Error
		errors.As(err, &e)
		e.Kind, e.Msg, e.Current.Number = KindExist, "changed", 99
	}
	_, err3 := h.apply(fail)
	if err3.Error() != want || err3.(*Error).Current.Number != 1 {
		t.Fatalf("cached error changed through a returned copy: %v", err3)
	}
	// Older sequence numbers are stale; the next one executes.
	c.Seq = 1
	if _, err := h.apply(c); KindOf(err) != KindInvalid {
		t.Fatalf("stale seq: %v", err)
	}
	c.Seq = 3
	if r, err := h.apply(c); err != nil || r.Version.Number != 2 {
		t.Fatalf("next seq: %+v, %v", r, err)
	}
}

func restoredCopy(t *testing.T, s *State) *State {
	t.Helper()
	c, err := New(s.cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Restore(snapshot(t, s)); err != nil {
		t.Fatal(err)
	}
	return c
}

// TestSessionEviction: the least recently active client goes first, and
// every replica (and a restored one) evicts the same.
func TestSessionEviction(t *testing.T) {
	h := newHarness(t, Config{MaxSessions: 3})
	send := func(client, seq uint64) {
		c := Mkdir("/x", true, 0o755, "")
		c.Client, c.Seq = client, seq
		if _, err := h.apply(c); err != nil {
			t.Fatal(err)
		}
	}
	send(1, 1)
	send(2, 1)
	send(3, 1)
	send(1, 1) // a retry makes client 1 the most recent
	r := restoredCopy(t, h.s)
	send(4, 1) // evicts 2
	h.s = r
	send(4, 1) // the restored copy evicts 2 as well
	for _, s := range []*State{h.s} {
		var got []uint64
		for _, se := range sessionsOf(s) {
			got = append(got, se.client)
		}
		if len(got) != 3 || got[0] != 3 || got[1] != 1 || got[2] != 4 {
			t.Fatalf("sessions least recent first: %v, want [3 1 4]", got)
		}
	}
	// Restoring into a smaller table evicts the least recent.
	small, _ := New(Config{MaxSessions: 1})
	if err := small.Restore(snapshot(t, h.s)); err != nil {
		t.Fatal(err)
	}
	if ss := sessionsOf(small); len(ss) != 1 || ss[0].client != 4 {
		t.Fatalf("after restore into 1 session: %+v", ss)
	}
}

func sessionsOf(s *State) []session {
	s.mu.RLock()
	defer s.mu.RUnlock()
	var out []session
	s.mu.sessions.each(func(se *session) { out = append(out, *se) })
	return out
}

func TestConfig(t *testing.T) {
	if _, err := New(Config{MaxSessions: -1}); err == nil {
		t.Error("negative MaxSessions accepted")
	}
	s, err := New(Config{})
	if err != nil || s.cfg.MaxSessions != DefaultMaxSessions {
		t.Errorf("default MaxSessions: %v, %v", s.cfg.MaxSessions, err)
	}
}
