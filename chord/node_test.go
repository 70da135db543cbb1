package chord

import (
	"errors"
	"testing"

	"github.com/puddlestore/puddlestore/id"
)

func TestConfigDefaults(t *testing.T) {
	n, err := New(Config{ID: id.Hash([]byte("n")), Addr: "n"})
	if err != nil {
		t.Fatal(err)
	}
	c := n.Config()
	if c.Successors != 8 || c.StabilizeTicks != 5 || c.FixFingerTicks != 1 || c.CheckPredTicks != 10 ||
		c.FailureTicks != 30 || c.RequestTicks != 20 {
		t.Errorf("defaults: %+v", c)
	}
	for name, c := range map[string]Config{
		"zero id":        {Addr: "n"},
		"no address":     {ID: id.Hash([]byte("n"))},
		"too many succs": {ID: id.Hash([]byte("n")), Addr: "n", Successors: MaxSuccessors + 1},
		"failure ticks":  {ID: id.Hash([]byte("n")), Addr: "n", FailureTicks: -1},
	} {
		if _, err := New(c); err == nil {
			t.Errorf("%s: New accepted %+v", name, c)
		}
	}
}

// A node refuses malformed messages, messages for another id and requests
// it cannot serve, and changes nothing.
func TestStepRefuses(t *testing.T) {
	n, err := New(Config{ID: id.Hash([]byte("n")), Addr: "n"})
	if err != nil {
		t.Fatal(err)
	}
	a := Entry{ID: id.Hash([]byte("a")), Addr: "a"}
	if err := n.Step(Message{Type: MsgFindSuccessor, From: a, Origin: a, Key: a.ID}); !errors.Is(err, ErrNotJoined) {
		t.Errorf("lookup before joining: %v", err)
	}
	if err := n.Bootstrap(); err != nil {
		t.Fatal(err)
	}
	if err := n.Bootstrap(); err == nil {
		t.Error("second Bootstrap accepted")
	}
	if err := n.Step(Message{Type: MsgPing, From: a, To: Entry{ID: id.Hash([]byte("other")), Addr: "n"}}); !errors.Is(err, ErrWrongNode) {
		t.Errorf("wrong id: %v", err)
	}
	if err := n.Step(Message{Type: MsgFindSuccessor, From: a, To: n.Self()}); !errors.Is(err, ErrMalformed) {
		t.Errorf("lookup without origin: %v", err)
	}
	if n.HasReady() || len(n.Successors()) != 0 {
		t.Errorf("a refused message had effects: %+v", n.Status())
	}
	// A ring of one answers everything, including from a stranger.
	if err := n.Step(Message{Type: MsgFindSuccessor, From: a, To: n.Self(), Origin: a, Key: a.ID, Path: []Entry{a}}); err != nil {
		t.Fatal(err)
	}
	rd := n.Ready()
	if len(rd.Messages) != 1 || rd.Messages[0].Type != MsgFoundSuccessor || rd.Messages[0].To != a ||
		rd.Messages[0].Succs[0] != n.Self() {
		t.Errorf("answer: %+v", rd.Messages)
	}
	n.Leave()
	if err := n.Step(Message{Type: MsgPing, From: a}); !errors.Is(err, ErrLeft) {
		t.Errorf("after leaving: %v", err)
	}
	n.Lookup(1, a.ID)
	if rd := n.Ready(); len(rd.Results) != 1 || !errors.Is(rd.Results[0].Err, ErrLeft) {
		t.Errorf("lookup after leaving: %+v", rd.Results)
	}
}

// A join with no answer fails after three tries, RequestTicks apart.
func TestJoinTimeout(t *testing.T) {
	n, err := New(Config{ID: id.Hash([]byte("n")), Addr: "n", RequestTicks: 3})
	if err != nil {
		t.Fatal(err)
	}
	n.Join(7, Entry{Addr: "gw"})
	sent := 0
	var results []Result
	for range 20 {
		rd := n.Ready()
		sent += len(rd.Messages)
		results = append(results, rd.Results...)
		n.Tick()
	}
	if sent != 3 || len(results) != 1 || results[0].Req != 7 || !errors.Is(results[0].Err, ErrTimeout) {
		t.Errorf("sent %d, results %+v", sent, results)
	}
	if n.Joined() {
		t.Error("joined without an answer")
	}
}
