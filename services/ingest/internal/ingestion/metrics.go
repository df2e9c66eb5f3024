package ingestion

import (
	"fmt"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	ingestv1 "github.com/agenttrace/agenttrace/pkg/gen/agenttrace/ingest/v1"
	"github.com/agenttrace/agenttrace/services/ingest/internal/validation"
)

// Outcomes of an event, the "outcome" label of agenttrace_ingest_events_total.
const (
	outcomeAccepted = "accepted" // valid and acknowledged by the stream
	outcomeRejected = "rejected" // failed validation
	// outcomeUnavailable: valid, but the call failed because the stream did
	// not acknowledge it; the client is expected to retry.
	outcomeUnavailable = "unavailable"
	// outcomeDisabled: a deletion refused because this server cannot audit.
	outcomeDisabled = "disabled"
)

// Metrics are ingest's own Prometheus metrics.
type Metrics struct {
	events  *prometheus.CounterVec
	publish prometheus.Histogram
	batches prometheus.Histogram
	deletes *prometheus.CounterVec
}

// NewMetrics registers ingest's metrics on reg.
func NewMetrics(reg prometheus.Registerer) (*Metrics, error) {
	m := &Metrics{
		events: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "agenttrace_ingest_events_total",
			Help: "Events received, by event type and outcome (accepted, rejected, unavailable).",
		}, []string{"type", "outcome"}),
		publish: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "agenttrace_ingest_publish_duration_seconds",
			Help:    "Time from handing a call's accepted events to JetStream until all were acknowledged or the publish failed.",
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10},
		}),
		batches: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "agenttrace_ingest_batch_events",
			Help:    "Events per IngestBatch call.",
			Buckets: []float64{1, 2, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000},
		}),
		deletes: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "agenttrace_ingest_trace_deletions_total",
			Help: "DeleteTrace calls with a valid trace id, by outcome (accepted, unavailable, disabled).",
		}, []string{"outcome"}),
	}
	for _, c := range []prometheus.Collector{m.events, m.publish, m.batches, m.deletes} {
		if err := reg.Register(c); err != nil {
			return nil, fmt.Errorf("register ingest metrics: %w", err)
		}
	}
	// Export every series from the start so rates work from zero.
	for n := range ingestv1.EventType_name {
		for _, o := range []string{outcomeAccepted, outcomeRejected, outcomeUnavailable} {
			m.events.WithLabelValues(typeLabel(ingestv1.EventType(n)), o)
		}
	}
	m.events.WithLabelValues(typeLabel(-1), outcomeRejected)
	for _, o := range []string{outcomeAccepted, outcomeUnavailable, outcomeDisabled} {
		m.deletes.WithLabelValues(o)
	}
	return m, nil
}

// count records every event of a call: rejected ones as rejected, valid ones
// with validOutcome.
func (m *Metrics) count(events []*ingestv1.IngestEvent, errs []*validation.Error, validOutcome string) {
	if m == nil {
		return
	}
	for i, ev := range events {
		o := validOutcome
		if errs[i] != nil {
			o = outcomeRejected
		}
		m.events.WithLabelValues(typeLabel(ev.GetType()), o).Inc()
	}
}

func (m *Metrics) publishDuration(d time.Duration) {
	if m != nil {
		m.publish.Observe(d.Seconds())
	}
}

func (m *Metrics) deletion(outcome string) {
	if m != nil {
		m.deletes.WithLabelValues(outcome).Inc()
	}
}

func (m *Metrics) batch(n int) {
	if m != nil {
		m.batches.Observe(float64(n))
	}
}

// typeLabel is "trace_create" for EVENT_TYPE_TRACE_CREATE; numbers the
// schema does not know share "unknown" so a client cannot blow up the
// number of series.
func typeLabel(t ingestv1.EventType) string {
	name, ok := ingestv1.EventType_name[int32(t)]
	if !ok {
		return "unknown"
	}
	return strings.ToLower(strings.TrimPrefix(name, "EVENT_TYPE_"))
}
