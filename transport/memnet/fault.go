package memnet

import "github.com/puddlestore/puddlestore/transport"

// Faults set by calls rather than by the seed. Reachability is checked both
// when a message is sent and when it is due, so a partition also catches
// messages already in flight.

// Partition splits the network into groups: two addresses can talk only if
// they are in the same group. Addresses named in no group form one more group
// together. It replaces any earlier partition; blocked links stay blocked.
func (n *Network) Partition(groups ...[]transport.Addr) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.mu.group = make(map[transport.Addr]int)
	for i, g := range groups {
		for _, a := range g {
			n.mu.group[a] = i + 1
		}
	}
}

// Heal removes the partition and unblocks every link. Crashed addresses stay
// crashed until Restart.
func (n *Network) Heal() {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.mu.group = nil
	clear(n.mu.blocked)
}

// Block drops every message from one address to another (one way; block both
// directions for a symmetric cut).
func (n *Network) Block(from, to transport.Addr) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.mu.blocked[link{from, to}] = true
}

// Unblock undoes Block(from, to).
func (n *Network) Unblock(from, to transport.Addr) {
	n.mu.Lock()
	defer n.mu.Unlock()
	delete(n.mu.blocked, link{from, to})
}

// Crash takes addr off the network: everything in flight to or from it is
// lost, even if it restarts before the message is due, and nothing reaches or
// leaves it until Restart. Its endpoint stays attached (the node's process is
// frozen, not gone); Close and re-attach it to model lost state.
func (n *Network) Crash(addr transport.Addr) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.mu.incarn[addr]++
	n.mu.crashed[addr] = true
}

// Restart puts a crashed addr back on the network.
func (n *Network) Restart(addr transport.Addr) {
	n.mu.Lock()
	defer n.mu.Unlock()
	delete(n.mu.crashed, addr)
}

// Crashed reports whether addr is crashed.
func (n *Network) Crashed(addr transport.Addr) bool {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.mu.crashed[addr]
}

func (n *Network) reachableLocked(from, to transport.Addr) bool {
	if n.mu.crashed[from] || n.mu.crashed[to] || n.mu.blocked[link{from, to}] {
		return false
	}
	if n.mu.group != nil && n.mu.group[from] != n.mu.group[to] {
		return false
	}
	return true
}
