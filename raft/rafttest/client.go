package rafttest

import (
	"errors"
	"fmt"

	"github.com/puddlestore/puddlestore/raft"
	pb "github.com/puddlestore/puddlestore/raft/raftpb"
)

// Event is one completed client operation, for the linearizability check:
// Call and Return are logical event times (a counter shared by all clients,
// so real-time order between operations is exact).
type Event struct {
	Client int
	Op     Op
	Value  string // what a Get returned
	Call   int64
	Return int64
}

// Clerk is a simulated client, as in MIT 6.824 lab 3: one operation at a
// time, sent to the server it believes leads; on NotLeader, a timeout or a
// lost proposal it retries, elsewhere if need be, with the same client id
// and sequence number, so a Put or Append takes effect exactly once.
type Clerk struct {
	ID      uint64
	c       *Cluster
	seq     uint64
	leader  uint64
	cur     *clerkCall
	done    int
	attempt int
	// ReadIndexGets: serve Gets with ReadIndex instead of through the log,
	// with this probability.
	ReadIndexGets float64
	// Timeout in ticks before an attempt is given up. Default 4 election
	// timeouts.
	Timeout int
}

// clerkCall is the clerk's current operation and its current attempt.
type clerkCall struct {
	op       Op
	call     int64
	sent     bool // an attempt is in flight
	server   uint64
	index    uint64
	term     uint64
	deadline int
	byRead   bool
	clerk    *Clerk
}

type waitKey struct{ server, index uint64 }

// attempt is one proposal of a call, waiting for its index to be applied
// on the server that took it: it succeeded if the entry there has its
// term.
type attempt struct {
	call *clerkCall
	term uint64
}

// readWait is a ReadIndex request waiting for its read state, then for the
// server to apply up to its index.
type readWait struct {
	ctx   string
	call  *clerkCall
	res   *Read // for a test's own request (call == nil)
	ready bool
	index uint64
}

// NewClerk adds a client to the cluster.
func (c *Cluster) NewClerk() *Clerk {
	k := &Clerk{ID: uint64(len(c.clerks) + 1), c: c, Timeout: 4 * c.cfg.ElectionTick}
	c.clerks = append(c.clerks, k)
	return k
}

// Busy reports whether the clerk has an operation outstanding.
func (k *Clerk) Busy() bool { return k.cur != nil }

// Done returns how many operations the clerk completed.
func (k *Clerk) Done() int { return k.done }

// Invoke starts an operation; the clerk must not be busy. The cluster's
// ticks carry it out; its result lands in History.
func (k *Clerk) Invoke(kind OpKind, key, value string) {
	if k.cur != nil {
		k.c.Fatalf("clerk %d: invoke while busy", k.ID)
	}
	k.seq++
	c := k.c
	c.clock++
	k.cur = &clerkCall{op: Op{Kind: kind, Key: key, Value: value, Client: k.ID, Seq: k.seq}, call: c.clock, clerk: k}
	fmt.Fprintf(c.trace, "call %v@%d;", k.cur.op, c.clock)
	k.try()
}

// History returns every completed client operation so far.
func (c *Cluster) History() []Event { return c.history }

// Clerks returns the clients.
func (c *Cluster) Clerks() []*Clerk { return c.clerks }

func (c *Cluster) stepClerks() {
	for _, k := range c.clerks {
		if k.cur == nil {
			continue
		}
		if k.cur.sent && c.ticks < k.cur.deadline {
			continue
		}
		k.cur.sent = false
		k.try()
	}
}

