package meta

// Sessions make commands exactly-once (the Raft thesis §6.3, as in
// node.KV): a client numbers its commands 1, 2, 3..., one outstanding at a
// time, and the state machine keeps, per client, the last sequence number
// executed and its outcome. A retry of that command (a proposal that
// timed out and was re-sent, possibly both copies committed) gets the
// cached outcome and is not executed again; an older one is refused as
// stale.
//
// The table is bounded: past Config.MaxSessions the least recently active
// client is forgotten. Recency is the log index of the client's last
// command, so every replica forgets the same client. A forgotten client's
// in-flight retry would be executed again, the standard trade-off; with
// 100,000 sessions that takes 100,000 other clients' commands in between.
//
// The sessions form a doubly linked list, most recent first, so that
// touching and evicting are O(1) instead of a scan of the table.
type session struct {
	client, seq uint64
	index       uint64 // log index of the client's last command: recency
	res         Result // outcome of seq, when err is nil
	err         *Error // outcome of seq, when not nil
	prev, next  *session
}

type sessions struct {
	m    map[uint64]*session
	head session // sentinel: head.next is the most recent, head.prev the least
	max  int
}

func newSessions(max int) *sessions {
	ss := &sessions{m: map[uint64]*session{}, max: max}
	ss.head.next, ss.head.prev = &ss.head, &ss.head
	return ss
}

func (ss *sessions) get(client uint64) *session { return ss.m[client] }

func (ss *sessions) len() int { return len(ss.m) }

// touch records activity at index and makes se the most recent.
func (ss *sessions) touch(se *session, index uint64) {
	se.index = index
	if se.prev != nil {
		se.prev.next, se.next.prev = se.next, se.prev
	}
	se.prev, se.next = &ss.head, ss.head.next
	ss.head.next.prev = se
	ss.head.next = se
}

// put records the outcome of a client's new command and evicts the least
// recently active clients beyond the bound.
func (ss *sessions) put(client, seq, index uint64, res Result, err *Error) {
	se := ss.m[client]
	if se == nil {
		se = &session{client: client}
		ss.m[client] = se
	}
	se.seq, se.res, se.err = seq, res, cloneError(err)
	ss.touch(se, index)
	for len(ss.m) > ss.max {
		old := ss.head.prev
		old.prev.next, ss.head.prev = &ss.head, old.prev
		delete(ss.m, old.client)
	}
}

// result returns the cached outcome, copied so that the caller cannot
// change the cache.
func (se *session) result() (Result, error) {
	if se.err != nil {
		return Result{}, cloneError(se.err)
	}
	return se.res, nil
}

// each calls f for every session, least recently active first.
func (ss *sessions) each(f func(*session)) {
	for se := ss.head.prev; se != &ss.head; se = se.prev {
		f(se)
	}
}

func cloneError(e *Error) *Error {
	if e == nil {
		return nil
	}
	c := *e
	if e.Current != nil {
		v := *e.Current
		c.Current = &v
	}
	return &c
}
