package e2e

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracegrpc"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"
)

// The fake agent is instrumented the way agent frameworks instrument
// themselves with the official OpenTelemetry Go SDK and the GenAI semantic
// conventions. The test derives what query must show from the spans the
// SDK recorded (otel_want_test.go), never from the platform's own mapping
// code.

// Resource of every fake agent run.
const (
	agentService     = "support-bot"
	agentVersion     = "1.4.2"
	agentEnvironment = "staging"
	agentScope       = "agenttrace-e2e/fake-agent"
	agentScopeVer    = "0.3.0"
)

// OTLP/HTTP paths the gateway serves.
const (
	otlpHTTPPath       = "/v1/traces"
	otlpHTTPPrefixPath = "/api/v1/otel/v1/traces"
)

// exporterKind names an OTLP transport of the SDK.
type exporterKind string

const (
	viaGRPC exporterKind = "grpc"
	viaHTTP exporterKind = "http"
)

// newExporter is an SDK exporter to the stack: gRPC straight to ingest's
// OTLP port, HTTP to the gateway (at path), both gzip-compressed,
// authenticating with authorization (none when empty) and extra headers.
// Retries are off so that a refusal surfaces at once instead of after the
// exporter's minute of backoff.
func (s *stack) newExporter(ctx context.Context, kind exporterKind, path, authorization string, extra map[string]string) (*otlptrace.Exporter, error) {
	headers := map[string]string{}
	for k, v := range extra {
		headers[k] = v
	}
	if authorization != "" {
		headers["Authorization"] = authorization
	}
	switch kind {
	case viaGRPC:
		return otlptracegrpc.New(ctx,
			otlptracegrpc.WithEndpoint(s.addr["ingest"].otlp),
			otlptracegrpc.WithInsecure(),
			otlptracegrpc.WithCompressor("gzip"),
			otlptracegrpc.WithHeaders(headers),
			otlptracegrpc.WithRetry(otlptracegrpc.RetryConfig{Enabled: false}),
			otlptracegrpc.WithTimeout(30*time.Second))
	case viaHTTP:
		return otlptracehttp.New(ctx,
			otlptracehttp.WithEndpoint(s.addr["gateway"].http),
			otlptracehttp.WithURLPath(path),
			otlptracehttp.WithInsecure(),
			otlptracehttp.WithCompression(otlptracehttp.GzipCompression),
			otlptracehttp.WithHeaders(headers),
			otlptracehttp.WithRetry(otlptracehttp.RetryConfig{Enabled: false}),
			otlptracehttp.WithTimeout(30*time.Second))
	}
	return nil, fmt.Errorf("unknown exporter kind %q", kind)
}

// mustExporter is newExporter for tests; the exporter is shut down at the
// end of the test.
func (s *stack) mustExporter(t *testing.T, kind exporterKind, path, authorization string) *otlptrace.Exporter {
	t.Helper()
	exp, err := s.newExporter(t.Context(), kind, path, authorization, nil)
	if err != nil {
		t.Fatalf("new %s exporter: %v", kind, err)
	}
	t.Cleanup(func() { _ = exp.Shutdown(context.Background()) })
	return exp
}

// agentResource is the resource every fake agent reports.
func agentResource() *resource.Resource {
	return resource.NewSchemaless(
		attribute.String("service.name", agentService),
		attribute.String("service.version", agentVersion),
		attribute.String("deployment.environment.name", agentEnvironment),
		attribute.String("host.name", "e2e-host"),
	)
}

// recordedRun is one fake agent run as the SDK recorded it.
type recordedRun struct {
	label   string
	traceID string
	spans   []sdktrace.ReadOnlySpan
}

// runAgent runs the fake agent once under a provider that records every
// span and, when exp is set, exports them through the SDK's batch span
// processor, force-flushed before it returns; the flush's error is
// returned. Without exp the spans are only recorded, for tests that
// export them by hand (twice, out of order).
func runAgent(ctx context.Context, label string, exp sdktrace.SpanExporter, act func(context.Context, trace.Tracer, time.Time)) (*recordedRun, error) {
	rec := tracetest.NewSpanRecorder()
	opts := []sdktrace.TracerProviderOption{sdktrace.WithResource(agentResource()), sdktrace.WithSpanProcessor(rec)}
	if exp != nil {
		opts = append(opts, sdktrace.WithBatcher(exp))
	}
	tp := sdktrace.NewTracerProvider(opts...)
	tracer := tp.Tracer(agentScope, trace.WithInstrumentationVersion(agentScopeVer))
	// Explicit timestamps: the tree's sibling order and the times query
	// shows follow from them. A minute ago, so that prices in effect now
	// apply and the trace lies within any default time window.
	act(ctx, tracer, time.Now().Add(-time.Minute).Truncate(time.Microsecond))
	flushErr := tp.ForceFlush(ctx)
	// The provider's exporter is the caller's: a test exports again with
	// it, so the provider is not shut down (which would shut it down).
	spans := rec.Ended()
	if len(spans) == 0 {
		return nil, errors.New("the fake agent recorded no span")
	}
	return &recordedRun{label: label, traceID: spans[0].SpanContext().TraceID().String(), spans: spans}, flushErr
}

