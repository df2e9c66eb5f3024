package otlpingest

import (
	"encoding/hex"
	"slices"
	"strings"
	"testing"

	coltracepb "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	commonpb "go.opentelemetry.io/proto/otlp/common/v1"
	resourcepb "go.opentelemetry.io/proto/otlp/resource/v1"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"
)

func spanKey(s *tracepb.Span) string {
	return hex.EncodeToString(s.GetTraceId()) + ":" + hex.EncodeToString(s.GetSpanId())
}

// keysOfRefs lists the keys of spans.
func keysOfRefs(spans []SpanRef) []string {
	var keys []string
	for _, r := range spans {
		keys = append(keys, r.Key())
	}
	return keys
}

// keysOf lists the keys of req's spans in request order.
func keysOf(req *coltracepb.ExportTraceServiceRequest) []string {
	var keys []string
	for _, rs := range req.GetResourceSpans() {
		for _, ss := range rs.GetScopeSpans() {
			for _, s := range ss.GetSpans() {
				keys = append(keys, spanKey(s))
			}
		}
	}
	return keys
}

// fullSpan sets every field of the schema the way SDKs fill them.
func fullSpan(n byte) *tracepb.Span {
	s := goodSpan(n)
	s.ParentSpanId = spanID
	s.TraceState = "vendor=1"
	s.Flags = 0x301
	s.Kind = tracepb.Span_SPAN_KIND_CLIENT
	s.DroppedAttributesCount, s.DroppedEventsCount, s.DroppedLinksCount = 1, 2, 3
	s.Attributes = append(s.Attributes,
		&commonpb.KeyValue{Key: "b", Value: &commonpb.AnyValue{Value: &commonpb.AnyValue_BoolValue{BoolValue: true}}},
		&commonpb.KeyValue{Key: "i", Value: &commonpb.AnyValue{Value: &commonpb.AnyValue_IntValue{IntValue: -7}}},
		&commonpb.KeyValue{Key: "d", Value: &commonpb.AnyValue{Value: &commonpb.AnyValue_DoubleValue{DoubleValue: 0.5}}},
		&commonpb.KeyValue{Key: "raw", Value: &commonpb.AnyValue{Value: &commonpb.AnyValue_BytesValue{BytesValue: []byte{0xff, 0}}}},
		&commonpb.KeyValue{Key: "empty"},
		&commonpb.KeyValue{Key: "map", Value: &commonpb.AnyValue{Value: &commonpb.AnyValue_KvlistValue{KvlistValue: &commonpb.KeyValueList{
			Values: []*commonpb.KeyValue{str("role", "user"), {Key: "parts", Value: nested(3)}},
		}}}},
		&commonpb.KeyValue{Key: "nil array", Value: &commonpb.AnyValue{Value: &commonpb.AnyValue_ArrayValue{ArrayValue: &commonpb.ArrayValue{}}}},
	)
	s.Events = []*tracepb.Span_Event{{TimeUnixNano: 1, Name: "exception", Attributes: []*commonpb.KeyValue{str("exception.message", "boom")}, DroppedAttributesCount: 1}}
	s.Links = []*tracepb.Span_Link{{TraceId: traceID, SpanId: spanID, TraceState: "x=y", Attributes: []*commonpb.KeyValue{str("k", "v")}, DroppedAttributesCount: 1, Flags: 1}}
	s.Status = &tracepb.Status{Code: tracepb.Status_STATUS_CODE_ERROR, Message: "failed"}
	return s
}

// fullRequest holds full spans under two resources and scopes with every
// field set.
func fullRequest() *coltracepb.ExportTraceServiceRequest {
	scope := &commonpb.InstrumentationScope{Name: "sdk", Version: "1.0", Attributes: []*commonpb.KeyValue{str("k", "v")}, DroppedAttributesCount: 1}
	return &coltracepb.ExportTraceServiceRequest{ResourceSpans: []*tracepb.ResourceSpans{
		{
			Resource:   &resourcepb.Resource{Attributes: []*commonpb.KeyValue{str("service.name", "agent")}, DroppedAttributesCount: 1},
			ScopeSpans: []*tracepb.ScopeSpans{{Scope: scope, Spans: []*tracepb.Span{fullSpan(1), fullSpan(2)}, SchemaUrl: "s"}, {Spans: []*tracepb.Span{goodSpan(3)}}},
			SchemaUrl:  "https://opentelemetry.io/schemas/1.26.0",
		},
		{ScopeSpans: []*tracepb.ScopeSpans{{Scope: scope, Spans: []*tracepb.Span{fullSpan(4)}}}},
	}}
}

func TestScanVouchesForValidRequests(t *testing.T) {
	for name, req := range map[string]*coltracepb.ExportTraceServiceRequest{
		"every field set": fullRequest(),
		"one span":        request(goodSpan(1)),
		"no spans":        {ResourceSpans: []*tracepb.ResourceSpans{{ScopeSpans: []*tracepb.ScopeSpans{{}}}}},
		"empty":           {},
	} {
		t.Run(name, func(t *testing.T) {
			raw, err := proto.Marshal(req)
			if err != nil {
				t.Fatal(err)
			}
			spans, ok := Scan(raw, DefaultLimits())
			if !ok || !slices.Equal(keysOfRefs(spans), keysOf(req)) {
				t.Errorf("Scan = %v, %v; want %v, true", keysOfRefs(spans), ok, keysOf(req))
			}
		})
	}
}

