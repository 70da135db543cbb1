package meta

import (
	"crypto/sha256"
	"testing"
)

// stateMachine is node.StateMachine, restated here because meta may not
// import node: State must keep its method set.
type stateMachine interface {
	Apply(index uint64, data []byte) (any, error)
	Snapshot() ([]byte, error)
	Restore(data []byte) error
}

var _ stateMachine = (*State)(nil)

// harness applies commands to a State at increasing log indices.
type harness struct {
	t     testing.TB
	s     *State
	index uint64
}

func newHarness(t testing.TB, cfg Config) *harness {
	t.Helper()
	s, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return &harness{t: t, s: s}
}

// apply applies c (encoded) at the next index.
func (h *harness) apply(c Command) (Result, error) {
	h.index++
	return resultOf(h.s.Apply(h.index, c.Encode()))
}

// must applies c at time t and fails the test on an error.
func (h *harness) must(t int64, c Command) Result {
	h.t.Helper()
	c.Time = t
	r, err := h.apply(c)
	if err != nil {
		h.t.Fatalf("%s %s: %v", c.Op, c.Path, err)
	}
	return r
}

func resultOf(v any, err error) (Result, error) {
	if err != nil {
		if v != nil {
			panic("Apply returned a result with an error")
		}
		return Result{}, err
	}
	return v.(Result), nil
}

// refOf is a stand-in ref for a named content.
func refOf(name string) Ref { return sha256.Sum256([]byte(name)) }

func snapshot(t testing.TB, s *State) []byte {
	t.Helper()
	b, err := s.Snapshot()
	if err != nil {
		t.Fatal(err)
	}
	return b
}
