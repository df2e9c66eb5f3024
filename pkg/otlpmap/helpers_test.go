package otlpmap_test

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	collectortracev1 "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	commonotlp "go.opentelemetry.io/proto/otlp/common/v1"
	resourcev1 "go.opentelemetry.io/proto/otlp/resource/v1"
	tracev1 "go.opentelemetry.io/proto/otlp/trace/v1"

	ingestv1 "github.com/agenttrace/agenttrace/pkg/gen/agenttrace/ingest/v1"
	"github.com/agenttrace/agenttrace/pkg/otlpmap"
)

var t0 = time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)

func at(d time.Duration) uint64 { return uint64(t0.Add(d).UnixNano()) }

// anyValue builds an OTLP value from a Go value.
func anyValue(v any) *commonotlp.AnyValue {
	switch x := v.(type) {
	case string:
		return &commonotlp.AnyValue{Value: &commonotlp.AnyValue_StringValue{StringValue: x}}
	case bool:
		return &commonotlp.AnyValue{Value: &commonotlp.AnyValue_BoolValue{BoolValue: x}}
	case int:
		return &commonotlp.AnyValue{Value: &commonotlp.AnyValue_IntValue{IntValue: int64(x)}}
	case float64:
		return &commonotlp.AnyValue{Value: &commonotlp.AnyValue_DoubleValue{DoubleValue: x}}
	case []byte:
		return &commonotlp.AnyValue{Value: &commonotlp.AnyValue_BytesValue{BytesValue: x}}
	case []any:
		arr := &commonotlp.ArrayValue{}
		for _, e := range x {
			arr.Values = append(arr.Values, anyValue(e))
		}
		return &commonotlp.AnyValue{Value: &commonotlp.AnyValue_ArrayValue{ArrayValue: arr}}
	case map[string]any:
		return &commonotlp.AnyValue{Value: &commonotlp.AnyValue_KvlistValue{KvlistValue: &commonotlp.KeyValueList{Values: kvs(x)}}}
	case nil:
		return &commonotlp.AnyValue{}
	}
	panic(fmt.Sprintf("anyValue: unsupported %T", v))
}

// kvs builds attributes from a map, in sorted key order.
func kvs(m map[string]any) []*commonotlp.KeyValue {
	out := make([]*commonotlp.KeyValue, 0, len(m))
	for _, k := range slices.Sorted(maps.Keys(m)) {
		out = append(out, &commonotlp.KeyValue{Key: k, Value: anyValue(m[k])})
	}
	return out
}

const (
	traceHex = "4bf92f3577b34da6a3ce929d0e0e4736"
	rootHex  = "00f067aa0ba902b7"
)

var (
	traceID = []byte{0x4b, 0xf9, 0x2f, 0x35, 0x77, 0xb3, 0x4d, 0xa6, 0xa3, 0xce, 0x92, 0x9d, 0x0e, 0x0e, 0x47, 0x36}
	rootID  = []byte{0x00, 0xf0, 0x67, 0xaa, 0x0b, 0xa9, 0x02, 0xb7}
)

// spanID returns the n-th child span id (1-based), distinct from rootID.
func spanID(n byte) []byte { return []byte{0xc0, 0, 0, 0, 0, 0, 0, n} }

// rootSpan is a valid root span of one second with the given attributes.
func rootSpan(attrs map[string]any) *tracev1.Span {
	return &tracev1.Span{
		TraceId: traceID, SpanId: rootID, Name: "root",
		StartTimeUnixNano: at(0), EndTimeUnixNano: at(time.Second), Attributes: kvs(attrs),
	}
}

// childSpan is a valid child of the root, running from start to end.
func childSpan(n byte, start, end time.Duration, attrs map[string]any) *tracev1.Span {
	return &tracev1.Span{
		TraceId: traceID, SpanId: spanID(n), ParentSpanId: rootID, Name: fmt.Sprintf("child-%d", n),
		StartTimeUnixNano: at(start), EndTimeUnixNano: at(end), Attributes: kvs(attrs),
	}
}

func request(resource map[string]any, spans ...*tracev1.Span) *collectortracev1.ExportTraceServiceRequest {
	return &collectortracev1.ExportTraceServiceRequest{ResourceSpans: []*tracev1.ResourceSpans{{
		Resource:   &resourcev1.Resource{Attributes: kvs(resource)},
		ScopeSpans: []*tracev1.ScopeSpans{{Spans: spans}},
	}}}
}

func mapOK(t *testing.T, req *collectortracev1.ExportTraceServiceRequest) []*ingestv1.IngestEvent {
	t.Helper()
	events, err := otlpmap.Map(req)
	if err != nil {
		t.Fatalf("Map: %v", err)
	}
	return events
}

// observation returns the body of the observation event with the given id.
func observation(t *testing.T, events []*ingestv1.IngestEvent, id string) *ingestv1.ObservationBody {
	t.Helper()
	for _, ev := range events {
		if ev.GetObservation().GetId() == id {
			return ev.GetObservation()
		}
	}
	t.Fatalf("no observation %q among %d events", id, len(events))
	return nil
}

// mergedTrace applies the read-time merge of docs/ARCHITECTURE.md to the
// trace events among events: each field from the newest (event_ts,
// event_id) event that set it, tags united, metadata merged per key.
func mergedTrace(events []*ingestv1.IngestEvent) *ingestv1.TraceBody {
	var traces []*ingestv1.IngestEvent
	for _, ev := range events {
		if ev.GetTrace() != nil {
			traces = append(traces, ev)
		}
	}
	slices.SortStableFunc(traces, func(a, b *ingestv1.IngestEvent) int {
		if c := a.GetTimestamp().AsTime().Compare(b.GetTimestamp().AsTime()); c != 0 {
			return c
		}
		return strings.Compare(a.GetId(), b.GetId())
	})
	out := &ingestv1.TraceBody{Metadata: map[string]string{}}
	for _, ev := range traces { // oldest first: newer ones overwrite
		b := ev.GetTrace()
		out.Id = b.GetId()
		for _, f := range []struct{ dst, src **string }{
			{&out.Name, &b.Name}, {&out.UserId, &b.UserId}, {&out.SessionId, &b.SessionId},
			{&out.Environment, &b.Environment}, {&out.Release, &b.Release}, {&out.Version, &b.Version},
		} {
			if s := *f.src; s != nil && *s != "" {
				*f.dst = *f.src
			}
		}
		if b.Timestamp != nil {
			out.Timestamp = b.Timestamp
		}
		if b.Input != nil {
			out.Input = b.Input
		}
		if b.Output != nil {
			out.Output = b.Output
		}
		for _, tag := range b.GetTags() {
			if !slices.Contains(out.Tags, tag) {
				out.Tags = append(out.Tags, tag)
			}
		}
		for k, v := range b.GetMetadata() {
			out.Metadata[k] = v
		}
	}
	return out
}
