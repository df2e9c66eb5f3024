package publisher

import (
	"bytes"
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	coltracepb "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	commonpb "go.opentelemetry.io/proto/otlp/common/v1"
	resourcepb "go.opentelemetry.io/proto/otlp/resource/v1"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	ingestv1 "github.com/agenttrace/agenttrace/pkg/gen/agenttrace/ingest/v1"
	"github.com/agenttrace/agenttrace/pkg/stream"
	"github.com/agenttrace/agenttrace/services/ingest/internal/otlpingest"
)

// otlpSpan is a span with a unique id (n) and attrBytes of attribute.
func otlpSpan(n int, attrBytes int) *tracepb.Span {
	return &tracepb.Span{
		TraceId:           []byte{0xaa, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15},
		SpanId:            []byte{0xbb, 0, 0, 0, byte(n >> 24), byte(n >> 16), byte(n >> 8), byte(n)},
		Name:              fmt.Sprintf("span %d", n),
		StartTimeUnixNano: 1,
		Attributes: []*commonpb.KeyValue{{Key: "input.value", Value: &commonpb.AnyValue{
			Value: &commonpb.AnyValue_StringValue{StringValue: strings.Repeat("x", attrBytes)},
		}}},
	}
}

// exportOf builds a request of groups resources × scopes, each scope
// holding perScope spans, numbered in order.
func exportOf(resources, scopes, perScope, attrBytes int) *coltracepb.ExportTraceServiceRequest {
	req := &coltracepb.ExportTraceServiceRequest{}
	n := 0
	for r := range resources {
		rs := &tracepb.ResourceSpans{
			Resource: &resourcepb.Resource{Attributes: []*commonpb.KeyValue{{Key: "service.name", Value: &commonpb.AnyValue{
				Value: &commonpb.AnyValue_StringValue{StringValue: fmt.Sprintf("svc-%d", r)},
			}}}},
			SchemaUrl: "https://opentelemetry.io/schemas/1.26.0",
		}
		for s := range scopes {
			ss := &tracepb.ScopeSpans{Scope: &commonpb.InstrumentationScope{Name: fmt.Sprintf("scope-%d-%d", r, s)}}
			for range perScope {
				ss.Spans = append(ss.Spans, otlpSpan(n, attrBytes))
				n++
			}
			rs.ScopeSpans = append(rs.ScopeSpans, ss)
		}
		req.ResourceSpans = append(req.ResourceSpans, rs)
	}
	return req
}

// flatSpan is a span seen with the resource and scope it came under.
type flatSpan struct {
	resource, scope string
	span            *tracepb.Span
}

func flatten(req *coltracepb.ExportTraceServiceRequest) []flatSpan {
	var out []flatSpan
	for _, rs := range req.GetResourceSpans() {
		for _, ss := range rs.GetScopeSpans() {
			for _, s := range ss.GetSpans() {
				out = append(out, flatSpan{
					resource: rs.GetResource().String() + rs.GetSchemaUrl(),
					scope:    ss.GetScope().GetName(),
					span:     s,
				})
			}
		}
	}
	return out
}

// keysOf lists the keys of req's spans, "<trace id hex>:<span id hex>".
func keysOf(req *coltracepb.ExportTraceServiceRequest) []string {
	var keys []string
	for _, f := range flatten(req) {
		keys = append(keys, hex.EncodeToString(f.span.GetTraceId())+":"+hex.EncodeToString(f.span.GetSpanId()))
	}
	return keys
}

func keysOfRefs(spans []otlpingest.SpanRef) []string {
	var keys []string
	for _, r := range spans {
		keys = append(keys, r.Key())
	}
	return keys
}

func TestSpanRefKey(t *testing.T) {
	if got := otlpingest.RefOf(otlpSpan(258, 0)).Key(); got != "aa0102030405060708090a0b0c0d0e0f:bb00000000000102" {
		t.Errorf("Key = %q", got)
	}
}

// messageID is stream.MessageID of the keys, whatever their order and
// repetitions.
func TestMessageIDIsStreams(t *testing.T) {
	var spans []otlpingest.SpanRef
	for i := range 200 {
		var r otlpingest.SpanRef
		for j := range r {
			r[j] = byte((i*7919 + j*31) % 251)
		}
		spans = append(spans, r)
		if i%50 == 0 {
			spans = append(spans, r) // a repeated span
		}
	}
	for _, n := range []int{1, 2, len(spans)} {
		if got, want := messageID("proj", spans[:n]), stream.MessageID("proj", keysOfRefs(spans[:n])); got != want {
			t.Errorf("%d spans: messageID = %q, stream.MessageID = %q", n, got, want)
		}
	}
}