// at is base plus ms milliseconds, as a span start or end option.
func at(base time.Time, ms int) time.Time { return base.Add(time.Duration(ms) * time.Millisecond) }

// toolError is what the failing tool call raises; its type name becomes
// exception.type.
type toolError struct{ msg string }

func (e *toolError) Error() string { return e.msg }

// supportAgent is the fake agent's run: an agent span over a chat
// generation (usage with cache reads, priced by the platform), a tool call,
// a tool call that fails with an exception and ERROR status, a generation
// whose client computed its cost (OpenInference llm.cost.*), and a final
// generation of another model; plus a span event on the agent span.
func supportAgent(run string) func(context.Context, trace.Tracer, time.Time) {
	return func(ctx context.Context, tr trace.Tracer, base time.Time) {
		ctx, agent := tr.Start(ctx, "invoke_agent support-agent", trace.WithTimestamp(base), trace.WithAttributes(
			attribute.String("gen_ai.operation.name", "invoke_agent"),
			attribute.String("gen_ai.agent.name", "support-agent"),
			attribute.String("gen_ai.agent.id", "agent-7"),
			attribute.String("gen_ai.provider.name", "openai"),
			attribute.String("gen_ai.conversation.id", "conv-"+run),
			attribute.String("user.id", "user-"+run),
			attribute.StringSlice("agenttrace.tags", []string{"otel", "e2e", "support"}),
			attribute.String("input.value", "Where is my order 42?"),
			attribute.String("output.value", "Order 42 has shipped and arrives tomorrow."),
			attribute.String("app.tenant", "acme"),
			attribute.Int("app.attempt", 1),
		))
		agent.AddEvent("agent.plan", trace.WithTimestamp(at(base, 50)), trace.WithAttributes(
			attribute.Int("plan.steps", 3), attribute.String("plan.strategy", "react")))

		_, chat := tr.Start(ctx, "chat gpt-4o", trace.WithTimestamp(at(base, 100)), trace.WithSpanKind(trace.SpanKindClient), trace.WithAttributes(
			attribute.String("gen_ai.operation.name", "chat"),
			attribute.String("gen_ai.provider.name", "openai"),
			attribute.String("gen_ai.request.model", "gpt-4o"),
			attribute.String("gen_ai.response.model", "gpt-4o-2024-08-06"),
			attribute.String("gen_ai.response.id", "chatcmpl-"+run),
			attribute.StringSlice("gen_ai.response.finish_reasons", []string{"tool_calls"}),
			attribute.Float64("gen_ai.request.temperature", 0.2),
			attribute.Int("gen_ai.request.max_tokens", 512),
			attribute.Float64("gen_ai.request.top_p", 0.9),
			attribute.Int("gen_ai.usage.input_tokens", 1200),
			attribute.Int("gen_ai.usage.output_tokens", 85),
			attribute.Int("gen_ai.usage.cache_read.input_tokens", 1024),
			attribute.String("gen_ai.input.messages", `[{"role":"system","parts":[{"type":"text","content":"You are a support agent."}]},`+
				`{"role":"user","parts":[{"type":"text","content":"Where is my order 42?"}]}]`),
			attribute.String("gen_ai.output.messages", `[{"role":"assistant","parts":[{"type":"tool_call","id":"call_1","name":"lookup_order",`+
				`"arguments":{"order_id":42}}],"finish_reason":"tool_call"}]`),
		))
		chat.End(trace.WithTimestamp(at(base, 1300)))

		_, tool := tr.Start(ctx, "execute_tool lookup_order", trace.WithTimestamp(at(base, 1400)), trace.WithAttributes(
			attribute.String("gen_ai.operation.name", "execute_tool"),
			attribute.String("gen_ai.tool.name", "lookup_order"),
			attribute.String("gen_ai.tool.type", "function"),
			attribute.String("gen_ai.tool.call.id", "call_1"),
			attribute.String("gen_ai.tool.call.arguments", `{"order_id":42}`),
			attribute.String("gen_ai.tool.call.result", `{"status":"shipped","eta_days":1}`),
		))
		tool.End(trace.WithTimestamp(at(base, 1600)))

		_, notify := tr.Start(ctx, "execute_tool notify_customer", trace.WithTimestamp(at(base, 1700)), trace.WithAttributes(
			attribute.String("gen_ai.operation.name", "execute_tool"),
			attribute.String("gen_ai.tool.name", "notify_customer"),
			attribute.String("gen_ai.tool.call.id", "call_2"),
			attribute.String("gen_ai.tool.call.arguments", `{"channel":"sms"}`),
		))
		notify.RecordError(&toolError{msg: "sms gateway timed out after 500ms"}, trace.WithTimestamp(at(base, 2150)))
		notify.SetStatus(codes.Error, "notification service unavailable")
		notify.End(trace.WithTimestamp(at(base, 2200)))

		_, summary := tr.Start(ctx, "chat claude-sonnet-4", trace.WithTimestamp(at(base, 2300)), trace.WithSpanKind(trace.SpanKindClient), trace.WithAttributes(
			attribute.String("gen_ai.operation.name", "chat"),
			attribute.String("gen_ai.provider.name", "anthropic"),
			attribute.String("gen_ai.request.model", "claude-sonnet-4-20250514"),
			attribute.Int("gen_ai.request.max_tokens", 256),
			attribute.Int("gen_ai.usage.input_tokens", 900),
			attribute.Int("gen_ai.usage.output_tokens", 40),
			// The client's own price list: it wins over the platform's.
			attribute.Float64("llm.cost.prompt", 0.001),
			attribute.Float64("llm.cost.completion", 0.002),
			attribute.Float64("llm.cost.total", 0.003),
			attribute.String("gen_ai.input.messages", `[{"role":"user","parts":[{"type":"text","content":"Summarise the ticket."}]}]`),
			attribute.String("gen_ai.output.messages", `[{"role":"assistant","parts":[{"type":"text","content":"Order 42 shipped."}],"finish_reason":"stop"}]`),
		))
		summary.End(trace.WithTimestamp(at(base, 3100)))

		_, answer := tr.Start(ctx, "chat gpt-4o-mini", trace.WithTimestamp(at(base, 3200)), trace.WithSpanKind(trace.SpanKindClient), trace.WithAttributes(
			attribute.String("gen_ai.operation.name", "chat"),
			attribute.String("gen_ai.provider.name", "openai"),
			attribute.String("gen_ai.request.model", "gpt-4o-mini"),
			attribute.Int("gen_ai.usage.input_tokens", 310),
			attribute.Int("gen_ai.usage.output_tokens", 62),
			attribute.String("gen_ai.input.messages", `[{"role":"user","parts":[{"type":"text","content":"Write the reply."}]}]`),
			attribute.String("gen_ai.output.messages", `[{"role":"assistant","parts":[{"type":"text","content":"Order 42 has shipped and arrives tomorrow."}],"finish_reason":"stop"}]`),
		))
		answer.End(trace.WithTimestamp(at(base, 3900)))

		agent.SetStatus(codes.Ok, "")
		agent.End(trace.WithTimestamp(at(base, 4000)))
	}
}

