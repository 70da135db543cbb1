package meta

import (
	"fmt"
	"math"
	"sync"
)

// Latest, as the time of a read, reads the state as of the last applied
// command: every event has a time before it.
const Latest int64 = math.MaxInt64

// DefaultMaxSessions bounds the session table when Config leaves it zero.
const DefaultMaxSessions = 100_000

// Config configures a State. Every replica of a group must use the same
// Config: it shapes the replicated state.
type Config struct {
	// MaxSessions bounds the session table; the least recently active
	// client is forgotten first (session.go). 0 means DefaultMaxSessions.
	MaxSessions int
}

// State is the metadata state machine: the namespace with every version of
// every file, leases, client sessions and the cluster's membership. Its
// Apply, Snapshot and Restore implement the Raft driver's StateMachine
// (package node); Apply, Snapshot and Restore must be called by one
// goroutine at a time, in log order. The read methods (read.go) are safe to
// call concurrently with them and with each other.
type State struct {
	cfg Config
	mu  struct {
		// RWMutex guards everything below: Apply and Restore write,
		// reads and Snapshot share.
		sync.RWMutex
		root      *inode
		inodes    []*inode // by id-1: every inode ever created
		applied   uint64   // log index of the last applied command
		now       int64    // effective time of the last executed command
		nextToken uint64   // next lease fencing token; tokens start at 1
		leases    map[string]Lease
		sessions  *sessions
		nodes     map[uint64]Node
		// strs interns owner and writer names, which repeat across
		// many versions; a name costs its bytes once.
		strs map[string]string
	}
}

// New returns a State holding only the root directory ("/", mode 0o755,
// no owner, created at time 0).
func New(cfg Config) (*State, error) {
	if cfg.MaxSessions < 0 {
		return nil, fmt.Errorf("meta: Config.MaxSessions %d < 0", cfg.MaxSessions)
	}
	if cfg.MaxSessions == 0 {
		cfg.MaxSessions = DefaultMaxSessions
	}
	s := &State{cfg: cfg}
	s.resetLocked()
	s.mu.root = s.newDirLocked("", 0o755, 0)
	return s, nil
}

// resetLocked empties every table.
func (s *State) resetLocked() {
	s.mu.root, s.mu.inodes = nil, nil
	s.mu.applied, s.mu.now, s.mu.nextToken = 0, 0, 1
	s.mu.leases = map[string]Lease{}
	s.mu.sessions = newSessions(s.cfg.MaxSessions)
	s.mu.nodes = map[uint64]Node{}
	s.mu.strs = map[string]string{}
}

// Apply applies the command encoded in data, committed at log index, and
// returns its Result or its error, an *Error. It never fails otherwise:
// a malformed command is a KindInvalid error that changes nothing but the
// applied index. Apply implements node.StateMachine.
func (s *State) Apply(index uint64, data []byte) (any, error) {
	c, derr := DecodeCommand(data)
	s.mu.Lock()
	defer s.mu.Unlock()
	s.mu.applied = index
	if derr != nil {
		return nil, derr
	}
	res, err := s.applyLocked(index, c)
	if err != nil {
		return nil, err
	}
	return res, nil
}

// applyLocked runs a decoded command through the session table.
func (s *State) applyLocked(index uint64, c Command) (Result, error) {
	if c.Client == 0 {
		return s.executeLocked(index, c)
	}
	if c.Seq == 0 {
		return Result{}, &Error{Op: c.Op.String(), Kind: KindInvalid, Msg: "a session command needs a sequence number"}
	}
	if se := s.mu.sessions.get(c.Client); se != nil && c.Seq <= se.seq {
		s.mu.sessions.touch(se, index)
		if c.Seq < se.seq {
			return Result{}, &Error{Op: c.Op.String(), Kind: KindInvalid,
				Msg: fmt.Sprintf("stale request %d from client %d (last %d)", c.Seq, c.Client, se.seq)}
		}
		return se.result() // a retry: the first answer, not applied again
	}
	res, err := s.executeLocked(index, c)
	e, _ := err.(*Error)
	s.mu.sessions.put(c.Client, c.Seq, index, res, e)
	return res, err
}

// executeLocked advances the clock and performs the command.
//
// Time: the command's effective time is t = max(c.Time, now+1), where now
// is the effective time of the last executed command, so times increase
// strictly along the log whatever the proposers' clocks say. Every
// executed command advances now, failed ones too (lease expiry is judged
// by it); malformed, stale and retried ones do not. Latest is reserved
// for reads, so a time reaching it is refused.
func (s *State) executeLocked(index uint64, c Command) (Result, error) {
	if s.mu.now >= Latest-1 || c.Time >= Latest {
		return Result{}, &Error{Op: c.Op.String(), Kind: KindInvalid, Msg: "time out of range"}
	}
	t := max(c.Time, s.mu.now+1)
	s.mu.now = t
	res := Result{Index: index, Time: t}
	var err error
	switch c.Op {
	case OpMkdir:
		err = s.mkdirLocked(c, t)
	case OpRemove:
		err = s.removeLocked(c, t)
	case OpRename:
		err = s.renameLocked(c, t)
	case OpCommit, OpCommitInline:
		res.Version, err = s.commitLocked(c, t)
	case OpRestore:
		res.Version, err = s.restoreLocked(c, t)
	case OpLock:
		res.Lease, err = s.lockLocked(c, t)
	case OpUnlock:
		err = s.unlockLocked(c, t)
	case OpSetNode:
		err = s.setNodeLocked(c, t)
	case OpRemoveNode:
		err = s.removeNodeLocked(c)
	default:
		panic(fmt.Sprintf("meta: decoded unknown op %d", c.Op)) // DecodeCommand refuses it
	}
	if err != nil {
		return Result{}, withOp(err, c.Op.String())
	}
	// A result is cached in the session table (and its snapshots): it
	// names the version, the data stays with the file.
	res.Version = res.Version.bare()
	return res, nil
}

// internLocked returns the stored copy of s, storing it if new.
func (s *State) internLocked(str string) string {
	if v, ok := s.mu.strs[str]; ok {
		return v
	}
	s.mu.strs[str] = str
	return str
}

// checkPrincipal validates an owner, writer or lease holder name.
func checkPrincipal(p, name string) error {
	if len(name) > MaxName {
		return errf(KindInvalid, p, "name of owner or writer longer than %d bytes", MaxName)
	}
	return nil
}

// checkMode validates permission bits.
func checkMode(p string, mode uint32) error {
	if mode&^0o777 != 0 {
		return errf(KindInvalid, p, "mode %#o has bits beyond 0o777", mode)
	}
	return nil
}
