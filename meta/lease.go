package meta

import (
	"fmt"
	"slices"
)

// Lease is a lock on a path with an expiry and a fencing token, for writers
// that want exclusivity. Tokens increase across the whole state machine, so
// a later holder always has a larger token than an earlier one; a writer
// whose lease lapsed and was taken finds its commits refused (Locked)
// instead of silently interleaving with the new holder's.
//
// What a live lease on P guards (a lease is live while the command time is
// before Expires; there is no other clock):
//   - Commit and RestoreVersion on P need its token; a command carrying a
//     token that is not that of a live lease on P is refused too (the
//     writer believes it holds a lease it no longer has);
//   - Remove and Rename of P, or of a directory above P, and Rename onto
//     P, need the token (one token: a command can prove one lease).
//
// Other writes inside a locked directory are not guarded: a lease guards
// its path and, against removal, what is under it. P need not exist, so a
// writer can lock a name before creating it. Leases name paths, not
// files: a rename leaves the lease where it was.
type Lease struct {
	Path    string
	Owner   string
	Token   uint64
	Expires int64 // unix nanoseconds, command time
}

// live reports whether l holds at time t.
func (l Lease) live(t int64) bool { return t < l.Expires }

// lockLocked grants or renews the lease on a path.
func (s *State) lockLocked(c Command, t int64) (Lease, error) {
	p, err := CleanPath(c.Path)
	if err != nil {
		return Lease{}, err
	}
	if c.Owner == "" {
		return Lease{}, errf(KindInvalid, p, "a lease needs an owner")
	}
	if err := checkPrincipal(p, c.Owner); err != nil {
		return Lease{}, err
	}
	if c.TTL <= 0 || int64(c.TTL) >= Latest-t {
		return Lease{}, errf(KindInvalid, p, "lease duration %v out of range", c.TTL)
	}
	exp := t + int64(c.TTL)
	if l, ok := s.mu.leases[p]; ok && l.live(t) {
		if l.Owner != c.Owner {
			return Lease{}, errf(KindLocked, p, "held by %s until %d", l.Owner, l.Expires)
		}
		l.Expires = exp // a renewal keeps its token: the holder has not changed
		s.mu.leases[p] = l
		return l, nil
	}
	// Expired leases are dropped here, where the table grows, so it
	// holds about as many leases as are live.
	for q, l := range s.mu.leases {
		if !l.live(t) {
			delete(s.mu.leases, q)
		}
	}
	l := Lease{Path: p, Owner: s.internLocked(c.Owner), Token: s.mu.nextToken, Expires: exp}
	s.mu.nextToken++
	s.mu.leases[p] = l
	return l, nil
}

func (s *State) unlockLocked(c Command, t int64) error {
	p, err := CleanPath(c.Path)
	if err != nil {
		return err
	}
	l, ok := s.mu.leases[p]
	if !ok {
		return errf(KindNotExist, p, "no lease")
	}
	if l.Token != c.Token || l.Owner != c.Owner {
		return errf(KindLocked, p, "lease %d is not %s's lease %d", l.Token, c.Owner, c.Token)
	}
	delete(s.mu.leases, p)
	return nil
}

// checkLeaseLocked applies the commit rule for path p at time t.
func (s *State) checkLeaseLocked(p string, token uint64, t int64) error {
	l, ok := s.mu.leases[p]
	if ok && l.live(t) {
		if token != l.Token {
			return errf(KindLocked, p, "held by %s until %d", l.Owner, l.Expires)
		}
		return nil
	}
	if token != 0 {
		return errf(KindLocked, p, "lease %d expired or released", token)
	}
	return nil
}

// checkTreeLeasesLocked applies the namespace rule to the trees at roots
// (a rename's source and target): every live lease on a root or under it
// must carry token, and a token must be some such lease's. When several
// leases refuse, the error names the least path, so that every replica
// returns (and caches) the same error.
func (s *State) checkTreeLeasesLocked(token uint64, t int64, roots ...string) error {
	var refused *Lease
	matched := false
	for q, l := range s.mu.leases {
		if !l.live(t) || !slices.ContainsFunc(roots, func(r string) bool { return under(q, r) }) {
			continue
		}
		if l.Token == token {
			matched = true
		} else if refused == nil || q < refused.Path {
			refused = &l
		}
	}
	if refused != nil {
		return errf(KindLocked, roots[0], "%s held by %s until %d", refused.Path, refused.Owner, refused.Expires)
	}
	if token != 0 && !matched {
		return errf(KindLocked, roots[0], "lease %d expired or released", token)
	}
	return nil
}

// Lease returns the lease on path if one is live as of the last command's
// time. A reader holding a lease should still renew well before Expires:
// the state machine's time only moves when commands are applied.
func (s *State) Lease(path string) (Lease, bool) {
	p, err := CleanPath(path)
	if err != nil {
		return Lease{}, false
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	l, ok := s.mu.leases[p]
	if !ok || !l.live(s.mu.now) {
		return Lease{}, false
	}
	return l, true
}

// String formats a lease for logs and tests.
func (l Lease) String() string {
	return fmt.Sprintf("%s owner=%s token=%d expires=%d", l.Path, l.Owner, l.Token, l.Expires)
}
