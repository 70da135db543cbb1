package meta

import (
	"cmp"
	"slices"
	"strconv"
	"strings"
)

// Roles is the set of jobs a cluster member does. The values are part of
// the encoding: never renumber.
type Roles uint32

// The roles.
const (
	RoleMeta    Roles = 1 << iota // a voter or learner of the metadata Raft group
	RoleBlocks                    // stores blocks
	RoleGateway                   // serves the HTTP gateway
	roleAll     = RoleMeta | RoleBlocks | RoleGateway
)

var roleNames = []string{"meta", "blocks", "gateway"}

// String lists the roles, e.g. "meta|blocks"; "none" for none.
func (r Roles) String() string {
	if r == 0 {
		return "none"
	}
	var parts []string
	for i, name := range roleNames {
		if r&(1<<i) != 0 {
			parts = append(parts, name)
		}
	}
	if extra := r &^ roleAll; extra != 0 {
		parts = append(parts, "0x"+strconv.FormatUint(uint64(extra), 16))
	}
	return strings.Join(parts, "|")
}

// Node is a cluster member as the registry knows it: what a client needs
// to find a node serving a role. The Raft group's own membership is
// Raft's; this registry is what the rest of the system reads.
type Node struct {
	ID      uint64
	Addr    string // transport address, e.g. "10.0.0.7:7000"
	Roles   Roles
	Updated int64 // time of the last SetNode
}

func (s *State) setNodeLocked(c Command, t int64) error {
	switch {
	case c.NodeID == 0:
		return errf(KindInvalid, "", "node id 0")
	case c.Addr == "" || len(c.Addr) > MaxName:
		return errf(KindInvalid, "", "node %d: address empty or longer than %d bytes", c.NodeID, MaxName)
	case c.Roles&^roleAll != 0:
		return errf(KindInvalid, "", "node %d: unknown roles %s", c.NodeID, c.Roles)
	}
	s.mu.nodes[c.NodeID] = Node{ID: c.NodeID, Addr: c.Addr, Roles: c.Roles, Updated: t}
	return nil
}

func (s *State) removeNodeLocked(c Command) error {
	if c.NodeID == 0 {
		return errf(KindInvalid, "", "node id 0")
	}
	if _, ok := s.mu.nodes[c.NodeID]; !ok {
		return errf(KindNotExist, "", "node %d", c.NodeID)
	}
	delete(s.mu.nodes, c.NodeID)
	return nil
}

// Nodes returns the registered members sorted by id.
func (s *State) Nodes() []Node {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return sortedNodes(s.mu.nodes)
}

func sortedNodes(m map[uint64]Node) []Node {
	out := make([]Node, 0, len(m))
	for _, n := range m {
		out = append(out, n)
	}
	slices.SortFunc(out, func(a, b Node) int { return cmp.Compare(a.ID, b.ID) })
	return out
}
