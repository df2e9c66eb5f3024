package eventrows_test

import (
	"errors"
	"reflect"
	"strings"
	"testing"

	collectortracev1 "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	tracev1 "go.opentelemetry.io/proto/otlp/trace/v1"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	ingestv1 "github.com/agenttrace/agenttrace/pkg/gen/agenttrace/ingest/v1"
	"github.com/agenttrace/agenttrace/services/worker/internal/eventrows"
)

func otlpSpan(mutate func(*tracev1.Span)) *tracev1.Span {
	s := &tracev1.Span{
		TraceId: []byte("0123456789abcdef"), SpanId: []byte("01234567"), Name: "root",
		StartTimeUnixNano: uint64(t0.UnixNano()), EndTimeUnixNano: uint64(t0.UnixNano()) + 1000,
	}
	if mutate != nil {
		mutate(s)
	}
	return s
}

func otlpBytes(t testing.TB, spans ...*tracev1.Span) []byte {
	t.Helper()
	raw, err := proto.Marshal(&collectortracev1.ExportTraceServiceRequest{ResourceSpans: []*tracev1.ResourceSpans{{
		ScopeSpans: []*tracev1.ScopeSpans{{Spans: spans}},
	}}})
	if err != nil {
		t.Fatal(err)
	}
	return raw
}

func TestDecodeExpandsOTLPRequests(t *testing.T) {
	env := &ingestv1.EventEnvelope{ProjectId: "proj-1", ReceivedAt: timestamppb.New(received),
		OtlpExportRequest: otlpBytes(t, otlpSpan(nil))}
	data, err := proto.Marshal(env)
	if err != nil {
		t.Fatal(err)
	}
	msg, err := eventrows.Decode(data)
	if err != nil {
		t.Fatalf("Decode: %v", err)
	}
	// One observation, and the root's two trace versions.
	if msg.Events != 3 || len(msg.Rows.Observations) != 1 || len(msg.Rows.Traces) != 2 {
		t.Fatalf("decoded %d events into %d observations and %d traces", msg.Events, len(msg.Rows.Observations), len(msg.Rows.Traces))
	}
	o := msg.Rows.Observations[0]
	if o.ProjectID != "proj-1" || o.TraceID != "30313233343536373839616263646566" || o.ID != "3031323334353637" ||
		o.Type != "SPAN" || o.StartTime != t0ns || o.EndTime != t0ns+1000 || o.EventTS != t0ns+1000 {
		t.Errorf("observation row = %+v", o)
	}
	again, err := eventrows.Decode(data)
	if err != nil || !reflect.DeepEqual(again.Rows, msg.Rows) {
		t.Errorf("decoding the same message again gave other rows (err %v)", err)
	}
}

func TestExpandOTLPRejects(t *testing.T) {
	tests := []struct {
		name string
		env  *ingestv1.EventEnvelope
		want string
	}{
		{"events beside the request", &ingestv1.EventEnvelope{ProjectId: "p", OtlpExportRequest: otlpBytes(t, otlpSpan(nil)),
			Events: []*ingestv1.IngestEvent{{Id: "ev"}}}, "both events and an OTLP export request"},
		{"corrupt request", &ingestv1.EventEnvelope{ProjectId: "p", OtlpExportRequest: []byte{0xff, 0xff}}, "otlp_export_request"},
		{"invalid span", &ingestv1.EventEnvelope{ProjectId: "p", OtlpExportRequest: otlpBytes(t,
			otlpSpan(func(s *tracev1.Span) { s.SpanId = nil }))}, "span_id must be 8 bytes"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := eventrows.ExpandOTLP(tt.env)
			if !errors.Is(err, eventrows.ErrUndecodable) || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("ExpandOTLP = %v, want ErrUndecodable mentioning %q", err, tt.want)
			}
		})
	}
}

func TestExpandOTLPLeavesNativeEnvelopesAlone(t *testing.T) {
	ev := &ingestv1.IngestEvent{Id: "ev"}
	env := &ingestv1.EventEnvelope{ProjectId: "p", Events: []*ingestv1.IngestEvent{ev}}
	if err := eventrows.ExpandOTLP(env); err != nil || len(env.Events) != 1 || env.Events[0] != ev {
		t.Fatalf("ExpandOTLP changed a native envelope: %v, %v", err, env.Events)
	}
}

func FuzzDecodeOTLPEnvelope(f *testing.F) {
	for _, spans := range [][]*tracev1.Span{
		{otlpSpan(nil)},
		{otlpSpan(nil), otlpSpan(func(s *tracev1.Span) { s.SpanId, s.ParentSpanId = []byte("76543210"), []byte("01234567") })},
		{otlpSpan(func(s *tracev1.Span) { s.Events = []*tracev1.Span_Event{{Name: "exception"}, {Name: "e"}} })},
	} {
		data, err := proto.Marshal(&ingestv1.EventEnvelope{ProjectId: "p", OtlpExportRequest: otlpBytes(f, spans...)})
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		msg, err := eventrows.Decode(data)
		if err != nil {
			if !errors.Is(err, eventrows.ErrUndecodable) {
				t.Fatalf("error %v is not ErrUndecodable", err)
			}
			return
		}
		if msg.Rows.Len() != msg.Events || msg.ProjectID == "" {
			t.Fatalf("decoded %d events into %d rows (project %q)", msg.Events, msg.Rows.Len(), msg.ProjectID)
		}
	})
}
