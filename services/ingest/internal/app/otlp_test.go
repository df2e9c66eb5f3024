package app

import (
	"context"
	"encoding/hex"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracegrpc"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	coltracepb "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	commonpb "go.opentelemetry.io/proto/otlp/common/v1"
	resourcepb "go.opentelemetry.io/proto/otlp/resource/v1"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/encoding/gzip"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	ingestv1 "github.com/agenttrace/agenttrace/pkg/gen/agenttrace/ingest/v1"
	"github.com/agenttrace/agenttrace/pkg/stream"
)

func otlpClient(t *testing.T, addr string) coltracepb.TraceServiceClient {
	t.Helper()
	conn, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return coltracepb.NewTraceServiceClient(conn)
}

func testSpan(spanEnd byte) *tracepb.Span {
	return &tracepb.Span{
		TraceId:           []byte{0x4b, 0xf9, 0x2f, 0x35, 0x77, 0xb3, 0x4d, 0xa6, 0xa3, 0xce, 0x92, 0x9d, 0x0e, 0x0e, 0x47, 0x36},
		SpanId:            []byte{0, 0xf0, 0x67, 0xaa, 0x0b, 0xa9, 0x02, 0xb7 + spanEnd},
		Name:              "chat gpt-4o",
		StartTimeUnixNano: uint64(time.Now().UnixNano()),
		EndTimeUnixNano:   uint64(time.Now().UnixNano()) + 1000,
	}
}

func exportRequest(spans ...*tracepb.Span) *coltracepb.ExportTraceServiceRequest {
	return &coltracepb.ExportTraceServiceRequest{ResourceSpans: []*tracepb.ResourceSpans{{
		Resource: &resourcepb.Resource{Attributes: []*commonpb.KeyValue{{Key: "service.name", Value: &commonpb.AnyValue{
			Value: &commonpb.AnyValue_StringValue{StringValue: "agent"},
		}}}},
		ScopeSpans: []*tracepb.ScopeSpans{{Scope: &commonpb.InstrumentationScope{Name: "test"}, Spans: spans}},
	}}}
}

