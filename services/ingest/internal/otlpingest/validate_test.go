package otlpingest

import (
	"strings"
	"testing"

	coltracepb "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	commonpb "go.opentelemetry.io/proto/otlp/common/v1"
	resourcepb "go.opentelemetry.io/proto/otlp/resource/v1"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
	"google.golang.org/protobuf/proto"
)

var (
	traceID = []byte{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16}
	spanID  = []byte{1, 2, 3, 4, 5, 6, 7, 8}
)

// goodSpan is a valid span whose span id ends in n.
func goodSpan(n byte) *tracepb.Span {
	return &tracepb.Span{
		TraceId:           traceID,
		SpanId:            []byte{1, 2, 3, 4, 5, 6, 7, n},
		Name:              "llm call",
		StartTimeUnixNano: 1_700_000_000_000_000_000,
		EndTimeUnixNano:   1_700_000_001_000_000_000,
		Attributes:        []*commonpb.KeyValue{str("gen_ai.request.model", "gpt-4o")},
	}
}

func str(k, v string) *commonpb.KeyValue {
	return &commonpb.KeyValue{Key: k, Value: &commonpb.AnyValue{Value: &commonpb.AnyValue_StringValue{StringValue: v}}}
}

func request(spans ...*tracepb.Span) *coltracepb.ExportTraceServiceRequest {
	return &coltracepb.ExportTraceServiceRequest{ResourceSpans: []*tracepb.ResourceSpans{{
		Resource:   &resourcepb.Resource{Attributes: []*commonpb.KeyValue{str("service.name", "agent")}},
		ScopeSpans: []*tracepb.ScopeSpans{{Scope: &commonpb.InstrumentationScope{Name: "sdk"}, Spans: spans}},
	}}}
}

// nested is a value nested depth levels deep in arrays.
func nested(depth int) *commonpb.AnyValue {
	v := &commonpb.AnyValue{Value: &commonpb.AnyValue_IntValue{IntValue: 1}}
	for range depth {
		v = &commonpb.AnyValue{Value: &commonpb.AnyValue_ArrayValue{ArrayValue: &commonpb.ArrayValue{Values: []*commonpb.AnyValue{v}}}}
	}
	return v
}

