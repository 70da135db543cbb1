// Package raftpb holds the data types of the Raft protocol (messages, log
// entries, hard state, snapshots, configuration) and their compact binary
// encoding. It is shared by the raft core, the wal and the transports; it has
// no behaviour of its own beyond encoding and validation.
package raftpb

// EntryType says how the data of a log entry is to be read.
type EntryType uint8

const (
	// EntryNormal carries an application command (may be empty: a new
	// leader's no-op).
	EntryNormal EntryType = iota
	// EntryConfChange carries an encoded ConfChange.
	EntryConfChange
)

// Entry is one record of the replicated log.
type Entry struct {
	Term  uint64
	Index uint64
	Type  EntryType
	Data  []byte
}

// HardState is the state a node must persist before it sends any message
// that depends on it (Raft §5.1, Figure 2: currentTerm, votedFor), plus the
// commit index, which may be persisted lazily.
type HardState struct {
	Term   uint64
	Vote   uint64
	Commit uint64
}

// IsEmpty reports whether hs is the zero HardState.
func (hs HardState) IsEmpty() bool { return hs == HardState{} }

// ConfState is the membership of the cluster: voters and learners (non-voting
// members that receive the log but are not counted in quorums).
type ConfState struct {
	Voters   []uint64
	Learners []uint64
}

// SnapshotMetadata identifies a snapshot: the last entry it covers and the
// membership as of that entry.
type SnapshotMetadata struct {
	Index     uint64
	Term      uint64
	ConfState ConfState
}

// Snapshot is a state machine image covering every entry up to
// Metadata.Index.
type Snapshot struct {
	Metadata SnapshotMetadata
	Data     []byte
}

// IsEmpty reports whether s holds no snapshot.
func (s Snapshot) IsEmpty() bool { return s.Metadata.Index == 0 }

// ConfChangeType is the kind of a membership change. PuddleStore changes
// membership one server at a time (Raft thesis §4.1).
type ConfChangeType uint8

const (
	// ConfAddVoter adds a voter, or promotes a learner to voter.
	ConfAddVoter ConfChangeType = iota
	// ConfAddLearner adds a non-voting member (or demotes a voter).
	ConfAddLearner
	// ConfRemoveNode removes a voter or a learner.
	ConfRemoveNode
)

// ConfChange is the payload of an EntryConfChange entry.
type ConfChange struct {
	Type    ConfChangeType
	NodeID  uint64
	Context []byte // opaque to raft; the driver stores e.g. the node's address
}

// MessageType is the kind of a Message.
type MessageType uint8

const (
	// Local messages: never sent on the wire, stepped into a node by its
	// driver.
	MsgHup         MessageType = iota // start an election
	MsgBeat                           // leader: send heartbeats
	MsgCheckQuorum                    // leader: check it still hears from a quorum

	// Requests a driver steps into its node; MsgProp and MsgReadIndex may
	// also travel on the wire when a follower forwards them to the leader.
	MsgProp           // propose entries
	MsgReadIndex      // ask for a read index; Context identifies the request
	MsgTransferLeader // ask the leader to hand leadership to From (the transferee)

	// Wire messages.
	MsgApp           // append entries (Raft Figure 2)
	MsgAppResp       // append entries result
	MsgVote          // request vote
	MsgVoteResp      // vote result
	MsgPreVote       // pre-vote (thesis §9.6)
	MsgPreVoteResp   // pre-vote result
	MsgHeartbeat     // leader heartbeat (commit + read-index context)
	MsgHeartbeatResp // heartbeat reply
	MsgSnap          // one chunk of a snapshot (thesis §5.3 InstallSnapshot)
	MsgSnapResp      // snapshot chunk acknowledgement
	MsgTimeoutNow    // leadership transfer: start an election now (thesis §3.10)
	MsgReadIndexResp // leader's answer to a forwarded MsgReadIndex
	MsgPropResp      // leader's refusal of a forwarded proposal (reject)
	maxMessageType
)

// Message is the unit of communication between raft nodes, and between a
// driver and its node for local requests.
type Message struct {
	Type MessageType
	To   uint64
	From uint64
	Term uint64

	// LogTerm and Index: for MsgApp the entry preceding Entries; for votes the
	// candidate's last entry; for MsgAppResp the index acknowledged or, when
	// Reject, the index rejected.
	LogTerm uint64
	Index   uint64
	Entries []Entry
	Commit  uint64

	// Reject and RejectHint: a follower's fast-backtracking hint (the largest
	// index it may match) with its term in LogTerm.
	Reject     bool
	RejectHint uint64

	// Context: the read-index request id of MsgReadIndex / heartbeats, and the
	// "transfer" marker of a forced election.
	Context []byte

	// Snapshot transfer: metadata of the snapshot, the chunk's offset and
	// whether it is the last one. Snapshot.Data holds the chunk only; Total is
	// the full size and Checksum the CRC-32C of the full image.
	Snapshot *Snapshot
	Offset   uint64
	Total    uint64
	Checksum uint32
	Done     bool
}

// IsLocal reports whether t is only ever stepped by a node's own driver and
// must be refused from the wire.
func (t MessageType) IsLocal() bool { return t <= MsgCheckQuorum || t == MsgTransferLeader }

// IsResponse reports whether t answers another message.
func (t MessageType) IsResponse() bool {
	switch t {
	case MsgAppResp, MsgVoteResp, MsgPreVoteResp, MsgHeartbeatResp, MsgSnapResp, MsgReadIndexResp, MsgPropResp:
		return true
	}
	return false
}

var typeNames = [...]string{
	MsgHup: "MsgHup", MsgBeat: "MsgBeat", MsgProp: "MsgProp", MsgReadIndex: "MsgReadIndex",
	MsgTransferLeader: "MsgTransferLeader", MsgCheckQuorum: "MsgCheckQuorum",
	MsgApp: "MsgApp", MsgAppResp: "MsgAppResp", MsgVote: "MsgVote", MsgVoteResp: "MsgVoteResp",
	MsgPreVote: "MsgPreVote", MsgPreVoteResp: "MsgPreVoteResp", MsgHeartbeat: "MsgHeartbeat",
	MsgHeartbeatResp: "MsgHeartbeatResp", MsgSnap: "MsgSnap", MsgSnapResp: "MsgSnapResp",
	MsgTimeoutNow: "MsgTimeoutNow", MsgReadIndexResp: "MsgReadIndexResp", MsgPropResp: "MsgPropResp",
}

func (t MessageType) String() string {
	if int(t) < len(typeNames) && typeNames[t] != "" {
		return typeNames[t]
	}
	return "MsgUnknown"
}

// Valid reports whether t is a known message type.
func (t MessageType) Valid() bool { return t < maxMessageType }
