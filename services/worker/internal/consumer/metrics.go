package consumer

import "github.com/prometheus/client_golang/prometheus"

// Message outcomes counted by agenttrace_worker_messages_total.
const (
	outcomeAcked        = "acked"
	outcomeNacked       = "nacked"
	outcomeDeadLettered = "dead_lettered"
)

// Metrics are the consumer's Prometheus instruments.
type Metrics struct {
	messages      *prometheus.CounterVec
	flushDuration prometheus.Histogram
	flushRows     prometheus.Histogram
	queueDepth    prometheus.Gauge
	// insertsInFlight is the number of flushes being written.
	insertsInFlight prometheus.Gauge
}

// NewMetrics creates the instruments and registers them on reg.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		messages: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "agenttrace_worker_messages_total",
			Help: "Stream messages handled, by outcome (acked, nacked, dead_lettered).",
		}, []string{"outcome"}),
		flushDuration: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "agenttrace_worker_flush_duration_seconds",
			Help:    "Time to write one flush to ClickHouse and settle its messages.",
			Buckets: []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30},
		}),
		flushRows: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "agenttrace_worker_flush_rows",
			Help:    "Rows per flush.",
			Buckets: prometheus.ExponentialBuckets(1, 4, 9), // 1 .. 65536
		}),
		queueDepth: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "agenttrace_worker_queue_depth",
			Help: "Messages waiting for the worker: pending delivery plus delivered but not yet acknowledged.",
		}),
		insertsInFlight: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "agenttrace_worker_inserts_in_flight",
			Help: "Flushes being written to ClickHouse (at most AGENTTRACE_WORKER_INSERT_CONCURRENCY).",
		}),
	}
	for _, o := range []string{outcomeAcked, outcomeNacked, outcomeDeadLettered} {
		m.messages.WithLabelValues(o)
	}
	reg.MustRegister(m.messages, m.flushDuration, m.flushRows, m.queueDepth, m.insertsInFlight)
	return m
}
