package otlpingest

import (
	"fmt"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Outcomes of a span, the "outcome" label of agenttrace_ingest_otlp_spans_total.
const (
	spanAccepted = "accepted" // valid and acknowledged by the stream
	spanRejected = "rejected" // failed validation, reported via partial success
	// spanUnavailable: valid, but the export failed because the stream did
	// not acknowledge it; the client is expected to retry.
	spanUnavailable = "unavailable"
)

// Outcomes of an export call, the "outcome" label of
// agenttrace_ingest_otlp_requests_total.
const (
	requestAccepted    = "accepted"    // every span stored (or no span sent)
	requestPartial     = "partial"     // some spans stored, some rejected
	requestRejected    = "rejected"    // every span rejected
	requestUnavailable = "unavailable" // the stream failed; nothing stored
	requestCanceled    = "canceled"    // the caller gave up while publishing
	requestMalformed   = "malformed"   // the bytes are not an export request; nothing stored
)

// requestOutcomes are every request outcome, each a series from the start.
var requestOutcomes = []string{requestAccepted, requestPartial, requestRejected, requestUnavailable, requestCanceled, requestMalformed}

// Metrics are the OTLP receiver's Prometheus metrics.
type Metrics struct {
	spans    *prometheus.CounterVec
	requests *prometheus.CounterVec
	publish  prometheus.Histogram
	sizes    prometheus.Histogram
}

// NewMetrics registers the OTLP metrics on reg.
func NewMetrics(reg prometheus.Registerer) (*Metrics, error) {
	m := &Metrics{
		spans: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "agenttrace_ingest_otlp_spans_total",
			Help: "OTLP spans received, by outcome (accepted, rejected, unavailable).",
		}, []string{"outcome"}),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "agenttrace_ingest_otlp_requests_total",
			Help: "OTLP trace export calls that reached the handler, by transport (grpc, http via the gateway) and outcome (accepted, partial, rejected, unavailable, canceled, malformed).",
		}, []string{"transport", "outcome"}),
		publish: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "agenttrace_ingest_otlp_publish_duration_seconds",
			Help:    "Time from handing an export's valid spans to JetStream until all were acknowledged or the publish failed.",
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10},
		}),
		sizes: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "agenttrace_ingest_otlp_export_spans",
			Help:    "Spans per OTLP export call.",
			Buckets: []float64{1, 2, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000},
		}),
	}
	for _, c := range []prometheus.Collector{m.spans, m.requests, m.publish, m.sizes} {
		if err := reg.Register(c); err != nil {
			return nil, fmt.Errorf("register otlp metrics: %w", err)
		}
	}
	// Export every series from the start so rates work from zero.
	for _, o := range []string{spanAccepted, spanRejected, spanUnavailable} {
		m.spans.WithLabelValues(o)
	}
	for _, t := range []string{TransportGRPC, TransportHTTP} {
		for _, o := range requestOutcomes {
			m.requests.WithLabelValues(t, o)
		}
	}
	return m, nil
}

// requestOutcome classifies a successful call.
func requestOutcome(o Outcome) string {
	switch {
	case o.Rejected == 0:
		return requestAccepted
	case o.Accepted == 0:
		return requestRejected
	default:
		return requestPartial
	}
}

// request records one call and its spans: rejected spans as rejected, valid
// ones as accepted unless the call failed.
func (m *Metrics) request(transport, outcome string, valid, rejected int) {
	if m == nil {
		return
	}
	m.requests.WithLabelValues(transportLabel(transport), outcome).Inc()
	m.sizes.Observe(float64(valid + rejected))
	validOutcome := spanAccepted
	if outcome == requestUnavailable || outcome == requestCanceled {
		validOutcome = spanUnavailable
	}
	m.spans.WithLabelValues(validOutcome).Add(float64(valid))
	m.spans.WithLabelValues(spanRejected).Add(float64(rejected))
}

// malformed records a call whose bytes did not decode (it has no spans to
// count).
func (m *Metrics) malformed(transport string) {
	if m != nil {
		m.requests.WithLabelValues(transportLabel(transport), requestMalformed).Inc()
	}
}

// transportLabel is the transport label of a call: http, else grpc.
func transportLabel(transport string) string {
	if transport != TransportHTTP {
		return TransportGRPC
	}
	return transport
}

func (m *Metrics) publishDuration(d time.Duration) {
	if m != nil {
		m.publish.Observe(d.Seconds())
	}
}
