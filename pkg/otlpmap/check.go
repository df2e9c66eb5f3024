package otlpmap

import (
	"bytes"
	"errors"
	"fmt"
	"math"

	collectortracev1 "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	tracev1 "go.opentelemetry.io/proto/otlp/trace/v1"
)

// ErrInvalidSpan marks a span that cannot become an observation.
var ErrInvalidSpan = errors.New("invalid span")

// maxUnixNano is the last nanosecond whose second still fits the stored
// timestamps (readers convert nanoseconds through int64: year 2262).
const maxUnixNano = uint64(math.MaxInt64/1_000_000_000-1)*1_000_000_000 + 999_999_999

var (
	zeroTraceID = make([]byte, 16)
	zeroSpanID  = make([]byte, 8)
)

// CheckSpan reports why s cannot be mapped, or nil: a trace id of 16 bytes
// and a span id of 8 bytes, neither all zero; a parent span id that is
// empty (or all zero, read as empty) or 8 bytes and not the span's own; a
// start time after 1970 and before 2262, and an end time, when set (an
// unfinished span has none), not before it.
// Ingest reports spans failing it through OTLP partial success; Map
// refuses requests that hold any.
func CheckSpan(s *tracev1.Span) error {
	switch {
	case len(s.GetTraceId()) != 16:
		return fmt.Errorf("%w: trace_id must be 16 bytes, got %d", ErrInvalidSpan, len(s.GetTraceId()))
	case bytes.Equal(s.GetTraceId(), zeroTraceID):
		return fmt.Errorf("%w: trace_id is all zero", ErrInvalidSpan)
	case len(s.GetSpanId()) != 8:
		return fmt.Errorf("%w: span_id must be 8 bytes, got %d", ErrInvalidSpan, len(s.GetSpanId()))
	case bytes.Equal(s.GetSpanId(), zeroSpanID):
		return fmt.Errorf("%w: span_id is all zero", ErrInvalidSpan)
	case len(s.GetParentSpanId()) != 0 && len(s.GetParentSpanId()) != 8:
		return fmt.Errorf("%w: parent_span_id must be empty or 8 bytes, got %d", ErrInvalidSpan, len(s.GetParentSpanId()))
	case bytes.Equal(s.GetParentSpanId(), s.GetSpanId()):
		return fmt.Errorf("%w: parent_span_id equals span_id", ErrInvalidSpan)
	}
	return CheckTimes(s.GetStartTimeUnixNano(), s.GetEndTimeUnixNano())
}

// CheckTimes is CheckSpan's rule for a span's start and end times.
func CheckTimes(start, end uint64) error {
	switch {
	case start == 0:
		return fmt.Errorf("%w: start_time_unix_nano is required", ErrInvalidSpan)
	case start > maxUnixNano || end > maxUnixNano:
		return fmt.Errorf("%w: times must be before the year 2262", ErrInvalidSpan)
	case end != 0 && end < start:
		return fmt.Errorf("%w: end_time_unix_nano is before start_time_unix_nano", ErrInvalidSpan)
	}
	return nil
}

// hasParent reports whether s names a parent; an all-zero parent id, which
// a few SDKs send for roots, does not.
func hasParent(s *tracev1.Span) bool {
	return len(s.GetParentSpanId()) == 8 && !bytes.Equal(s.GetParentSpanId(), zeroSpanID)
}

// SpanError names a span that failed CheckSpan by its position in the
// request.
type SpanError struct {
	Resource, Scope, Span int
	Err                   error
}

func (e *SpanError) Error() string {
	return fmt.Sprintf("resource_spans[%d].scope_spans[%d].spans[%d]: %v", e.Resource, e.Scope, e.Span, e.Err)
}

func (e *SpanError) Unwrap() error { return e.Err }

// Valid splits req into a request holding only the spans that pass
// CheckSpan (resource and scope entries left without spans are omitted;
// nil when no span is valid) and the errors of the others, in request
// order. req is not modified; the result shares its spans.
func Valid(req *collectortracev1.ExportTraceServiceRequest) (*collectortracev1.ExportTraceServiceRequest, []*SpanError) {
	var (
		out  *collectortracev1.ExportTraceServiceRequest
		errs []*SpanError
	)
	for ri, rs := range req.GetResourceSpans() {
		var keptScopes []*tracev1.ScopeSpans
		for si, ss := range rs.GetScopeSpans() {
			var kept []*tracev1.Span
			for pi, s := range ss.GetSpans() {
				if err := CheckSpan(s); err != nil {
					errs = append(errs, &SpanError{Resource: ri, Scope: si, Span: pi, Err: err})
					continue
				}
				kept = append(kept, s)
			}
			if len(kept) > 0 {
				keptScopes = append(keptScopes, &tracev1.ScopeSpans{Scope: ss.GetScope(), Spans: kept, SchemaUrl: ss.GetSchemaUrl()})
			}
		}
		if len(keptScopes) > 0 {
			if out == nil {
				out = &collectortracev1.ExportTraceServiceRequest{}
			}
			out.ResourceSpans = append(out.ResourceSpans, &tracev1.ResourceSpans{
				Resource: rs.GetResource(), ScopeSpans: keptScopes, SchemaUrl: rs.GetSchemaUrl(),
			})
		}
	}
	return out, errs
}