func TestSplitExport(t *testing.T) {
	const base = 40
	tests := []struct {
		name      string
		req       *coltracepb.ExportTraceServiceRequest
		budget    int
		wantParts int // 0: more than one, any number
	}{
		{"fits whole", exportOf(2, 2, 3, 10), 1 << 20, 1},
		{"empty", &coltracepb.ExportTraceServiceRequest{}, 1 << 20, -1},
		{"groups without spans", &coltracepb.ExportTraceServiceRequest{ResourceSpans: []*tracepb.ResourceSpans{{ScopeSpans: []*tracepb.ScopeSpans{{}}}}}, 1 << 20, -1},
		{"one span per part", exportOf(1, 1, 4, 1000), 1300, 4},
		{"split across scopes and resources", exportOf(3, 2, 5, 300), 2000, 0},
		{"split within a huge group", exportOf(1, 1, 40, 100), 1000, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			parts, err := splitExport(otlpingest.Export{Req: tt.req}, base, tt.budget)
			if err != nil {
				t.Fatal(err)
			}
			switch {
			case tt.wantParts == -1 && len(parts) != 0:
				t.Fatalf("%d parts for a request without spans", len(parts))
			case tt.wantParts > 0 && len(parts) != tt.wantParts:
				t.Fatalf("%d parts, want %d", len(parts), tt.wantParts)
			case tt.wantParts == 0 && len(parts) < 2:
				t.Fatalf("%d parts, want a split", len(parts))
			}
			var got []flatSpan
			for i, p := range parts {
				size := base + proto.Size(&ingestv1.EventEnvelope{OtlpExportRequest: mustMarshal(t, p.req)})
				if size > tt.budget {
					t.Errorf("part %d encodes to %d bytes, budget %d", i, size, tt.budget)
				}
				if fmt.Sprint(keysOfRefs(p.spans)) != fmt.Sprint(keysOf(p.req)) {
					t.Errorf("part %d spans %v do not match its request", i, keysOfRefs(p.spans))
				}
				for _, rs := range p.req.GetResourceSpans() {
					for _, ss := range rs.GetScopeSpans() {
						if len(ss.GetSpans()) == 0 {
							t.Errorf("part %d has an empty scope group", i)
						}
					}
				}
				got = append(got, flatten(p.req)...)
			}
			want := flatten(tt.req)
			if len(got) != len(want) {
				t.Fatalf("parts hold %d spans, want %d", len(got), len(want))
			}
			for i := range want {
				if got[i].resource != want[i].resource || got[i].scope != want[i].scope || got[i].span != want[i].span {
					t.Fatalf("span %d lost its place, resource or scope", i)
				}
			}
		})
	}
}

func TestSplitExportSpanTooLarge(t *testing.T) {
	_, err := splitExport(otlpingest.Export{Req: exportOf(1, 1, 3, 2000)}, 40, 1500)
	if !errors.Is(err, ErrEventTooLarge) || !strings.Contains(err.Error(), "aa0102030405060708090a0b0c0d0e0f:bb00000000000000") {
		t.Errorf("err = %v, want ErrEventTooLarge naming the first span", err)
	}
}

