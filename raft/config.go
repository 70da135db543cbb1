package raft

import (
	"errors"
	"fmt"
	"log/slog"

	pb "github.com/puddlestore/puddlestore/raft/raftpb"
)

// None is the id of no node: no leader known, no vote cast.
const None uint64 = 0

// ReadOnlyOption chooses how ReadIndex requests are confirmed.
type ReadOnlyOption uint8

const (
	// ReadOnlySafe confirms leadership with a round of heartbeats to a
	// quorum (Raft thesis §6.4). Linearizable under any clock behaviour.
	ReadOnlySafe ReadOnlyOption = iota
	// ReadOnlyLeaseBased answers from the leader's lease (thesis §6.4.1):
	// no round trip, but correct only if clocks drift less than the
	// election timeout allows. Requires CheckQuorum.
	ReadOnlyLeaseBased
)

// Config configures a Node. Times are in ticks; the driver decides how long a
// tick is.
type Config struct {
	// ID of this node; not None.
	ID uint64

	// State recovered from durable storage (wal.Open). Zero for a new node.
	HardState pb.HardState
	Snapshot  pb.Snapshot
	Entries   []pb.Entry
	// Applied is the last index the state machine has already applied
	// (e.g. restored from the snapshot). Defaults to the snapshot's index.
	Applied uint64

	// Peers and Learners bootstrap a brand-new cluster: when the node has
	// no state, the log starts with one configuration entry per member,
	// committed at term 1. A node that joins an existing cluster leaves
	// both empty and waits to hear from the leader. Ignored on restart.
	Peers    []uint64
	Learners []uint64

	// ElectionTick is the election timeout; followers wait a random time in
	// [ElectionTick, 2*ElectionTick) before campaigning. Default 10.
	ElectionTick int
	// HeartbeatTick is the leader's heartbeat interval. Default 1.
	HeartbeatTick int

	// MaxSizePerMsg caps the entry bytes in one append. Default 1 MiB.
	MaxSizePerMsg uint64
	// MaxInflightMsgs caps appends in flight to one follower. Default 256.
	MaxInflightMsgs int
	// MaxInflightBytes caps entry bytes in flight to one follower; 0 means
	// no byte limit. Default 32 MiB.
	MaxInflightBytes uint64
	// MaxCommittedSizePerReady caps the entry bytes handed out for applying
	// in one Ready. Default 16 MiB.
	MaxCommittedSizePerReady uint64
	// SnapshotChunkSize is the size of one snapshot chunk. Default 1 MiB.
	SnapshotChunkSize uint64

	// DisablePreVote turns off the pre-vote phase (thesis §9.6). On by
	// default: a partitioned node rejoining does not disturb the leader.
	DisablePreVote bool
	// DisableCheckQuorum turns off check-quorum (thesis §6.2): by default a
	// leader steps down when it has not heard from a quorum for an election
	// timeout, and followers ignore votes while they hear from a leader.
	DisableCheckQuorum bool
	// ReadOnlyOption: ReadOnlySafe (default) or ReadOnlyLeaseBased.
	ReadOnlyOption ReadOnlyOption
	// ForwardProposals lets followers forward proposals to the leader. Off
	// by default: a follower answers NotLeaderError with a leader hint, so
	// the client can send to the leader and learn its command's index.
	ForwardProposals bool

	// Seed seeds the election-timeout randomness. Same seed, same inputs:
	// same run.
	Seed int64

	// Logger gets short, stable event sentences; nil discards.
	Logger *slog.Logger
}

var errConfig = errors.New("raft: invalid config")

func (c *Config) validate() error {
	if c.ID == None {
		return fmt.Errorf("%w: ID must not be zero", errConfig)
	}
	if c.ElectionTick == 0 {
		c.ElectionTick = 10
	}
	if c.HeartbeatTick == 0 {
		c.HeartbeatTick = 1
	}
	if c.HeartbeatTick < 0 || c.ElectionTick <= c.HeartbeatTick {
		return fmt.Errorf("%w: ElectionTick %d must exceed HeartbeatTick %d", errConfig, c.ElectionTick, c.HeartbeatTick)
	}
	if c.MaxSizePerMsg == 0 {
		c.MaxSizePerMsg = 1 << 20
	}
	if c.MaxInflightMsgs == 0 {
		c.MaxInflightMsgs = 256
	}
	if c.MaxInflightMsgs < 0 {
		return fmt.Errorf("%w: MaxInflightMsgs %d", errConfig, c.MaxInflightMsgs)
	}
	if c.MaxInflightBytes == 0 {
		c.MaxInflightBytes = 32 << 20
	}
	if c.MaxCommittedSizePerReady == 0 {
		c.MaxCommittedSizePerReady = 16 << 20
	}
	if c.SnapshotChunkSize == 0 {
		c.SnapshotChunkSize = 1 << 20
	}
	if c.ReadOnlyOption == ReadOnlyLeaseBased && c.DisableCheckQuorum {
		return fmt.Errorf("%w: lease-based reads need check-quorum", errConfig)
	}
	if c.ReadOnlyOption > ReadOnlyLeaseBased {
		return fmt.Errorf("%w: ReadOnlyOption %d", errConfig, c.ReadOnlyOption)
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	return nil
}