func TestCheckSpan(t *testing.T) {
	lim := DefaultLimits()
	lim.MaxSpanBytes = 4096
	many := make([]*commonpb.KeyValue, lim.MaxAttributes+1)
	for i := range many {
		many[i] = str("k", "v")
	}
	tests := []struct {
		name   string
		mutate func(*tracepb.Span)
		want   string // substring of the reason; "" for valid
	}{
		{"valid", func(*tracepb.Span) {}, ""},
		{"root with empty parent", func(s *tracepb.Span) { s.ParentSpanId = nil }, ""},
		{"child", func(s *tracepb.Span) { s.ParentSpanId = spanID }, ""},
		{"unfinished", func(s *tracepb.Span) { s.EndTimeUnixNano = 0 }, ""},
		{"zero duration", func(s *tracepb.Span) { s.EndTimeUnixNano = s.StartTimeUnixNano }, ""},
		{"empty name", func(s *tracepb.Span) { s.Name = "" }, ""},
		{"nested value at the limit", func(s *tracepb.Span) {
			s.Attributes = []*commonpb.KeyValue{{Key: "deep", Value: nested(lim.MaxValueDepth - 1)}}
		}, ""},
		{"short trace id", func(s *tracepb.Span) { s.TraceId = traceID[:15] }, "trace_id: must be 16 bytes, got 15"},
		{"missing trace id", func(s *tracepb.Span) { s.TraceId = nil }, "trace_id: must be 16 bytes, got 0"},
		{"zero trace id", func(s *tracepb.Span) { s.TraceId = make([]byte, 16) }, "trace_id: must not be all zero"},
		{"long span id", func(s *tracepb.Span) { s.SpanId = traceID }, "span_id: must be 8 bytes, got 16"},
		{"zero span id", func(s *tracepb.Span) { s.SpanId = make([]byte, 8) }, "span_id: must not be all zero"},
		{"bad parent", func(s *tracepb.Span) { s.ParentSpanId = []byte{1} }, "parent_span_id: must be 8 bytes, got 1 (or empty"},
		{"zero parent means root", func(s *tracepb.Span) { s.ParentSpanId = make([]byte, 8) }, ""},
		{"own parent", func(s *tracepb.Span) { s.ParentSpanId = s.SpanId }, "parent_span_id equals span_id"},
		{"after 2262", func(s *tracepb.Span) { s.EndTimeUnixNano = 1 << 63 }, "before the year 2262"},
		{"no start", func(s *tracepb.Span) { s.StartTimeUnixNano = 0 }, "start_time_unix_nano: must be set"},
		{"end before start", func(s *tracepb.Span) { s.EndTimeUnixNano = s.StartTimeUnixNano - 1 }, "end_time_unix_nano: 1699999999999999999 is before"},
		{"long name", func(s *tracepb.Span) { s.Name = strings.Repeat("n", lim.MaxNameBytes+1) }, "name: 1025 bytes"},
		{"too many attributes", func(s *tracepb.Span) { s.Attributes = many }, "attributes: 1025 attributes"},
		{"empty key", func(s *tracepb.Span) { s.Attributes = append(s.Attributes, str("", "v")) }, "attributes[1].key: must not be empty"},
		{"long key", func(s *tracepb.Span) { s.Attributes = []*commonpb.KeyValue{str(strings.Repeat("k", 257), "v")} }, "attributes[0].key: 257 bytes"},
		{"too deep", func(s *tracepb.Span) {
			s.Attributes = []*commonpb.KeyValue{{Key: "deep", Value: nested(lim.MaxValueDepth)}}
		}, "attributes[0].value[0][0]"},
		{"bad key in a kvlist value", func(s *tracepb.Span) {
			s.Attributes = []*commonpb.KeyValue{{Key: "map", Value: &commonpb.AnyValue{Value: &commonpb.AnyValue_KvlistValue{
				KvlistValue: &commonpb.KeyValueList{Values: []*commonpb.KeyValue{str("ok", "v"), str("", "v")}},
			}}}}
		}, "attributes[0].value[1].key: must not be empty"},
		{"too many array values", func(s *tracepb.Span) {
			vals := make([]*commonpb.AnyValue, lim.MaxAttributes+1)
			s.Attributes = []*commonpb.KeyValue{{Key: "arr", Value: &commonpb.AnyValue{Value: &commonpb.AnyValue_ArrayValue{ArrayValue: &commonpb.ArrayValue{Values: vals}}}}}
		}, "attributes[0].value: 1025 array values"},
		{"too many events", func(s *tracepb.Span) { s.Events = make([]*tracepb.Span_Event, lim.MaxEvents+1) }, "events: 1025 events"},
		{"long event name", func(s *tracepb.Span) {
			s.Events = []*tracepb.Span_Event{{Name: "ok"}, {Name: strings.Repeat("e", lim.MaxNameBytes+1)}}
		}, "events[1].name: 1025 bytes"},
		{"bad event attribute", func(s *tracepb.Span) {
			s.Events = []*tracepb.Span_Event{{Name: "exception", Attributes: []*commonpb.KeyValue{str("", "x")}}}
		}, "events[0].attributes[0].key"},
		{"too many links", func(s *tracepb.Span) { s.Links = make([]*tracepb.Span_Link, lim.MaxLinks+1) }, "links: 1025 links"},
		{"bad link trace id", func(s *tracepb.Span) { s.Links = []*tracepb.Span_Link{{TraceId: []byte{1}, SpanId: spanID}} }, "links[0].trace_id: must be 16 bytes"},
		{"zero link span id", func(s *tracepb.Span) { s.Links = []*tracepb.Span_Link{{TraceId: traceID, SpanId: make([]byte, 8)}} }, "links[0].span_id: must not be all zero"},
		{"bad link attribute", func(s *tracepb.Span) {
			s.Links = []*tracepb.Span_Link{{TraceId: traceID, SpanId: spanID, Attributes: []*commonpb.KeyValue{str("", "")}}}
		}, "links[0].attributes[0].key"},
		{"too big", func(s *tracepb.Span) {
			s.Attributes = []*commonpb.KeyValue{str("input.value", strings.Repeat("x", 4096))}
		}, "span: encodes to"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := goodSpan(1)
			tt.mutate(s)
			// Scan vouches for the span exactly when Validate accepts it.
			raw, err := proto.Marshal(request(s))
			if err != nil {
				t.Fatal(err)
			}
			if keys, ok := Scan(raw, lim); ok != (tt.want == "") || (ok && keys[0].Key() != spanKey(s)) {
				t.Errorf("Scan = %v, %v", keys, ok)
			}
			got := checkSpan(s, 0, lim)
			if tt.want == "" && got != "" {
				t.Errorf("rejected: %s", got)
			}
			if tt.want != "" && !strings.Contains(got, tt.want) {
				t.Errorf("reason %q, want it to contain %q", got, tt.want)
			}
		})
	}
	zeroParent := goodSpan(1)
	zeroParent.ParentSpanId = make([]byte, 8)
	if checkSpan(zeroParent, 0, lim) != "" || zeroParent.ParentSpanId != nil {
		t.Errorf("an all-zero parent was not cleared: %x", zeroParent.ParentSpanId)
	}
	if got := checkSpan(nil, 0, lim); got != "span is empty" {
		t.Errorf("nil span: %q", got)
	}
}

