package main

import (
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"slices"
	"time"

	"github.com/puddlestore/puddlestore/chord"
	"github.com/puddlestore/puddlestore/chord/chordtest"
	"github.com/puddlestore/puddlestore/id"
)

// Chord under the churn of churn.go: the same mesh size, simulated time,
// warm-up and exponential sessions (median o.session); a host that crashes
// is replaced by a new one joining through a random live node. Nodes run
// chord's default periods but for fix_fingers (see fingerTicks). Lookups of random keys
// start every lookupEvery from random live nodes; one succeeds when it is
// answered without error (the origin retries once through its successor
// list, then gives up after 2 × 2 s) and is right when it names the key's
// true successor among the live nodes at the time of the answer.
const lookupEvery = locateEvery

type chordChurnResult struct {
	n                         int
	simulated                 time.Duration
	deaths, joins, joinFailed int
	lookups, answered, right  int
	abandoned                 int
	msgsPerNodeSec            float64
}

type pendingLookup struct {
	x       *chordtest.Member
	key     id.ID
	req     uint64
	started time.Duration
}

func chordChurn(o options) (*chordChurnResult, error) {
	n := o.churnNodes
	rng := rand.New(rand.NewPCG(o.seed, 0xc4a3))
	m := chordtest.New(chordtest.Config{Seed: o.seed ^ 0xc4a3, Node: timers})
	g := newRing(m)
	if err := g.addHosts(rng, n); err != nil {
		return nil, fmt.Errorf("chord churn: %w", err)
	}
	if err := g.converge(); err != nil {
		return nil, fmt.Errorf("chord churn: %w", err)
	}
	m.Run(warmup)
	r := &chordChurnResult{n: n, simulated: o.churnFor}

	meanSession := float64(o.session) / math.Ln2
	session := func() time.Duration { return time.Duration(rng.ExpFloat64() * meanSession) }
	deathAt := map[*chordtest.Host]time.Duration{}
	for _, h := range m.Hosts() {
		deathAt[h] = m.Now() + session()
	}
	live := func() *chordtest.Member {
		hs := m.Hosts()
		for {
			h := hs[rng.IntN(len(hs))]
			if x := h.Members[0]; h.Up && x.Joined() {
				return x
			}
		}
	}
	type joiner struct {
		x   *chordtest.Member
		req uint64
	}
	var joining []joiner
	var pending []*pendingLookup
	start, msgs0 := m.Now(), m.Messages
	end := start + o.churnFor
	next := start
	for m.Now() < end {
		m.Run(churnTick)
		now := m.Now()
		// Deaths, each replaced by a new host.
		for _, h := range m.Hosts() {
			if !h.Up || now < deathAt[h] {
				continue
			}
			m.Kill(h)
			r.deaths++
			nh := m.NewHost()
			deathAt[nh] = now + session()
			x, gw := nh.Members[0], live()
			req := g.nextReq()
			m.Do(x, func(nd *chord.Node) { nd.Join(req, gw.Self()) })
			joining = append(joining, joiner{x, req})
		}
		joining = slices.DeleteFunc(joining, func(j joiner) bool {
			if !j.x.Host.Up {
				r.joinFailed++
				return true
			}
			res, ok := j.x.Take(chord.ResultJoined, j.req)
			if !ok {
				return false
			}
			if res.Err != nil { // its gateway died before answering
				m.Kill(j.x.Host)
				r.joinFailed++
			} else {
				r.joins++
			}
			return true
		})
		for ; next <= now; next += lookupEvery {
			x := live()
			pending = append(pending, &pendingLookup{x: x, key: id.Random(rng), started: now})
			pl := pending[len(pending)-1]
			pl.req = m.StartLookup(x, pl.key)
		}
		pending = slices.DeleteFunc(pending, func(pl *pendingLookup) bool {
			if !pl.x.Up() {
				r.abandoned++ // the origin itself died: not the overlay's failure
				return true
			}
			res, ok := pl.x.Take(chord.ResultLookup, pl.req)
			if !ok {
				if now-pl.started > locateWithin {
					r.lookups++
					return true
				}
				return false
			}
			r.lookups++
			if res.Err == nil {
				r.answered++
				if want := m.TrueSuccessors(pl.key, 1); len(want) > 0 && res.Successors[0].ID == want[0].ID {
					r.right++
				}
			}
			return true
		})
	}
	r.msgsPerNodeSec = float64(m.Messages-msgs0) / float64(n) / o.churnFor.Seconds()
	return r, nil
}

func (r *chordChurnResult) print(w io.Writer) {
	fmt.Fprintf(w, "chord under churn: %d nodes, %v simulated, median session as set; %d crashes, %d joins (%d joins failed or the joiner died first)\n",
		r.n, r.simulated, r.deaths, r.joins, r.joinFailed)
	fmt.Fprintf(w, "  lookups answered    %d/%d (%.3f%%); %d abandoned because the origin died\n",
		r.answered, r.lookups, 100*ratio(r.answered, r.lookups), r.abandoned)
	fmt.Fprintf(w, "  true successor      %d/%d (%.2f%%), so %.2f%% of the answers\n",
		r.right, r.lookups, 100*ratio(r.right, r.lookups), 100*ratio(r.right, r.answered))
	fmt.Fprintf(w, "  maintenance traffic %.1f messages per node per second\n\n", r.msgsPerNodeSec)
}

func (r *chordChurnResult) figures(f map[string]any, p string) {
	f[p+"nodes"] = r.n
	f[p+"crashes"] = r.deaths
	f[p+"joins"] = r.joins
	f[p+"lookups"] = r.lookups
	f[p+"lookup_success_pct"] = round(100*ratio(r.answered, r.lookups), 3)
	f[p+"lookup_correct_pct"] = round(100*ratio(r.right, r.lookups), 3)
	f[p+"correct_of_answered_pct"] = round(100*ratio(r.right, r.answered), 3)
	f[p+"msgs_per_node_s"] = round(r.msgsPerNodeSec, 1)
}
