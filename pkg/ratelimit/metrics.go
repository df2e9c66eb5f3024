package ratelimit

import "github.com/prometheus/client_golang/prometheus"

type metrics struct {
	redisErrors prometheus.Counter
	redisUp     prometheus.Gauge
	decisions   *prometheus.CounterVec
}

func newMetrics() *metrics {
	return &metrics{
		redisErrors: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "agenttrace_ratelimit_redis_errors_total",
			Help: "Rate limit decisions Redis could not make; each was made by the local limiter.",
		}),
		redisUp: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "agenttrace_ratelimit_redis_up",
			Help: "1 while rate limits are shared through Redis, 0 while they are local to this replica.",
		}),
		decisions: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "agenttrace_ratelimit_decisions_total",
			Help: "Rate limited gRPC calls by class (ingest, query) and outcome (allowed, limited).",
		}, []string{"class", "outcome"}),
	}
}

func (m *metrics) collectors() []prometheus.Collector {
	return []prometheus.Collector{m.redisErrors, m.redisUp, m.decisions}
}

// Describe implements prometheus.Collector, so a service registers the
// limiter's metrics with Registry().MustRegister(limiter).
func (l *Limiter) Describe(ch chan<- *prometheus.Desc) {
	for _, c := range l.m.collectors() {
		c.Describe(ch)
	}
}

// Collect implements prometheus.Collector.
func (l *Limiter) Collect(ch chan<- prometheus.Metric) {
	for _, c := range l.m.collectors() {
		c.Collect(ch)
	}
}