func TestValidateKeepsValidSpansInTheirGroups(t *testing.T) {
	bad := goodSpan(9)
	bad.TraceId = nil
	res2 := &resourcepb.Resource{Attributes: []*commonpb.KeyValue{str("service.name", "tool")}}
	req := &coltracepb.ExportTraceServiceRequest{ResourceSpans: []*tracepb.ResourceSpans{
		{
			Resource: &resourcepb.Resource{Attributes: []*commonpb.KeyValue{str("service.name", "agent")}},
			ScopeSpans: []*tracepb.ScopeSpans{
				{Scope: &commonpb.InstrumentationScope{Name: "a"}, Spans: []*tracepb.Span{goodSpan(1), bad, goodSpan(2)}},
				{Scope: &commonpb.InstrumentationScope{Name: "only-bad"}, Spans: []*tracepb.Span{bad}},
			},
			SchemaUrl: "https://opentelemetry.io/schemas/1.26.0",
		},
		{Resource: res2, ScopeSpans: []*tracepb.ScopeSpans{{Scope: &commonpb.InstrumentationScope{Name: "b"}, Spans: []*tracepb.Span{goodSpan(3)}}}},
		{ // a resource that is itself invalid rejects its spans
			Resource:   &resourcepb.Resource{Attributes: []*commonpb.KeyValue{str("", "x")}},
			ScopeSpans: []*tracepb.ScopeSpans{{Spans: []*tracepb.Span{goodSpan(4)}}},
		},
		{ // as does an invalid scope
			Resource:   res2,
			ScopeSpans: []*tracepb.ScopeSpans{{Scope: &commonpb.InstrumentationScope{Name: strings.Repeat("s", 2000)}, Spans: []*tracepb.Span{goodSpan(5)}}},
		},
	}}
	before := proto.Clone(req)

	got := Validate(req, DefaultLimits())

	if !proto.Equal(req, before) {
		t.Error("Validate modified the request")
	}
	if got.Accepted != 3 || len(got.Rejections) != 4 {
		t.Fatalf("accepted %d, rejected %v", got.Accepted, got.Rejections)
	}
	wantRejections := []string{
		"resource_spans[0].scope_spans[0].spans[1]: trace_id: must be 16 bytes, got 0",
		"resource_spans[0].scope_spans[1].spans[0]: trace_id: must be 16 bytes, got 0",
		"resource_spans[2].scope_spans[0].spans[0]: resource.attributes[0].key: must not be empty",
		"resource_spans[3].scope_spans[0].spans[0]: scope.name: 2000 bytes, at most 1024 allowed",
	}
	for i, w := range wantRejections {
		if got.Rejections[i].String() != w {
			t.Errorf("rejection %d = %q, want %q", i, got.Rejections[i], w)
		}
	}
	want := &coltracepb.ExportTraceServiceRequest{ResourceSpans: []*tracepb.ResourceSpans{
		{
			Resource:   req.ResourceSpans[0].Resource,
			ScopeSpans: []*tracepb.ScopeSpans{{Scope: &commonpb.InstrumentationScope{Name: "a"}, Spans: []*tracepb.Span{goodSpan(1), goodSpan(2)}}},
			SchemaUrl:  "https://opentelemetry.io/schemas/1.26.0",
		},
		{Resource: res2, ScopeSpans: []*tracepb.ScopeSpans{{Scope: &commonpb.InstrumentationScope{Name: "b"}, Spans: []*tracepb.Span{goodSpan(3)}}}},
	}}
	if !proto.Equal(got.Valid, want) {
		t.Errorf("valid spans:\n got %v\nwant %v", got.Valid, want)
	}
}

