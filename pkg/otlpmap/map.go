package otlpmap

import (
	collectortracev1 "go.opentelemetry.io/proto/otlp/collector/trace/v1"

	ingestv1 "github.com/agenttrace/agenttrace/pkg/gen/agenttrace/ingest/v1"
)

// Map turns one OTLP export request into ingestion events: for each span,
// in request order, an OBSERVATION_CREATE event followed by those of its
// EVENT observations; then, per trace in order of first appearance, its
// TRACE_CREATE events. The result depends only on req, so a request mapped
// twice yields identical events (ids included), which the stores treat as
// one. A span repeated within req is mapped once (its first copy).
//
// Map refuses the whole request, with a *SpanError wrapping
// ErrInvalidSpan, if any span fails CheckSpan: ingest forwards only valid
// spans (see Valid), so an invalid one means the message is corrupt.
func Map(req *collectortracev1.ExportTraceServiceRequest) ([]*ingestv1.IngestEvent, error) {
	var (
		events []*ingestv1.IngestEvent
		order  []string
		// scratch is reused to marshal each trace event for its id.
		scratch []byte
		traces  = map[string][]*mappedSpan{}
		// A span is known by its trace and span ids, which CheckSpan
		// fixed at 16 and 8 bytes.
		seen = map[[24]byte]bool{}
	)
	if n := eventsHint(req); n > 0 {
		events = make([]*ingestv1.IngestEvent, 0, n)
	}
	for ri, rs := range req.GetResourceSpans() {
		ra := newAttrs(rs.GetResource().GetAttributes())
		service := ra.peekStr("service.name")
		res := resourceFields(ra)
		for si, ss := range rs.GetScopeSpans() {
			o := &origin{resource: res, serviceName: service, scope: ss.GetScope()}
			for pi, s := range ss.GetSpans() {
				if err := CheckSpan(s); err != nil {
					return nil, &SpanError{Resource: ri, Scope: si, Span: pi, Err: err}
				}
				var key [24]byte
				copy(key[copy(key[:], s.GetTraceId()):], s.GetSpanId())
				if seen[key] {
					continue
				}
				seen[key] = true
				var m *mappedSpan
				m, events = mapSpan(s, o, events)
				if !m.root {
					// Only a root hands its input and output to the trace.
					m.input, m.output = nil, nil
				}
				if _, ok := traces[m.traceID]; !ok {
					order = append(order, m.traceID)
				}
				traces[m.traceID] = append(traces[m.traceID], m)
			}
		}
	}
	for _, id := range order {
		events, scratch = traceEvents(traces[id], events, scratch)
	}
	return events, nil
}

// eventsHint is the number of events of a request of one trace without
// repeated spans: one per span and span event, two for the trace; 0 for
// a request without spans.
func eventsHint(req *collectortracev1.ExportTraceServiceRequest) int {
	n := 0
	for _, rs := range req.GetResourceSpans() {
		for _, ss := range rs.GetScopeSpans() {
			for _, s := range ss.GetSpans() {
				n += 1 + len(s.GetEvents())
			}
		}
	}
	if n == 0 {
		return 0
	}
	return n + 2
}
