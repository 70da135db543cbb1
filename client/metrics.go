package client

import (
	"errors"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/puddlestore/puddlestore/meta"
)

// Client metrics, on the default Prometheus registry: every metadata
// command and read, and every block put and get, this process's clients
// make (the gateway's included), by operation and outcome.
var (
	opsTotal = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "puddle_client_operations_total",
		Help: "Client operations: metadata commands (meta_mkdir, meta_commit, ...) and reads (meta_stat, ...), block puts and gets.",
	}, []string{"op", "outcome"})
	opSeconds = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "puddle_client_operation_seconds",
		Help:    "Latency of client operations, retries included.",
		Buckets: prometheus.ExponentialBuckets(0.0005, 2, 16), // 0.5 ms .. 16 s
	}, []string{"op"})
)

func init() { prometheus.MustRegister(opsTotal, opSeconds) }

// observe records one operation that started at start and ended with
// *err: ok, a file-system answer (not found, conflict, ...: the cluster
// worked), or error.
func observe(op string, start time.Time, err *error) {
	outcome := "ok"
	var me *meta.Error
	switch {
	case *err == nil:
	case errors.As(*err, &me):
		outcome = "refused"
	default:
		outcome = "error"
	}
	opsTotal.WithLabelValues(op, outcome).Inc()
	opSeconds.WithLabelValues(op).Observe(time.Since(start).Seconds())
}
