package overlay

import (
	"errors"

	"github.com/prometheus/client_golang/prometheus"
)

// Overlay metrics, on the default Prometheus registry, by overlay kind
// and node address.
var (
	lookupHops = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "puddle_overlay_lookup_hops",
		Help:    "Hops of a lookup (Tapestry: a route to a key's root; Chord: a lookup of a key's successor).",
		Buckets: prometheus.LinearBuckets(0, 1, 12),
	}, []string{"overlay", "node"})
	lookupFailures = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "puddle_overlay_lookup_failures_total",
		Help: "Lookups, locates and publishes that failed (no answer in time, node closed).",
	}, []string{"overlay", "node", "op"})
)

func init() { prometheus.MustRegister(lookupHops, lookupFailures) }

// observeLookup records a lookup's hops (none if negative), or its
// failure; finding no holder is an answer, not a failure.
func observeLookup(kind string, self Peer, op string, hops int, err error) {
	if errors.Is(err, ErrNotFound) {
		return
	}
	if err != nil {
		lookupFailures.WithLabelValues(kind, string(self.Addr), op).Inc()
		return
	}
	if hops >= 0 {
		lookupHops.WithLabelValues(kind, string(self.Addr)).Observe(float64(hops))
	}
}
