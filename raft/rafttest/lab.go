package rafttest

import (
	"bytes"

	"github.com/puddlestore/puddlestore/raft"
)

// Helpers in the manner of the MIT 6.824 Raft lab's config.go, in ticks.

// Leader returns the leader with the highest term among running, connected
// servers, or 0.
func (c *Cluster) Leader() uint64 {
	var lead, term uint64
	for _, id := range c.ids {
		s := c.srv[id]
		if !s.up || !s.connected {
			continue
		}
		if st := s.Node.Status(); st.State == raft.StateLeader && st.Term >= term {
			lead, term = id, st.Term
		}
	}
	return lead
}

// CheckOneLeader waits up to limit ticks for exactly one leader among the
// connected servers of the highest term, and returns it. Two leaders in one
// term fail the test.
func (c *Cluster) CheckOneLeader(limit int) uint64 {
	c.t.Helper()
	for range limit {
		byTerm := map[uint64][]uint64{}
		var last uint64
		for _, id := range c.ids {
			s := c.srv[id]
			if !s.up || !s.connected {
				continue
			}
			if st := s.Node.Status(); st.State == raft.StateLeader {
				byTerm[st.Term] = append(byTerm[st.Term], id)
				last = max(last, st.Term)
			}
		}
		for term, ls := range byTerm {
			if len(ls) > 1 {
				c.Fatalf("term %d has %d leaders: %v", term, len(ls), ls)
			}
		}
		if last > 0 {
			return byTerm[last][0]
		}
		c.Tick()
	}
	c.Fatalf("expected one leader, got none in %d ticks", limit)
	return 0
}

// CheckNoLeader fails if a connected server believes it leads.
func (c *Cluster) CheckNoLeader() {
	c.t.Helper()
	for _, id := range c.ids {
		s := c.srv[id]
		if s.up && s.connected && s.Node.Status().State == raft.StateLeader {
			c.Fatalf("server %d is leader, expected none", id)
		}
	}
}

// CheckTerms returns the term the running, connected servers agree on; it
// fails if they disagree.
func (c *Cluster) CheckTerms() uint64 {
	c.t.Helper()
	var term uint64
	for _, id := range c.ids {
		s := c.srv[id]
		if !s.up || !s.connected {
			continue
		}
		t := s.Node.Status().Term
		if term == 0 {
			term = t
		} else if t != term {
			c.Fatalf("servers disagree on term: %d vs %d", term, t)
		}
	}
	return term
}

// NCommitted returns how many servers applied index and the command there
// (nil for a non-KV entry). Agreement is checked by the cluster as
// entries are applied.
func (c *Cluster) NCommitted(index uint64) (int, []byte) {
	n := 0
	for _, id := range c.ids {
		if c.srv[id].applied >= index {
			n++
		}
	}
	return n, c.check.data[index]
}

// StartCmd proposes cmd on server id as 6.824's Start does, returning the
// index and term it would occupy and whether id believes it leads.
func (c *Cluster) StartCmd(id uint64, cmd string) (index, term uint64, isLeader bool) {
	s := c.srv[id]
	if !s.up {
		return 0, 0, false
	}
	index, term, err := s.Node.Propose(Cmd(cmd))
	if err != nil || index == 0 {
		return 0, 0, false
	}
	c.process(s)
	return index, term, true
}

// Cmd is the log entry of a bare command in the lab tests: an Append of cmd
// to key "log" by the anonymous client (no exactly-once table).
func Cmd(cmd string) []byte { return Op{Kind: OpAppend, Key: "log", Value: cmd + ";"}.Marshal() }

// One does a complete agreement, as 6.824's one(): it proposes cmd on a
// leader, retrying on others for up to about 30 election timeouts, and
// waits for expected servers to apply it. Without retry, the first leader
// that accepts must get it committed. It returns the index.
func (c *Cluster) One(cmd string, expected int, retry bool) uint64 {
	c.t.Helper()
	data := Cmd(cmd)
	deadline := c.ticks + 30*c.cfg.ElectionTick
	starts := 0
	for c.ticks < deadline {
		var index uint64
		for range c.ids {
			id := c.ids[starts%len(c.ids)]
			starts++
			if !c.srv[id].connected {
				continue
			}
			if i, _, ok := c.StartCmd(id, cmd); ok {
				index = i
				break
			}
		}
		if index != 0 {
			// Wait about 10 election timeouts for agreement.
			until := c.ticks + 10*c.cfg.ElectionTick
			for c.ticks < until {
				if n, got := c.NCommitted(index); n >= expected && bytes.Equal(got, data) {
					return index
				}
				c.Tick()
			}
			if !retry {
				n, _ := c.NCommitted(index)
				c.Fatalf("one(%q) failed to reach agreement: %d of %d applied index %d", cmd, n, expected, index)
			}
		} else {
			c.Tick()
		}
	}
	c.Fatalf("one(%q) failed to reach agreement in %d election timeouts", cmd, 30)
	return 0
}
