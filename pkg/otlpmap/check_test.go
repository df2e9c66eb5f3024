package otlpmap_test

import (
	"errors"
	"math"
	"regexp"
	"strings"
	"testing"
	"unicode/utf8"

	collectortracev1 "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	tracev1 "go.opentelemetry.io/proto/otlp/trace/v1"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"

	ingestv1 "github.com/agenttrace/agenttrace/pkg/gen/agenttrace/ingest/v1"
	"github.com/agenttrace/agenttrace/pkg/otlpmap"
)

func TestCheckSpan(t *testing.T) {
	tests := []struct {
		name   string
		mutate func(s *tracev1.Span)
		want   string // "" for valid
	}{
		{"valid root", func(*tracev1.Span) {}, ""},
		{"valid child", func(s *tracev1.Span) { s.ParentSpanId = spanID(9) }, ""},
		{"all-zero parent reads as none", func(s *tracev1.Span) { s.ParentSpanId = make([]byte, 8) }, ""},
		{"zero duration", func(s *tracev1.Span) { s.EndTimeUnixNano = s.StartTimeUnixNano }, ""},
		{"short trace id", func(s *tracev1.Span) { s.TraceId = s.TraceId[:8] }, "trace_id must be 16 bytes, got 8"},
		{"zero trace id", func(s *tracev1.Span) { s.TraceId = make([]byte, 16) }, "trace_id is all zero"},
		{"missing span id", func(s *tracev1.Span) { s.SpanId = nil }, "span_id must be 8 bytes, got 0"},
		{"zero span id", func(s *tracev1.Span) { s.SpanId = make([]byte, 8) }, "span_id is all zero"},
		{"odd parent id", func(s *tracev1.Span) { s.ParentSpanId = []byte{1} }, "parent_span_id must be empty or 8 bytes"},
		{"own parent", func(s *tracev1.Span) { s.ParentSpanId = s.SpanId }, "parent_span_id equals span_id"},
		{"no start", func(s *tracev1.Span) { s.StartTimeUnixNano = 0 }, "start_time_unix_nano is required"},
		{"start after 2262", func(s *tracev1.Span) { s.StartTimeUnixNano, s.EndTimeUnixNano = math.MaxUint64, math.MaxUint64 }, "before the year 2262"},
		{"end after 2262", func(s *tracev1.Span) { s.EndTimeUnixNano = math.MaxInt64 }, "before the year 2262"},
		{"end before start", func(s *tracev1.Span) { s.EndTimeUnixNano = s.StartTimeUnixNano - 1 }, "end_time_unix_nano is before"},
		{"no end (unfinished)", func(s *tracev1.Span) { s.EndTimeUnixNano = 0 }, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := rootSpan(nil)
			tt.mutate(s)
			err := otlpmap.CheckSpan(s)
			switch {
			case tt.want == "" && err != nil:
				t.Fatalf("CheckSpan = %v, want nil", err)
			case tt.want != "" && (!errors.Is(err, otlpmap.ErrInvalidSpan) || !strings.Contains(err.Error(), tt.want)):
				t.Fatalf("CheckSpan = %v, want ErrInvalidSpan containing %q", err, tt.want)
			}
		})
	}
}

func TestValid(t *testing.T) {
	bad := childSpan(2, 0, 0, nil)
	bad.SpanId = nil
	req := &collectortracev1.ExportTraceServiceRequest{ResourceSpans: []*tracev1.ResourceSpans{
		{ScopeSpans: []*tracev1.ScopeSpans{{Spans: []*tracev1.Span{rootSpan(nil), bad}}, {Spans: []*tracev1.Span{bad}}}},
		{ScopeSpans: []*tracev1.ScopeSpans{{Spans: []*tracev1.Span{bad}}}},
	}}
	before := proto.Clone(req)
	valid, errs := otlpmap.Valid(req)
	if !proto.Equal(req, before) {
		t.Error("Valid modified its argument")
	}
	if len(valid.GetResourceSpans()) != 1 || len(valid.GetResourceSpans()[0].GetScopeSpans()) != 1 ||
		len(valid.GetResourceSpans()[0].GetScopeSpans()[0].GetSpans()) != 1 {
		t.Errorf("valid request = %v, want only the root", valid)
	}
	want := []string{"resource_spans[0].scope_spans[0].spans[1]", "resource_spans[0].scope_spans[1].spans[0]", "resource_spans[1].scope_spans[0].spans[0]"}
	if len(errs) != len(want) {
		t.Fatalf("errors = %v", errs)
	}
	for i, e := range errs {
		if !strings.HasPrefix(e.Error(), want[i]+": invalid span: span_id") || !errors.Is(e, otlpmap.ErrInvalidSpan) {
			t.Errorf("error %d = %v", i, e)
		}
	}
	if none, errs := otlpmap.Valid(request(nil, bad)); none != nil || len(errs) != 1 {
		t.Errorf("all invalid: %v, %v", none, errs)
	}
}