// field appends a length-delimited field.
func withField(b []byte, num protowire.Number, val []byte) []byte {
	return protowire.AppendBytes(protowire.AppendTag(b, num, protowire.BytesType), val)
}

// inSpan is a request of one span whose encoding is the valid span's with
// extra appended.
func inSpan(t *testing.T, extra []byte) []byte {
	t.Helper()
	span, err := proto.Marshal(goodSpan(1))
	if err != nil {
		t.Fatal(err)
	}
	return withField(nil, 1, withField(nil, 2, withField(nil, 2, append(span, extra...))))
}

func TestScanLeavesUnusualEncodingsToTheDecoder(t *testing.T) {
	valid, err := proto.Marshal(fullRequest())
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name        string
		raw         []byte
		undecodable bool // proto.Unmarshal refuses it too
	}{
		{"a field of a newer schema", inSpan(t, protowire.AppendVarint(protowire.AppendTag(nil, 99, protowire.VarintType), 1)), false},
		{"trace id twice (the last wins)", inSpan(t, withField(nil, 1, traceID)), false},
		{"name twice", inSpan(t, withField(nil, 5, []byte("other"))), false},
		{"start time as a varint (read as unknown)", inSpan(t, protowire.AppendVarint(protowire.AppendTag(nil, 7, protowire.VarintType), 1)), false},
		{"a value holding two kinds", inSpan(t, withField(nil, 9, withField(withField(nil, 1, []byte("k")), 2,
			protowire.AppendVarint(protowire.AppendTag(withField(nil, 1, []byte("s")), 3, protowire.VarintType), 1)))), false},
		{"a group", inSpan(t, protowire.AppendTag(protowire.AppendTag(nil, 50, protowire.StartGroupType), 50, protowire.EndGroupType)), false},
		{"invalid UTF-8 in a name", inSpan(t, withField(nil, 3, []byte{0xff})), true},
		{"invalid UTF-8 in an attribute", inSpan(t, withField(nil, 9, withField(nil, 1, []byte{0xc3}))), true},
		{"truncated", valid[:len(valid)-3], true},
		{"a length past the end", withField(nil, 1, nil)[:1], true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if keys, ok := Scan(tt.raw, DefaultLimits()); ok {
				t.Errorf("Scan vouched for it: %v", keys)
			}
			if err := proto.Unmarshal(tt.raw, &coltracepb.ExportTraceServiceRequest{}); (err != nil) != tt.undecodable {
				t.Errorf("proto.Unmarshal = %v, want an error: %v (the case is not what it says)", err, tt.undecodable)
			}
		})
	}
}

func TestScanBoundsNestingWhateverTheLimits(t *testing.T) {
	lim := DefaultLimits()
	lim.MaxValueDepth = 1 << 20
	s := goodSpan(1)
	s.Attributes = []*commonpb.KeyValue{{Key: "deep", Value: nested(maxScanDepth + 1)}}
	raw, err := proto.Marshal(request(s))
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := Scan(raw, lim); ok {
		t.Error("Scan followed a value nested deeper than maxScanDepth")
	}
}

// FuzzScan: whenever Scan vouches for bytes, they decode, Validate accepts
// every span of them and the keys are the spans'.
func FuzzScan(f *testing.F) {
	lim := DefaultLimits()
	lim.MaxSpanBytes = 2048
	lim.MaxAttributes = 8
	lim.MaxValueDepth = 4
	lim.MaxNameBytes = 16
	for _, req := range []*coltracepb.ExportTraceServiceRequest{fullRequest(), request(goodSpan(1), goodSpan(2))} {
		raw, err := proto.Marshal(req)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(raw)
	}
	big := goodSpan(1)
	big.Attributes = []*commonpb.KeyValue{str("input.value", strings.Repeat("x", 2000))}
	raw, err := proto.Marshal(request(big))
	if err != nil {
		f.Fatal(err)
	}
	f.Add(raw)
	f.Fuzz(func(t *testing.T, raw []byte) {
		spans, ok := Scan(raw, lim)
		if !ok {
			return
		}
		req := &coltracepb.ExportTraceServiceRequest{}
		if err := proto.Unmarshal(raw, req); err != nil {
			t.Fatalf("Scan vouched for bytes that do not decode: %v", err)
		}
		checked := Validate(req, lim)
		if len(checked.Rejections) > 0 {
			t.Fatalf("Scan vouched for a request Validate rejects: %v", checked.Rejections)
		}
		if !slices.Equal(keysOfRefs(spans), keysOf(req)) {
			t.Fatalf("keys %v, want %v", keysOfRefs(spans), keysOf(req))
		}
	})
}
