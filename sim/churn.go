package main

import (
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"slices"
	"time"

	"github.com/puddlestore/puddlestore/id"
	"github.com/puddlestore/puddlestore/tapestry"
	"github.com/puddlestore/puddlestore/tapestry/tapestrytest"
)

// Churn: nodes crash after exponentially distributed sessions (median
// o.session, as in Bamboo's churn studies) and are replaced by new nodes
// joining, so the mesh keeps its size. Each object keeps o.replicas
// holders: a holder that dies is replaced repairDelay later by a live node
// that publishes the object (the block layer's repair). Clients locate
// objects all along; a locate succeeds when it yields a live holder,
// skipping holders it finds dead (up to locateTries asks).
const (
	churnTick    = 100 * time.Millisecond
	warmup       = time.Minute
	repairDelay  = 10 * time.Second
	locateTries  = 3
	locateEvery  = 50 * time.Millisecond
	routeEvery   = 200 * time.Millisecond
	locateWithin = 30 * time.Second
)

type churnResult struct {
	n                         int
	simulated                 time.Duration
	deaths, joins, joinFailed int
	locates, located          int
	abandoned                 int
	routes, rootCorrect       int
	routeFailed               int
	msgsPerNodeSec            float64
}

// dynamic nodes run every timer; ticks are 100 ms of simulated time.
// Neighbours are pinged every 2 s and declared dead after 6 s of silence.
func dynamic(c *tapestry.Config) {
	c.HeartbeatTicks, c.FailureTicks = 20, 60
	c.RepublishTicks = 300
	c.RequestTicks = 20
	c.PublishBackups = true
}

type pendingLocate struct {
	client  *tapestrytest.Member
	obj     int
	req     uint64
	tries   int
	exclude []id.ID
	started time.Duration
}

type pendingRoute struct {
	src *tapestrytest.Member
	key id.ID
	req uint64
}

