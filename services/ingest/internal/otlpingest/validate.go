package otlpingest

import (
	"fmt"

	"github.com/agenttrace/agenttrace/pkg/otlpmap"
	coltracepb "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	commonpb "go.opentelemetry.io/proto/otlp/common/v1"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"
)

// Rejection says why one span was rejected.
type Rejection struct {
	// Span locates the span in the request:
	// "resource_spans[0].scope_spans[1].spans[2]".
	Span string
	// Reason names the field at fault (relative to the span, or "resource"
	// / "scope") and the rule it breaks.
	Reason string
}

func (r Rejection) String() string { return r.Span + ": " + r.Reason }

// Checked is the outcome of validating an export request.
type Checked struct {
	// Valid holds the valid spans under their resources and scopes; groups
	// left without a valid span are dropped. It is the request itself when
	// every span is valid, and shares spans, resources and scopes with it
	// otherwise.
	Valid *coltracepb.ExportTraceServiceRequest
	// Accepted counts the valid spans.
	Accepted int
	// Rejections has one entry per rejected span, in request order.
	Rejections []Rejection
}

// Validate checks every span of req on its own. It does not modify req.
func Validate(req *coltracepb.ExportTraceServiceRequest, lim Limits) Checked {
	var out Checked
	// keep[i][j] lists the valid spans of scope j of resource i; nil while
	// every span so far was valid, so the common case allocates nothing.
	var keep [][][]*tracepb.Span
	for i, rs := range req.GetResourceSpans() {
		resErr := checkResource(rs, lim)
		resBytes := fieldSize(rs.GetResource())
		for j, ss := range rs.GetScopeSpans() {
			scopeErr := resErr
			if scopeErr == "" {
				scopeErr = checkScope(ss.GetScope(), lim)
			}
			groupBytes := resBytes + fieldSize(ss.GetScope())
			for k, s := range ss.GetSpans() {
				reason := scopeErr
				if reason == "" {
					reason = checkSpan(s, groupBytes, lim)
				}
				if reason == "" {
					out.Accepted++
					if keep != nil {
						keep[i][j] = append(keep[i][j], s)
					}
					continue
				}
				if keep == nil {
					keep = validSoFar(req, i, j, k)
				}
				out.Rejections = append(out.Rejections, Rejection{
					Span:   fmt.Sprintf("resource_spans[%d].scope_spans[%d].spans[%d]", i, j, k),
					Reason: reason,
				})
			}
		}
	}
	if keep == nil {
		out.Valid = req
		return out
	}
	out.Valid = &coltracepb.ExportTraceServiceRequest{}
	for i, rs := range req.GetResourceSpans() {
		var scopes []*tracepb.ScopeSpans
		for j, ss := range rs.GetScopeSpans() {
			if len(keep[i][j]) > 0 {
				scopes = append(scopes, &tracepb.ScopeSpans{Scope: ss.GetScope(), SchemaUrl: ss.GetSchemaUrl(), Spans: keep[i][j]})
			}
		}
		if len(scopes) > 0 {
			out.Valid.ResourceSpans = append(out.Valid.ResourceSpans, &tracepb.ResourceSpans{
				Resource: rs.GetResource(), SchemaUrl: rs.GetSchemaUrl(), ScopeSpans: scopes,
			})
		}
	}
	return out
}

// validSoFar builds the keep table at the first rejected span (resource i,
// scope j, span k): every span before it was valid.
func validSoFar(req *coltracepb.ExportTraceServiceRequest, i, j, k int) [][][]*tracepb.Span {
	keep := make([][][]*tracepb.Span, len(req.GetResourceSpans()))
	for ri, rs := range req.GetResourceSpans() {
		keep[ri] = make([][]*tracepb.Span, len(rs.GetScopeSpans()))
		for si, ss := range rs.GetScopeSpans() {
			switch {
			case ri < i || (ri == i && si < j):
				keep[ri][si] = ss.GetSpans()
			case ri == i && si == j:
				keep[ri][si] = ss.GetSpans()[:k:k]
			}
		}
	}
	return keep
}

func checkResource(rs *tracepb.ResourceSpans, lim Limits) string {
	if rs == nil {
		return "resource_spans entry is empty"
	}
	if msg := checkAttributes(rs.GetResource().GetAttributes(), lim); msg != "" {
		return "resource.attributes" + msg
	}
	return ""
}

func checkScope(scope *commonpb.InstrumentationScope, lim Limits) string {
	if len(scope.GetName()) > lim.MaxNameBytes {
		return fmt.Sprintf("scope.name: %d bytes, at most %d allowed", len(scope.GetName()), lim.MaxNameBytes)
	}
	if msg := checkAttributes(scope.GetAttributes(), lim); msg != "" {
		return "scope.attributes" + msg
	}
	return ""
}