// storedExports reads every message of the events stream (without acking)
// and decodes their OTLP payloads.
func storedExports(t *testing.T, cfg stream.Config) ([]*ingestv1.EventEnvelope, []string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	nc, js, err := stream.Connect(ctx, cfg, "apptest-reader")
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	s, err := js.Stream(ctx, cfg.EventsStream())
	if err != nil {
		t.Fatal(err)
	}
	info, err := s.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if info.State.Msgs == 0 {
		return nil, nil
	}
	cons, err := s.CreateConsumer(ctx, jetstream.ConsumerConfig{AckPolicy: jetstream.AckExplicitPolicy})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = s.DeleteConsumer(context.Background(), cons.CachedInfo().Name) }()
	batch, err := cons.Fetch(int(info.State.Msgs), jetstream.FetchMaxWait(5*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	var envs []*ingestv1.EventEnvelope
	var ids []string
	for m := range batch.Messages() {
		env := &ingestv1.EventEnvelope{}
		if err := proto.Unmarshal(m.Data(), env); err != nil {
			t.Fatal(err)
		}
		envs = append(envs, env)
		ids = append(ids, m.Headers().Get(jetstream.MsgIDHeader))
	}
	return envs, ids
}

func decodePayload(t *testing.T, env *ingestv1.EventEnvelope) *coltracepb.ExportTraceServiceRequest {
	t.Helper()
	req := &coltracepb.ExportTraceServiceRequest{}
	if err := proto.Unmarshal(env.GetOtlpExportRequest(), req); err != nil {
		t.Fatal(err)
	}
	return req
}

func TestOTLPExportIntegration(t *testing.T) {
	if testing.Short() {
		t.Skip("needs NATS at 127.0.0.1:4222")
	}
	_, admin, cfg := runService(t, "nats://127.0.0.1:4222")
	t.Cleanup(func() { deleteStreams(t, cfg.Config) })
	waitFor(t, func() bool { code, _ := get(admin + "/ready"); return code == http.StatusOK })
	client := otlpClient(t, cfg.OTLPGRPCAddr)

	bad := testSpan(9)
	bad.EndTimeUnixNano = bad.StartTimeUnixNano - 1
	zero := testSpan(8)
	zero.TraceId = make([]byte, 16)
	good1, good2 := testSpan(1), testSpan(2)
	req := exportRequest(good1, bad, good2, zero)

	resp, err := client.Export(authed(t), req)
	if err != nil {
		t.Fatalf("Export: %v", err)
	}
	ps := resp.GetPartialSuccess()
	if ps.GetRejectedSpans() != 2 || !strings.Contains(ps.GetErrorMessage(), "rejected 2 of 4 spans") ||
		!strings.Contains(ps.GetErrorMessage(), "spans[1]: end_time_unix_nano") || !strings.Contains(ps.GetErrorMessage(), "spans[3]: trace_id: must not be all zero") {
		t.Errorf("partial success = %v", ps)
	}

	envs, ids := storedExports(t, cfg.Config)
	if len(envs) != 1 {
		t.Fatalf("stream holds %d messages, want 1", len(envs))
	}
	if envs[0].GetProjectId() != "proj-app" || len(envs[0].GetEvents()) != 0 || envs[0].GetReceivedAt() == nil {
		t.Errorf("envelope = %v", envs[0])
	}
	if want := exportRequest(good1, good2); !proto.Equal(decodePayload(t, envs[0]), want) {
		t.Errorf("stored request:\n got %v\nwant %v", decodePayload(t, envs[0]), want)
	}
	key := func(s *tracepb.Span) string {
		return hex.EncodeToString(s.TraceId) + ":" + hex.EncodeToString(s.SpanId)
	}
	if want := stream.MessageID("proj-app", []string{key(good1), key(good2)}); ids[0] != want {
		t.Errorf("Nats-Msg-Id = %q, want %q", ids[0], want)
	}

	// Re-sent (gzip this time, on the service port): deduplicated.
	main := otlpClient(t, cfg.GRPCAddr)
	resp, err = main.Export(authed(t), req, grpc.UseCompressor(gzip.Name))
	if err != nil || resp.GetPartialSuccess().GetRejectedSpans() != 2 {
		t.Fatalf("gzip Export on the service port = %v, %v", resp, err)
	}
	if envs, _ := storedExports(t, cfg.Config); len(envs) != 1 {
		t.Errorf("after re-sending: %d messages, want 1", len(envs))
	}

	// All invalid: OK with partial success, nothing stored. Empty: OK.
	resp, err = client.Export(authed(t), exportRequest(bad, zero))
	if err != nil || resp.GetPartialSuccess().GetRejectedSpans() != 2 {
		t.Errorf("all-invalid Export = %v, %v", resp, err)
	}
	resp, err = client.Export(authed(t), &coltracepb.ExportTraceServiceRequest{})
	if err != nil || resp.GetPartialSuccess() != nil {
		t.Errorf("empty Export = %v, %v", resp, err)
	}
	if envs, _ := storedExports(t, cfg.Config); len(envs) != 1 {
		t.Errorf("after invalid and empty exports: %d messages, want 1", len(envs))
	}

	// Credentials: none, or wrong.
	if _, err := client.Export(context.Background(), req); status.Code(err) != codes.Unauthenticated {
		t.Errorf("Export without credentials = %v, want Unauthenticated", err)
	}

	_, metrics := get(admin + "/metrics")
	for _, want := range []string{
		`agenttrace_ingest_otlp_requests_total{outcome="partial",transport="grpc"} 2`,
		`agenttrace_ingest_otlp_requests_total{outcome="rejected",transport="grpc"} 1`,
		`agenttrace_ingest_otlp_requests_total{outcome="accepted",transport="grpc"} 1`,
		`agenttrace_ingest_otlp_spans_total{outcome="accepted"} 4`,
		`agenttrace_ingest_otlp_spans_total{outcome="rejected"} 6`,
		`grpc_server_handled_total{grpc_code="Unauthenticated",grpc_method="Export",grpc_service="opentelemetry.proto.collector.trace.v1.TraceService",grpc_type="unary"} 1`,
	} {
		if !strings.Contains(metrics, want) {
			t.Errorf("/metrics lacks %q", want)
		}
	}
}

// TestOTLPGoExporter sends through the official OTel Go SDK exporter, with
// gzip and the Authorization header an operator would configure.
func TestOTLPGoExporter(t *testing.T) {
	if testing.Short() {
		t.Skip("needs NATS at 127.0.0.1:4222")
	}
	_, admin, cfg := runService(t, "nats://127.0.0.1:4222")
	t.Cleanup(func() { deleteStreams(t, cfg.Config) })
	waitFor(t, func() bool { code, _ := get(admin + "/ready"); return code == http.StatusOK })

	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	exp, err := otlptracegrpc.New(ctx,
		otlptracegrpc.WithEndpoint(cfg.OTLPGRPCAddr),
		otlptracegrpc.WithInsecure(),
		otlptracegrpc.WithCompressor("gzip"),
		otlptracegrpc.WithHeaders(map[string]string{"Authorization": "Bearer sk-test"}),
		otlptracegrpc.WithRetry(otlptracegrpc.RetryConfig{Enabled: false}),
	)
	if err != nil {
		t.Fatal(err)
	}
	res := resource.NewSchemaless(attribute.String("service.name", "fake-agent"))
	tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(exp), sdktrace.WithResource(res))
	tracer := tp.Tracer("agent")
	ctx2, root := tracer.Start(ctx, "invoke_agent")
	_, child := tracer.Start(ctx2, "chat gpt-4o")
	child.SetAttributes(attribute.String("gen_ai.request.model", "gpt-4o"), attribute.Int("gen_ai.usage.input_tokens", 12))
	child.End()
	root.End()
	if err := tp.Shutdown(ctx); err != nil {
		t.Fatalf("exporter: %v", err)
	}

	envs, _ := storedExports(t, cfg.Config)
	if len(envs) != 2 { // the syncer exports each span as it ends
		t.Fatalf("stream holds %d messages, want 2", len(envs))
	}
	var names []string
	for _, env := range envs {
		req := decodePayload(t, env)
		rs := req.GetResourceSpans()[0]
		if rs.GetResource().GetAttributes()[0].GetValue().GetStringValue() != "fake-agent" {
			t.Errorf("resource = %v", rs.GetResource())
		}
		for _, s := range rs.GetScopeSpans()[0].GetSpans() {
			names = append(names, s.GetName())
		}
	}
	if strings.Join(names, ",") != "chat gpt-4o,invoke_agent" {
		t.Errorf("stored spans %v", names)
	}

	// A wrong key: the exporter reports the refusal.
	bad, err := otlptracegrpc.New(ctx, otlptracegrpc.WithEndpoint(cfg.OTLPGRPCAddr), otlptracegrpc.WithInsecure(),
		otlptracegrpc.WithHeaders(map[string]string{"Authorization": "Bearer sk-wrong"}),
		otlptracegrpc.WithRetry(otlptracegrpc.RetryConfig{Enabled: false}))
	if err != nil {
		t.Fatal(err)
	}
	tp = sdktrace.NewTracerProvider(sdktrace.WithSyncer(bad))
	_, span := tp.Tracer("agent").Start(ctx, "refused")
	span.End()
	if err := tp.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	_, metrics := get(admin + "/metrics")
	if !strings.Contains(metrics, `grpc_server_handled_total{grpc_code="Unauthenticated",grpc_method="Export",grpc_service="opentelemetry.proto.collector.trace.v1.TraceService",grpc_type="unary"} 1`) {
		t.Error("the export with a wrong key was not refused as Unauthenticated")
	}
}

func TestOTLPExportWithNATSDown(t *testing.T) {
	_, _, cfg := runService(t, "nats://127.0.0.1:1")
	client := otlpClient(t, cfg.OTLPGRPCAddr)
	start := time.Now()
	_, err := client.Export(authed(t), exportRequest(testSpan(1)))
	if status.Code(err) != codes.Unavailable {
		t.Fatalf("Export = %v, want Unavailable", err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("Export took %v, want a prompt Unavailable", d)
	}
	// Nothing to store needs no stream.
	if _, err := client.Export(authed(t), &coltracepb.ExportTraceServiceRequest{}); err != nil {
		t.Errorf("empty Export with NATS down = %v", err)
	}
}
