package retention

import "github.com/prometheus/client_golang/prometheus"

// Run outcomes counted by agenttrace_worker_retention_runs_total.
const (
	outcomeSucceeded = "succeeded"
	outcomeFailed    = "failed"
	outcomeSkipped   = "skipped" // another replica holds the lease
)

// Metrics are the job's Prometheus instruments.
type Metrics struct {
	runs          *prometheus.CounterVec
	deletedTraces prometheus.Counter
}

// NewMetrics registers the run counter on reg; deletedTraces counts the
// traces the job deletes (shared with request deletions, under its own
// label).
func NewMetrics(reg prometheus.Registerer, deletedTraces prometheus.Counter) *Metrics {
	m := &Metrics{
		runs: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "agenttrace_worker_retention_runs_total",
			Help: "Retention runs, by outcome (succeeded, failed, skipped: another replica ran this interval).",
		}, []string{"outcome"}),
		deletedTraces: deletedTraces,
	}
	for _, o := range []string{outcomeSucceeded, outcomeFailed, outcomeSkipped} {
		m.runs.WithLabelValues(o)
	}
	reg.MustRegister(m.runs)
	return m
}

func (m *Metrics) run(outcome string) {
	if m != nil {
		m.runs.WithLabelValues(outcome).Inc()
	}
}

func (m *Metrics) deleted(traces uint64) {
	if m != nil && m.deletedTraces != nil {
		m.deletedTraces.Add(float64(traces))
	}
}