// checkSpan returns why s is invalid, or "". groupBytes is the encoded
// size of its resource and scope fields.
func checkSpan(s *tracepb.Span, groupBytes int, lim Limits) string {
	if s == nil {
		return "span is empty"
	}
	if msg := checkID("trace_id", s.GetTraceId(), 16); msg != "" {
		return msg
	}
	if msg := checkID("span_id", s.GetSpanId(), 8); msg != "" {
		return msg
	}
	if p := s.GetParentSpanId(); len(p) > 0 {
		if len(p) == 8 && allZero(p) {
			// Some exporters send an all-zero parent for a root span; it
			// is stored as the root it means to be.
			s.ParentSpanId = nil
		} else if msg := checkID("parent_span_id", p, 8); msg != "" {
			return msg + " (or empty for a root span)"
		}
	}
	start, end := s.GetStartTimeUnixNano(), s.GetEndTimeUnixNano()
	if start == 0 {
		return "start_time_unix_nano: must be set"
	}
	if end != 0 && end < start {
		return fmt.Sprintf("end_time_unix_nano: %d is before start_time_unix_nano %d", end, start)
	}
	// The worker maps spans with otlpmap, which refuses a whole export that
	// holds a span it cannot map: such a span must be refused here, where
	// it is reported to the client, instead.
	if err := otlpmap.CheckSpan(s); err != nil {
		return err.Error()
	}
	if len(s.GetName()) > lim.MaxNameBytes {
		return fmt.Sprintf("name: %d bytes, at most %d allowed", len(s.GetName()), lim.MaxNameBytes)
	}
	if msg := checkAttributes(s.GetAttributes(), lim); msg != "" {
		return "attributes" + msg
	}
	if msg := checkEvents(s.GetEvents(), lim); msg != "" {
		return msg
	}
	if msg := checkLinks(s.GetLinks(), lim); msg != "" {
		return msg
	}
	if n := groupBytes + proto.Size(s); n > lim.MaxSpanBytes {
		return fmt.Sprintf("span: encodes to %d bytes with its resource and scope, at most %d allowed", n, lim.MaxSpanBytes)
	}
	return ""
}

func checkEvents(events []*tracepb.Span_Event, lim Limits) string {
	if len(events) > lim.MaxEvents {
		return fmt.Sprintf("events: %d events, at most %d allowed", len(events), lim.MaxEvents)
	}
	for i, ev := range events {
		if len(ev.GetName()) > lim.MaxNameBytes {
			return fmt.Sprintf("events[%d].name: %d bytes, at most %d allowed", i, len(ev.GetName()), lim.MaxNameBytes)
		}
		if msg := checkAttributes(ev.GetAttributes(), lim); msg != "" {
			return fmt.Sprintf("events[%d].attributes%s", i, msg)
		}
	}
	return ""
}

func checkLinks(links []*tracepb.Span_Link, lim Limits) string {
	if len(links) > lim.MaxLinks {
		return fmt.Sprintf("links: %d links, at most %d allowed", len(links), lim.MaxLinks)
	}
	for i, l := range links {
		if msg := checkID(fmt.Sprintf("links[%d].trace_id", i), l.GetTraceId(), 16); msg != "" {
			return msg
		}
		if msg := checkID(fmt.Sprintf("links[%d].span_id", i), l.GetSpanId(), 8); msg != "" {
			return msg
		}
		if msg := checkAttributes(l.GetAttributes(), lim); msg != "" {
			return fmt.Sprintf("links[%d].attributes%s", i, msg)
		}
	}
	return ""
}

// checkID requires an id of n bytes that are not all zero (OTel's invalid id).
func checkID(field string, id []byte, n int) string {
	if len(id) != n {
		return fmt.Sprintf("%s: must be %d bytes, got %d", field, n, len(id))
	}
	if allZero(id) {
		return field + ": must not be all zero"
	}
	return ""
}

func allZero(b []byte) bool {
	for _, c := range b {
		if c != 0 {
			return false
		}
	}
	return true
}

// checkAttributes returns the problem with attrs as a suffix of its field
// path ("[3].key: must not be empty", ": 2000 attributes, ..."), or "".
func checkAttributes(attrs []*commonpb.KeyValue, lim Limits) string {
	return checkKeyValues(attrs, lim, 1)
}

func checkKeyValues(kvs []*commonpb.KeyValue, lim Limits, depth int) string {
	if len(kvs) > lim.MaxAttributes {
		return fmt.Sprintf(": %d attributes, at most %d allowed", len(kvs), lim.MaxAttributes)
	}
	for i, kv := range kvs {
		switch k := kv.GetKey(); {
		case k == "":
			return fmt.Sprintf("[%d].key: must not be empty", i)
		case len(k) > lim.MaxAttributeKeyBytes:
			return fmt.Sprintf("[%d].key: %d bytes, at most %d allowed", i, len(k), lim.MaxAttributeKeyBytes)
		}
		if msg := checkValue(kv.GetValue(), lim, depth); msg != "" {
			return fmt.Sprintf("[%d].value%s", i, msg)
		}
	}
	return ""
}

// checkValue bounds the nesting of array and key-value list values; depth
// is the nesting level of v (1 for an attribute's own value).
func checkValue(v *commonpb.AnyValue, lim Limits, depth int) string {
	switch v.GetValue().(type) {
	case *commonpb.AnyValue_ArrayValue, *commonpb.AnyValue_KvlistValue:
	default:
		return ""
	}
	if depth >= lim.MaxValueDepth {
		return fmt.Sprintf(": nested deeper than %d levels", lim.MaxValueDepth)
	}
	if kvs := v.GetKvlistValue(); kvs != nil {
		return checkKeyValues(kvs.GetValues(), lim, depth+1)
	}
	values := v.GetArrayValue().GetValues()
	if len(values) > lim.MaxAttributes {
		return fmt.Sprintf(": %d array values, at most %d allowed", len(values), lim.MaxAttributes)
	}
	for i, e := range values {
		if msg := checkValue(e, lim, depth+1); msg != "" {
			return fmt.Sprintf("[%d]%s", i, msg)
		}
	}
	return ""
}

// fieldSize is the encoded size of a set message field (tag, length, body).
func fieldSize(m proto.Message) int {
	if m == nil || !m.ProtoReflect().IsValid() {
		return 0
	}
	n := proto.Size(m)
	return 1 + protowire.SizeVarint(uint64(n)) + n
}