func TestValidateAllValidReturnsTheRequest(t *testing.T) {
	req := request(goodSpan(1), goodSpan(2))
	got := Validate(req, DefaultLimits())
	if got.Valid != req || got.Accepted != 2 || len(got.Rejections) != 0 {
		t.Errorf("got %+v", got)
	}
	empty := Validate(&coltracepb.ExportTraceServiceRequest{}, DefaultLimits())
	if empty.Accepted != 0 || len(empty.Rejections) != 0 {
		t.Errorf("empty request: %+v", empty)
	}
}

func TestValidateNilEntries(t *testing.T) {
	req := &coltracepb.ExportTraceServiceRequest{ResourceSpans: []*tracepb.ResourceSpans{
		nil,
		{ScopeSpans: []*tracepb.ScopeSpans{nil, {Spans: []*tracepb.Span{nil, goodSpan(1)}}}},
	}}
	got := Validate(req, DefaultLimits())
	if got.Accepted != 1 || len(got.Rejections) != 1 || got.Rejections[0].Reason != "span is empty" {
		t.Errorf("got %+v", got)
	}
	if n := len(got.Valid.GetResourceSpans()); n != 1 {
		t.Errorf("valid request has %d resource groups, want 1", n)
	}
}

func TestSummarize(t *testing.T) {
	var rs []Rejection
	for i := range 7 {
		rs = append(rs, Rejection{Span: "s" + string(rune('0'+i)), Reason: "bad"})
	}
	tests := []struct {
		name string
		in   []Rejection
		want string
	}{
		{"none", nil, ""},
		{"one", rs[:1], "rejected 1 of 4 spans; s0: bad"},
		{"many", rs, "rejected 7 of 10 spans; s0: bad; s1: bad; s2: bad; s3: bad; s4: bad; and 2 more"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := summarize(tt.in, 3); got != tt.want {
				t.Errorf("summarize = %q, want %q", got, tt.want)
			}
		})
	}
}

// FuzzValidate feeds arbitrary encoded requests to Validate: it must not
// panic, must account for every span once, and must keep only spans that
// pass the checks on their own.
func FuzzValidate(f *testing.F) {
	bad := goodSpan(2)
	bad.EndTimeUnixNano = 1
	for _, req := range []*coltracepb.ExportTraceServiceRequest{
		{},
		request(goodSpan(1)),
		request(goodSpan(1), bad, nil),
		{ResourceSpans: []*tracepb.ResourceSpans{nil, {ScopeSpans: []*tracepb.ScopeSpans{nil}}}},
	} {
		b, err := proto.Marshal(req)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	lim := DefaultLimits()
	lim.MaxAttributes, lim.MaxEvents, lim.MaxLinks, lim.MaxValueDepth, lim.MaxSpanBytes = 4, 2, 2, 3, 512
	f.Fuzz(func(t *testing.T, data []byte) {
		req := &coltracepb.ExportTraceServiceRequest{}
		if proto.Unmarshal(data, req) != nil {
			return
		}
		total := 0
		for _, rs := range req.GetResourceSpans() {
			for _, ss := range rs.GetScopeSpans() {
				total += len(ss.GetSpans())
			}
		}
		got := Validate(req, lim)
		if got.Accepted+len(got.Rejections) != total {
			t.Fatalf("accepted %d + rejected %d != %d spans", got.Accepted, len(got.Rejections), total)
		}
		kept := 0
		for _, rs := range got.Valid.GetResourceSpans() {
			for _, ss := range rs.GetScopeSpans() {
				for _, s := range ss.GetSpans() {
					kept++
					if r := checkSpan(s, 0, lim); r != "" {
						t.Fatalf("kept an invalid span: %s", r)
					}
				}
			}
		}
		if kept != got.Accepted {
			t.Fatalf("kept %d spans, accepted %d", kept, got.Accepted)
		}
	})
}
