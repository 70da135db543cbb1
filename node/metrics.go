package node

import (
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/puddlestore/puddlestore/raft"
)

// Raft metrics, on the default Prometheus registry (served at /metrics by
// puddle dev and puddle node --http). Every series has a node label, the
// Raft member's transport address, so that the several members of one
// process (puddle dev) stay apart.
var (
	raftProposalSeconds = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "puddle_raft_proposal_seconds",
		Help:    "Time from a proposal's submission to its result (applied, or failed).",
		Buckets: prometheus.ExponentialBuckets(0.0005, 2, 14), // 0.5 ms .. 4 s
	}, []string{"node", "outcome"})
	raftApplySeconds = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "puddle_raft_apply_seconds",
		Help:    "Time the state machine takes to apply one committed entry.",
		Buckets: prometheus.ExponentialBuckets(0.000001, 4, 12), // 1 µs .. 4 s
	}, []string{"node"})
	raftLeaderChanges = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "puddle_raft_leader_changes_total",
		Help: "Times this member saw the leader change (including to none).",
	}, []string{"node"})
	raftState = &raftCollector{rafts: map[*Raft]struct{}{}}
)

func init() {
	prometheus.MustRegister(raftProposalSeconds, raftApplySeconds, raftLeaderChanges, raftState)
}

// raftCollector reports the state of every running Raft member of the
// process when scraped: term, commit and applied indexes, whether it
// leads.
type raftCollector struct {
	mu    sync.Mutex
	rafts map[*Raft]struct{}
}

var (
	descTerm    = prometheus.NewDesc("puddle_raft_term", "The member's current term.", []string{"node"}, nil)
	descCommit  = prometheus.NewDesc("puddle_raft_commit_index", "The member's commit index.", []string{"node"}, nil)
	descApplied = prometheus.NewDesc("puddle_raft_applied_index", "The last index the member's state machine applied.", []string{"node"}, nil)
	descLeader  = prometheus.NewDesc("puddle_raft_is_leader", "1 if the member is the leader, else 0.", []string{"node"}, nil)
)

func (c *raftCollector) add(r *Raft) {
	c.mu.Lock()
	c.rafts[r] = struct{}{}
	c.mu.Unlock()
}

func (c *raftCollector) remove(r *Raft) {
	c.mu.Lock()
	delete(c.rafts, r)
	c.mu.Unlock()
}

func (c *raftCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- descTerm
	ch <- descCommit
	ch <- descApplied
	ch <- descLeader
}

func (c *raftCollector) Collect(ch chan<- prometheus.Metric) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for r := range c.rafts {
		st := r.Status()
		n := r.metricName()
		leader := 0.0
		if st.State == raft.StateLeader {
			leader = 1
		}
		ch <- prometheus.MustNewConstMetric(descTerm, prometheus.GaugeValue, float64(st.Term), n)
		ch <- prometheus.MustNewConstMetric(descCommit, prometheus.GaugeValue, float64(st.Commit), n)
		ch <- prometheus.MustNewConstMetric(descApplied, prometheus.GaugeValue, float64(st.Applied), n)
		ch <- prometheus.MustNewConstMetric(descLeader, prometheus.GaugeValue, leader, n)
	}
}

// metricName is the member's node label: its transport address.
func (r *Raft) metricName() string { return string(r.cfg.Transport.Addr()) }

// observeProposal records a proposal's time to its result.
func (r *Raft) observeProposal(start time.Time, err error) {
	outcome := "ok"
	if err != nil {
		outcome = "error"
	}
	raftProposalSeconds.WithLabelValues(r.metricName(), outcome).Observe(time.Since(start).Seconds())
}

// forgetMetrics drops the member's labelled series once it stops.
func (r *Raft) forgetMetrics() {
	raftState.remove(r)
	n := r.metricName()
	for _, o := range []string{"ok", "error"} {
		raftProposalSeconds.DeleteLabelValues(n, o)
	}
	raftApplySeconds.DeleteLabelValues(n)
	raftLeaderChanges.DeleteLabelValues(n)
}
