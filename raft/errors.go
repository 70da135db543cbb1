package raft

import (
	"errors"
	"fmt"
)

var (
	// ErrProposalDropped: the proposal was not appended (no leader known,
	// a leadership transfer in progress, or this node was removed). The
	// caller may retry, elsewhere or later.
	ErrProposalDropped = errors.New("raft: proposal dropped")
	// ErrConfChangePending: a configuration change is still being applied;
	// one change at a time.
	ErrConfChangePending = errors.New("raft: configuration change pending")
	// ErrLearnerNotCaughtUp: a learner is promoted to voter only once its
	// log is close to the leader's.
	ErrLearnerNotCaughtUp = errors.New("raft: learner has not caught up")
	// ErrMalformed: a message or entry that no correct peer sends.
	ErrMalformed = errors.New("raft: malformed message")
	// ErrCompacted: the requested index is covered by a snapshot.
	ErrCompacted = errors.New("raft: index compacted")
	// ErrStepLocal: a local message type arrived from the wire.
	ErrStepLocal = errors.New("raft: local message from a peer")
)

// NotLeaderError is returned for requests only a leader can serve. Leader
// is the hint: the current leader if this node knows it, else None.
type NotLeaderError struct {
	Leader uint64
}

func (e *NotLeaderError) Error() string {
	if e.Leader == None {
		return "raft: not leader (leader unknown)"
	}
	return fmt.Sprintf("raft: not leader (leader is %x)", e.Leader)
}

// Is makes errors.Is(err, ErrNotLeader) hold for every NotLeaderError.
func (e *NotLeaderError) Is(target error) bool { return target == ErrNotLeader }

// ErrNotLeader matches any *NotLeaderError with errors.Is; use errors.As to
// read the hint.
var ErrNotLeader = errors.New("raft: not leader")