func churnRun(o options) (*churnResult, error) {
	n := o.churnNodes
	rng := rand.New(rand.NewPCG(o.seed, 0xc4a2))
	m := tapestrytest.New(tapestrytest.Config{Seed: o.seed ^ 0xc4a2, Node: dynamic})
	r := &churnResult{n: n, simulated: o.churnFor}
	for range n {
		m.Add()
	}
	xs := m.Members()
	if err := xs[0].Bootstrap(); err != nil {
		return nil, err
	}
	for i := 1; i < n; i++ {
		if err := m.Join(xs[i], xs[rng.IntN(i)], quiesceLimit); err != nil {
			return nil, fmt.Errorf("churn: %w", err)
		}
	}
	objs, holders := publishObjects(m, rng, o, xs)
	m.Run(warmup)

	meanSession := float64(o.session) / math.Ln2
	session := func() time.Duration { return time.Duration(rng.ExpFloat64() * meanSession) }
	deathAt := map[*tapestrytest.Member]time.Duration{}
	for _, x := range xs {
		deathAt[x] = m.Now() + session()
	}
	type repair struct {
		at  time.Duration
		obj int
	}
	var repairs []repair
	var locs []*pendingLocate
	var routes []*pendingRoute
	joining := map[*tapestrytest.Member]uint64{}
	var req uint64 = 1 << 50
	live := func() *tapestrytest.Member {
		for {
			x := xs[rng.IntN(len(xs))]
			if x.Up && x.Joined() {
				return x
			}
		}
	}
	start, msgs0 := m.Now(), m.Messages
	end := start + o.churnFor
	nextLocate, nextRoute := start, start
	for m.Now() < end {
		m.Run(churnTick)
		now := m.Now()
		// Deaths, each replaced by a new node.
		for _, x := range xs {
			if x.Up && now >= deathAt[x] {
				m.Kill(x)
				r.deaths++
				for k := range objs {
					if i := slices.Index(holders[k], x); i >= 0 {
						holders[k] = slices.Delete(holders[k], i, i+1)
						repairs = append(repairs, repair{at: now + repairDelay, obj: k})
					}
				}
				y := m.Add()
				deathAt[y] = now + session()
				req++
				joining[y] = req
				gw := live()
				var err error
				m.Do(y, func(nd *tapestry.Node) { err = nd.Join(req, gw.Self().Addr) })
				if err != nil {
					return nil, err
				}
			}
		}
		xs = m.Members()
		for y, q := range joining {
			if !y.Up {
				delete(joining, y)
				r.joinFailed++
			} else if res, ok := y.Take(tapestry.ResultJoined, q); ok {
				delete(joining, y)
				if res.Err != nil { // its gateway died before answering
					m.Kill(y)
					r.joinFailed++
				} else {
					r.joins++
				}
			}
		}
		// Repairs: a live node that does not hold the object yet takes it.
		kept := repairs[:0]
		for _, rp := range repairs {
			if now < rp.at {
				kept = append(kept, rp)
				continue
			}
			h := live()
			for slices.Contains(holders[rp.obj], h) {
				h = live()
			}
			holders[rp.obj] = append(holders[rp.obj], h)
			req++
			m.Do(h, func(nd *tapestry.Node) { nd.Publish(req, objs[rp.obj]) })
		}
		repairs = kept
		// New locates and routes.
		for ; nextLocate <= now; nextLocate += locateEvery {
			req++
			pl := &pendingLocate{client: live(), obj: rng.IntN(len(objs)), req: req, started: now}
			locs = append(locs, pl)
			m.Do(pl.client, func(nd *tapestry.Node) { nd.Locate(pl.req, objs[pl.obj], nil) })
		}
		for ; nextRoute <= now; nextRoute += routeEvery {
			req++
			pr := &pendingRoute{src: live(), key: id.Random(rng), req: req}
			routes = append(routes, pr)
			m.Do(pr.src, func(nd *tapestry.Node) { nd.Route(pr.req, pr.key) })
		}
		// Answers.
		locs = slices.DeleteFunc(locs, func(pl *pendingLocate) bool {
			if !pl.client.Up {
				r.abandoned++ // the client itself died: not the overlay's failure
				return true
			}
			res, ok := pl.client.Take(tapestry.ResultLocate, pl.req)
			if !ok {
				if now-pl.started > locateWithin {
					r.locates++
					return true
				}
				return false
			}
			pl.tries++
			if res.Err == nil {
				for _, h := range res.Holders {
					if x := m.Member(h.ID); x != nil && x.Up {
						r.locates++
						r.located++
						return true
					}
					pl.exclude = append(pl.exclude, h.ID)
				}
			}
			if pl.tries >= locateTries {
				r.locates++
				return true
			}
			req++
			pl.req = req
			m.Do(pl.client, func(nd *tapestry.Node) { nd.Locate(pl.req, objs[pl.obj], pl.exclude) })
			return false
		})
		routes = slices.DeleteFunc(routes, func(pr *pendingRoute) bool {
			if !pr.src.Up {
				return true
			}
			res, ok := pr.src.Take(tapestry.ResultRoute, pr.req)
			if !ok {
				return false
			}
			r.routes++
			if res.Err != nil {
				r.routeFailed++
			} else if root := m.Root(pr.key); root != nil && res.Path[len(res.Path)-1].ID == root.Self().ID {
				r.rootCorrect++
			}
			return true
		})
		// Results nobody waits for (publishes) would pile up.
		for _, x := range xs {
			x.Results = slices.DeleteFunc(x.Results, func(res tapestry.Result) bool { return res.Kind == tapestry.ResultPublish })
		}
	}
	r.msgsPerNodeSec = float64(m.Messages-msgs0) / float64(n) / o.churnFor.Seconds()
	return r, nil
}

func (r *churnResult) print(w io.Writer) {
	fmt.Fprintf(w, "tapestry under churn: %d nodes, %v simulated, median session as set; %d crashes, %d joins (%d joins failed or the joiner died first)\n",
		r.n, r.simulated, r.deaths, r.joins, r.joinFailed)
	fmt.Fprintf(w, "  locate success      %d/%d (%.3f%%)   target ≥99.9%%; %d abandoned because the client died\n",
		r.located, r.locates, 100*ratio(r.located, r.locates), r.abandoned)
	fmt.Fprintf(w, "  routes to true root %d/%d (%.2f%%); %d timed out (a hop had died), so %.2f%% of the routes that ended\n",
		r.rootCorrect, r.routes, 100*ratio(r.rootCorrect, r.routes), r.routeFailed, 100*ratio(r.rootCorrect, r.routes-r.routeFailed))
	fmt.Fprintf(w, "  maintenance traffic %.1f messages per node per second\n\n", r.msgsPerNodeSec)
}

func (r *churnResult) figures(f map[string]any, p string) {
	f[p+"nodes"] = r.n
	f[p+"crashes"] = r.deaths
	f[p+"locate_success_pct"] = round(100*ratio(r.located, r.locates), 3)
	f[p+"locates"] = r.locates
	f[p+"root_correct_pct"] = round(100*ratio(r.rootCorrect, r.routes), 2)
	f[p+"root_correct_of_ended_pct"] = round(100*ratio(r.rootCorrect, r.routes-r.routeFailed), 2)
	f[p+"route_timeouts"] = r.routeFailed
	f[p+"msgs_per_node_s"] = round(r.msgsPerNodeSec, 1)
}