// pipeline is a small run for the delivery scenarios: a root span with a
// child generation and a grandchild tool call.
func pipeline(run string) func(context.Context, trace.Tracer, time.Time) {
	return func(ctx context.Context, tr trace.Tracer, base time.Time) {
		ctx, root := tr.Start(ctx, "pipeline "+run, trace.WithTimestamp(base), trace.WithAttributes(
			attribute.String("gen_ai.conversation.id", "conv-"+run)))
		ctx, gen := tr.Start(ctx, "chat gpt-4.1", trace.WithTimestamp(at(base, 10)), trace.WithAttributes(
			attribute.String("gen_ai.operation.name", "chat"),
			attribute.String("gen_ai.request.model", "gpt-4.1"),
			attribute.Int("gen_ai.usage.input_tokens", 1000),
			attribute.Int("gen_ai.usage.output_tokens", 100),
		))
		_, tool := tr.Start(ctx, "execute_tool search", trace.WithTimestamp(at(base, 20)), trace.WithAttributes(
			attribute.String("gen_ai.operation.name", "execute_tool"),
			attribute.String("gen_ai.tool.name", "search"),
		))
		tool.End(trace.WithTimestamp(at(base, 30)))
		gen.End(trace.WithTimestamp(at(base, 40)))
		root.End(trace.WithTimestamp(at(base, 50)))
	}
}

// withInvalidSpan is pipeline plus a child span that ends before it starts,
// which the platform must reject on its own.
func withInvalidSpan(run string) func(context.Context, trace.Tracer, time.Time) {
	return func(ctx context.Context, tr trace.Tracer, base time.Time) {
		ctx, root := tr.Start(ctx, "pipeline "+run, trace.WithTimestamp(base))
		_, ok := tr.Start(ctx, "valid step", trace.WithTimestamp(at(base, 10)))
		ok.End(trace.WithTimestamp(at(base, 20)))
		_, bad := tr.Start(ctx, "time-travelling step", trace.WithTimestamp(at(base, 30)))
		bad.End(trace.WithTimestamp(at(base, 25)))
		root.End(trace.WithTimestamp(at(base, 50)))
	}
}