var (
	hexID       = regexp.MustCompile(`^[0-9a-f]{16}(-[0-9]+)?$`)
	hexTraceID  = regexp.MustCompile(`^[0-9a-f]{32}$`)
	maxNanosAll = uint64(math.MaxInt64/1_000_000_000-1)*1_000_000_000 + 999_999_999
)

// checkEvents asserts what every mapped event guarantees: well-formed ids,
// in-range times with ends not before starts, valid UTF-8, values that
// render as JSON, and events that marshal.
func checkEvents(t *testing.T, events []*ingestv1.IngestEvent) {
	t.Helper()
	for _, ev := range events {
		if !strings.HasPrefix(ev.GetId(), "otlp:") || len(ev.GetId()) > 256 || ev.GetTimestamp().CheckValid() != nil {
			t.Fatalf("bad event id or timestamp: %v", ev)
		}
		if _, err := proto.Marshal(ev); err != nil {
			t.Fatalf("event does not marshal: %v", err)
		}
		if _, err := protojson.Marshal(ev); err != nil {
			t.Fatalf("event does not render as JSON: %v", err)
		}
		if n := uint64(ev.GetTimestamp().AsTime().UnixNano()); n == 0 || n > maxNanosAll {
			t.Fatalf("event timestamp out of range: %v", ev)
		}
		switch {
		case ev.GetObservation() != nil:
			o := ev.GetObservation()
			if !hexID.MatchString(o.GetId()) || !hexTraceID.MatchString(o.GetTraceId()) || o.GetParentObservationId() == o.GetId() ||
				(o.ParentObservationId != nil && !hexID.MatchString(o.GetParentObservationId())) {
				t.Fatalf("bad observation ids: %v", o)
			}
			if o.GetStartTime() == nil || o.GetEndTime().AsTime().Before(o.GetStartTime().AsTime()) ||
				(o.GetCompletionStartTime() != nil && o.GetCompletionStartTime().AsTime().Before(o.GetStartTime().AsTime())) {
				t.Fatalf("bad observation times: %v", o)
			}
			if !utf8.ValidString(o.GetName()) || len(o.GetName()) > 1024 || len(o.GetModel()) > 1024 {
				t.Fatalf("bad observation strings: %v", o)
			}
			for k, v := range o.GetMetadata() {
				if !utf8.ValidString(k) || !utf8.ValidString(v) || len(k) > 1024 || len(v) > 64<<10 {
					t.Fatalf("bad metadata entry %q", k)
				}
			}
		case ev.GetTrace() != nil:
			b := ev.GetTrace()
			if !hexTraceID.MatchString(b.GetId()) || len(b.GetUserId()) > 256 || len(b.GetSessionId()) > 256 || len(b.GetTags()) > 100 {
				t.Fatalf("bad trace: %v", b)
			}
		default:
			t.Fatalf("event without a body: %v", ev)
		}
	}
}

func TestFixturesKeepTheGuarantees(t *testing.T) {
	inputs, _ := filepathGlob(t)
	for _, in := range inputs {
		checkEvents(t, mapOK(t, loadRequest(t, in)))
	}
}

// FuzzMap feeds arbitrary export requests to Map: it never panics, and
// what it accepts keeps the guarantees of checkEvents.
func FuzzMap(f *testing.F) {
	inputs, _ := filepathGlob(f)
	for _, in := range inputs {
		raw, err := proto.Marshal(loadRequest(f, in))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(raw)
	}
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, data []byte) {
		var req collectortracev1.ExportTraceServiceRequest
		if proto.Unmarshal(data, &req) != nil {
			return
		}
		events, err := otlpmap.Map(&req)
		if err != nil {
			if !errors.Is(err, otlpmap.ErrInvalidSpan) {
				t.Fatalf("Map error %v is not ErrInvalidSpan", err)
			}
			return
		}
		checkEvents(t, events)
	})
}
