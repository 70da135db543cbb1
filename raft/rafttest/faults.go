package rafttest

import "github.com/puddlestore/puddlestore/transport"

// faults are the network faults drawn per message by the cluster, on top
// of memnet's delays.
type faults struct {
	drop, dup float64
	// long: two messages in three wait 4 to 44 extra ticks (6.824's "long
	// reordering"), so stale messages arrive after elections.
	long bool
}

// heldMsg is a message held back for long reordering.
type heldMsg struct {
	at       int
	seq      int
	from, to *Server
	payload  []byte
}

// SetUnreliable turns message loss and duplication on (drop and dup are
// probabilities) or, with zeros, off.
func (c *Cluster) SetUnreliable(drop, dup float64) { c.fault.drop, c.fault.dup = drop, dup }

// SetReliable turns loss, duplication and long reordering off. memnet's
// random delay stays.
func (c *Cluster) SetReliable() { c.fault = faults{} }

// SetLongReordering turns long reordering on or off; messages already held
// are still delivered when due.
func (c *Cluster) SetLongReordering(on bool) { c.fault.long = on }

func (c *Cluster) hold(m heldMsg) {
	m.seq = len(c.held)
	// Insert in (at, arrival) order: the release order is deterministic.
	i := len(c.held)
	for i > 0 && c.held[i-1].at > m.at {
		i--
	}
	c.held = append(c.held, heldMsg{})
	copy(c.held[i+1:], c.held[i:])
	c.held[i] = m
}

// releaseHeld hands the held messages that are due to the network.
func (c *Cluster) releaseHeld() {
	k := 0
	for k < len(c.held) && c.held[k].at <= c.ticks {
		m := c.held[k]
		if m.from.up {
			_ = m.from.ep.Send(m.to.addr, transport.ServiceRaft, m.payload)
		}
		k++
	}
	c.held = c.held[k:]
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}