func mustMarshal(t *testing.T, m proto.Message) []byte {
	t.Helper()
	b, err := proto.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// decodeExport reads the export request of a stored envelope.
func decodeExport(t *testing.T, env *ingestv1.EventEnvelope) *coltracepb.ExportTraceServiceRequest {
	t.Helper()
	if len(env.GetEvents()) > 0 {
		t.Fatalf("envelope carries native events next to the OTLP payload")
	}
	req := &coltracepb.ExportTraceServiceRequest{}
	if err := proto.Unmarshal(env.GetOtlpExportRequest(), req); err != nil {
		t.Fatalf("otlp_export_request: %v", err)
	}
	return req
}

func TestPublishExportIntegration(t *testing.T) {
	cfg, nc, js := testStream(t)
	p, err := New(nc, cfg, 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	at := timestamppb.New(time.Unix(1_800_000_000, 5))

	small := exportOf(2, 2, 3, 50)
	// The bytes as received are stored as they are: an unknown field
	// (number 99, varint 1) that re-encoding small would not produce shows
	// they were not encoded again.
	raw := protowire.AppendVarint(protowire.AppendTag(mustMarshal(t, small), 99, protowire.VarintType), 1)
	if err := p.PublishExport(ctx, "proj-otlp", at, otlpingest.Export{Raw: raw, Spans: spansOf(small)}); err != nil {
		t.Fatalf("PublishExport: %v", err)
	}
	msgs := readAll(t, js, cfg)
	if len(msgs) != 1 {
		t.Fatalf("stream holds %d messages, want one for the export", len(msgs))
	}
	m := msgs[0]
	if m.subject != cfg.EventSubject("proj-otlp") || m.env.GetProjectId() != "proj-otlp" || !proto.Equal(m.env.GetReceivedAt(), at) {
		t.Errorf("message %q, envelope %q %v", m.subject, m.env.GetProjectId(), m.env.GetReceivedAt())
	}
	if want := stream.MessageID("proj-otlp", keysOf(small)); m.msgID != want {
		t.Errorf("Nats-Msg-Id = %q, want %q", m.msgID, want)
	}
	if !bytes.Equal(m.env.GetOtlpExportRequest(), raw) {
		t.Errorf("stored request is not the bytes as received")
	}

	// Re-sent: deduplicated. Nothing to publish: no message.
	if err := p.PublishExport(ctx, "proj-otlp", timestamppb.Now(), otlpingest.Export{Req: exportOf(2, 2, 3, 50)}); err != nil {
		t.Fatalf("PublishExport retry: %v", err)
	}
	if err := p.PublishExport(ctx, "proj-otlp", at, otlpingest.Export{Req: &coltracepb.ExportTraceServiceRequest{}}); err != nil {
		t.Fatalf("PublishExport(empty): %v", err)
	}
	if n := len(readAll(t, js, cfg)); n != 1 {
		t.Errorf("after a re-sent and an empty export: %d messages, want 1", n)
	}

	// An export over max_payload: self-contained parts within the limit,
	// each encoded on its own (the bytes as received are too big).
	big := exportOf(2, 2, 10, 60<<10) // ~2.4 MiB
	if err := p.PublishExport(ctx, "proj-otlp", at, otlpingest.Export{Raw: mustMarshal(t, big)}); err != nil {
		t.Fatalf("PublishExport(big): %v", err)
	}
	msgs = readAll(t, js, cfg)[1:]
	if len(msgs) < 3 {
		t.Fatalf("big export in %d messages, want at least 3", len(msgs))
	}
	var got []flatSpan
	for i, m := range msgs {
		if int64(m.size) > nc.MaxPayload() {
			t.Errorf("message %d is %d bytes, over max_payload %d", i, m.size, nc.MaxPayload())
		}
		part := decodeExport(t, m.env)
		if want := stream.MessageID("proj-otlp", keysOf(part)); m.msgID != want {
			t.Errorf("message %d: Nats-Msg-Id %q, want the id of its spans %q", i, m.msgID, want)
		}
		got = append(got, flatten(part)...)
	}
	want := flatten(big)
	if len(got) != len(want) {
		t.Fatalf("parts hold %d spans, want %d", len(got), len(want))
	}
	for i := range want {
		if got[i].resource != want[i].resource || got[i].scope != want[i].scope || !proto.Equal(got[i].span, want[i].span) {
			t.Fatalf("span %d differs, or lost its resource or scope", i)
		}
	}
	if err := p.PublishExport(ctx, "proj-otlp", at, otlpingest.Export{Req: exportOf(2, 2, 10, 60<<10)}); err != nil {
		t.Fatalf("PublishExport(big) retry: %v", err)
	}
	if n := len(readAll(t, js, cfg)); n != len(msgs)+1 {
		t.Errorf("after re-sending the big export: %d messages, want %d", n, len(msgs)+1)
	}
}

func TestPublishExportErrors(t *testing.T) {
	cfg, nc, js := testStream(t)
	p, err := New(nc, cfg, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	huge := exportOf(1, 1, 2, int(nc.MaxPayload()))
	if err := p.PublishExport(context.Background(), "proj", nil, otlpingest.Export{Raw: mustMarshal(t, huge)}); !errors.Is(err, ErrEventTooLarge) {
		t.Errorf("PublishExport(huge span) = %v, want ErrEventTooLarge", err)
	}
	if n := len(readAll(t, js, cfg)); n != 0 {
		t.Errorf("stream holds %d messages, want none", n)
	}

	down := uniqueConfig(t)
	down.URL = "nats://127.0.0.1:1"
	dnc, _, err := stream.Connect(context.Background(), down, "publisher-test")
	if err != nil {
		t.Fatal(err)
	}
	defer dnc.Close()
	dp, err := New(dnc, down, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if err := dp.PublishExport(context.Background(), "proj", nil, otlpingest.Export{Req: exportOf(1, 1, 1, 1)}); !errors.Is(err, ErrNotConnected) {
		t.Errorf("PublishExport with NATS down = %v, want ErrNotConnected", err)
	}
}

// BenchmarkMessageID: the id of a 512-span export from its SpanRefs, and
// from the spans' keys as strings (stream.MessageID), per span.
func BenchmarkMessageID(b *testing.B) {
	spans := spansOf(exportOf(1, 1, 512, 0))
	b.Run("refs", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			_ = messageID("proj", spans)
		}
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(spans)), "ns/span")
	})
	b.Run("strings", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			_ = stream.MessageID("proj", keysOfRefs(spans))
		}
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(spans)), "ns/span")
	})
}
