package blocks

import (
	"sync"

	"github.com/prometheus/client_golang/prometheus"
)

// services reports every running Service of the process to Prometheus
// (the default registry) when scraped, from its Status: one series per
// node, labelled by its address.
var services = &serviceCollector{svcs: map[*Service]struct{}{}}

func init() { prometheus.MustRegister(services) }

type serviceCollector struct {
	mu   sync.Mutex
	svcs map[*Service]struct{}
}

func (c *serviceCollector) add(s *Service) {
	c.mu.Lock()
	c.svcs[s] = struct{}{}
	c.mu.Unlock()
}

func (c *serviceCollector) remove(s *Service) {
	c.mu.Lock()
	delete(c.svcs, s)
	c.mu.Unlock()
}

func desc(name, help string) *prometheus.Desc {
	return prometheus.NewDesc("puddle_blocks_"+name, help, []string{"node"}, nil)
}

var (
	descBlocks         = desc("stored", "Durable blocks the node holds.")
	descBytes          = desc("stored_bytes", "Bytes of the durable blocks the node holds.")
	descCached         = desc("cached", "Blocks of other nodes in the node's read cache.")
	descUnder          = desc("under_replicated", "Blocks the node holds that its last repair pass could not bring to R holders.")
	descUnderPuts      = desc("under_replicated_puts_total", "Puts that found fewer than R nodes to place on.")
	descRepairs        = desc("repairs_total", "Copies stored on holders that lacked them, and damaged local copies replaced.")
	descVerifyFailures = desc("verify_failures_total", "Local blocks found damaged by reads or the scrub.")
	descPasses         = desc("repair_passes_total", "Repair passes completed.")
)

func (c *serviceCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descBlocks, descBytes, descCached, descUnder, descUnderPuts, descRepairs, descVerifyFailures, descPasses} {
		ch <- d
	}
}

func (c *serviceCollector) Collect(ch chan<- prometheus.Metric) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for s := range c.svcs {
		st, n := s.Status(), string(s.self.Addr)
		g := func(d *prometheus.Desc, v float64) {
			ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, n)
		}
		k := func(d *prometheus.Desc, v float64) {
			ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, v, n)
		}
		g(descBlocks, float64(st.Blocks))
		g(descBytes, float64(st.Bytes))
		g(descCached, float64(st.CachedBlocks))
		g(descUnder, float64(st.UnderReplicated))
		k(descUnderPuts, float64(st.UnderReplicatedPuts))
		k(descRepairs, float64(st.Repairs))
		k(descVerifyFailures, float64(st.VerifyFailures))
		k(descPasses, float64(st.Passes))
	}
}