// try sends the current operation to the server the clerk believes leads;
// when that server refuses, the next tick tries another.
func (k *Clerk) try() {
	c, call := k.c, k.cur
	s := c.srv[k.leader]
	if s == nil || !s.up || !s.connected {
		// Pick a server at random; the network decides if it can help.
		s = c.srv[c.ids[c.rng.IntN(len(c.ids))]]
		k.leader = s.ID
		if !s.up || !s.connected {
			return
		}
	}
	k.attempt++
	call.server = s.ID
	call.byRead = call.op.Kind == OpGet && c.rng.Float64() < k.ReadIndexGets
	var err error
	if call.byRead {
		ctx := fmt.Sprintf("c%d.%d", k.ID, k.attempt)
		if err = s.Node.ReadIndex([]byte(ctx)); err == nil {
			s.reads = append(s.reads, &readWait{ctx: ctx, call: call})
		}
	} else {
		var index, term uint64
		index, term, err = s.Node.Propose(call.op.Marshal())
		if err == nil && index == 0 {
			err = raft.ErrProposalDropped // forwarded: we cannot track it
		}
		if err == nil {
			c.logf("%v proposed at %d: index %d term %d", call.op, s.ID, index, term)
			call.index, call.term = index, term
			key := waitKey{s.ID, index}
			c.waits[key] = append(c.waits[key], attempt{call, term})
		}
	}
	if err != nil {
		var nl *raft.NotLeaderError
		if errors.As(err, &nl) && nl.Leader != raft.None && nl.Leader != s.ID {
			k.leader = nl.Leader
		} else {
			k.leader = 0
		}
		return
	}
	call.sent = true
	call.deadline = c.ticks + k.Timeout
	c.process(s)
}

// applied tells waiting clerks that server s applied entry e (op, value).
func (c *Cluster) applied(s *Server, e pb.Entry, op Op, value string) {
	key := waitKey{s.ID, e.Index}
	calls := c.waits[key]
	if len(calls) == 0 {
		return
	}
	delete(c.waits, key)
	for _, a := range calls {
		call := a.call
		k := call.clerk
		if k.cur != call {
			continue // finished through another attempt
		}
		if e.Term != a.term {
			// Another leader's entry replaced our proposal: retry, unless
			// a later attempt is in flight.
			if call.server == s.ID && call.index == e.Index {
				call.sent = false
			}
			continue
		}
		if op.Client != call.op.Client || op.Seq != call.op.Seq {
			c.Fatalf("server %d applied %v at %d term %d where %v was proposed", s.ID, op, e.Index, e.Term, call.op)
		}
		k.finish(value)
	}
}

// serveReads answers ReadIndex requests whose read state arrived and whose
// index s has applied.
func (c *Cluster) serveReads(s *Server) {
	keep := s.reads[:0]
	var done []*readWait
	for _, w := range s.reads {
		if w.ready && s.applied >= w.index {
			done = append(done, w)
		} else {
			keep = append(keep, w)
		}
	}
	s.reads = keep
	for _, w := range done {
		if w.call == nil { // a test's own request
			w.res.Done, w.res.Index, w.res.Value = true, w.index, s.KV.Get(w.res.Key)
			continue
		}
		if k := w.call.clerk; k.cur == w.call {
			k.finish(s.KV.Get(w.call.op.Key))
		}
	}
}

func (k *Clerk) finish(value string) {
	c, call := k.c, k.cur
	if call.op.Kind != OpGet {
		value = ""
	}
	c.clock++
	c.history = append(c.history, Event{Client: int(k.ID), Op: call.op, Value: value, Call: call.call, Return: c.clock})
	fmt.Fprintf(c.trace, "ret %v=%q@%d;", call.op, value, c.clock)
	k.cur = nil
	k.done++
}

// Read is the outcome of a test's ReadIndex request: once Done, the value
// of Key that server read at Index.
type Read struct {
	Key   string
	Done  bool
	Index uint64
	Value string
}

// ReadIndex reads key at server id through ReadIndex under ctx, outside
// any clerk. The result fills in as the cluster runs.
func (c *Cluster) ReadIndex(id uint64, ctx, key string) (*Read, error) {
	s := c.srv[id]
	if !s.up {
		return nil, raft.ErrProposalDropped
	}
	if err := s.Node.ReadIndex([]byte(ctx)); err != nil {
		return nil, err
	}
	r := &Read{Key: key}
	s.reads = append(s.reads, &readWait{ctx: ctx, res: r})
	c.process(s)
	return r, nil
}
