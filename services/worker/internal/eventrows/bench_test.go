package eventrows_test

import (
	"strings"
	"testing"

	collectortracev1 "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	commonotlp "go.opentelemetry.io/proto/otlp/common/v1"
	resourcev1 "go.opentelemetry.io/proto/otlp/resource/v1"
	tracev1 "go.opentelemetry.io/proto/otlp/trace/v1"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	ingestv1 "github.com/agenttrace/agenttrace/pkg/gen/agenttrace/ingest/v1"
	"github.com/agenttrace/agenttrace/services/worker/internal/eventrows"
)

func str(k, v string) *commonotlp.KeyValue {
	return &commonotlp.KeyValue{Key: k, Value: &commonotlp.AnyValue{Value: &commonotlp.AnyValue_StringValue{StringValue: v}}}
}

func num(k string, n int64) *commonotlp.KeyValue {
	return &commonotlp.KeyValue{Key: k, Value: &commonotlp.AnyValue{Value: &commonotlp.AnyValue_IntValue{IntValue: n}}}
}

func float(k string, f float64) *commonotlp.KeyValue {
	return &commonotlp.KeyValue{Key: k, Value: &commonotlp.AnyValue{Value: &commonotlp.AnyValue_DoubleValue{DoubleValue: f}}}
}

// llmSpan is a chat call as the GenAI instrumentations export it: model,
// parameters, usage, and a conversation of a few kilobytes in and out.
func llmSpan(s *tracev1.Span) {
	s.Name, s.Kind = "chat gpt-4o", tracev1.Span_SPAN_KIND_CLIENT
	s.ParentSpanId = []byte("76543210")
	turn := strings.Repeat("The customer asks about the refund policy for order 4711; answer politely. ", 8)
	s.Attributes = []*commonotlp.KeyValue{
		str("gen_ai.operation.name", "chat"),
		str("gen_ai.provider.name", "openai"),
		str("gen_ai.request.model", "gpt-4o"),
		str("gen_ai.response.model", "gpt-4o-2024-08-06"),
		float("gen_ai.request.temperature", 0.2),
		num("gen_ai.request.max_tokens", 512),
		float("gen_ai.request.top_p", 0.9),
		str("gen_ai.response.id", "chatcmpl-1"),
		num("gen_ai.usage.input_tokens", 1200),
		num("gen_ai.usage.output_tokens", 85),
		num("gen_ai.usage.cache_read.input_tokens", 1024),
		str("gen_ai.system_instructions", `[{"type":"text","content":"You are a support agent. `+turn+`"}]`),
		str("gen_ai.input.messages", `[{"role":"user","parts":[{"type":"text","content":"`+turn+`"}]},`+
			`{"role":"assistant","parts":[{"type":"text","content":"`+turn+`"}]},`+
			`{"role":"user","parts":[{"type":"text","content":"Where is my refund? \u00e9\u00e8 <b>&</b>"}]}]`),
		str("gen_ai.output.messages", `[{"role":"assistant","parts":[{"type":"tool_call","id":"call_1","name":"lookup_order",`+
			`"arguments":{"order_id":4711,"fields":["status","refund"]}}],"finish_reason":"tool_calls"}]`),
		str("server.address", "api.openai.com"),
		num("server.port", 443),
		str("session.id", "sess-42"),
		str("user.id", "user-7"),
	}
	s.Events = []*tracev1.Span_Event{{Name: "gen_ai.choice", TimeUnixNano: s.StartTimeUnixNano + 500,
		Attributes: []*commonotlp.KeyValue{num("index", 0), str("finish_reason", "tool_calls")}}}
}

// sdkResource is what an OTel SDK with its default detectors sends as the
// resource of every export.
var sdkResource = &resourcev1.Resource{Attributes: []*commonotlp.KeyValue{
	str("service.name", "support-agent"), str("service.version", "1.4.2"), str("deployment.environment.name", "production"),
	str("telemetry.sdk.language", "python"), str("telemetry.sdk.name", "opentelemetry"), str("telemetry.sdk.version", "1.38.0"),
	str("process.runtime.name", "cpython"), str("process.runtime.version", "3.12.7"), num("process.pid", 4242),
	str("process.executable.path", "/usr/local/bin/python3.12"), str("host.name", "support-agent-7d9f8c-x2x4q"),
	str("host.arch", "amd64"), str("os.type", "linux"), str("os.description", "Linux 6.8.0 <container>"),
	{Key: "process.command_args", Value: &commonotlp.AnyValue{Value: &commonotlp.AnyValue_ArrayValue{ArrayValue: &commonotlp.ArrayValue{
		Values: []*commonotlp.AnyValue{{Value: &commonotlp.AnyValue_StringValue{StringValue: "/app/main.py"}},
			{Value: &commonotlp.AnyValue_StringValue{StringValue: "--workers=4"}}}}}}},
}}

// BenchmarkDecode measures what the worker spends on one message carrying
// an OTLP export request of one span: envelope, request, mapping and rows.
// small and llm are exported without a resource; llm_sdk_resource is llm
// under an SDK's resource.
func BenchmarkDecode(b *testing.B) {
	for _, bc := range []struct {
		name     string
		span     *tracev1.Span
		resource *resourcev1.Resource
	}{
		{"small", otlpSpan(nil), nil},
		{"llm", otlpSpan(llmSpan), nil},
		{"llm_sdk_resource", otlpSpan(llmSpan), sdkResource},
	} {
		b.Run(bc.name, func(b *testing.B) {
			req, err := proto.Marshal(&collectortracev1.ExportTraceServiceRequest{ResourceSpans: []*tracev1.ResourceSpans{{
				Resource: bc.resource, ScopeSpans: []*tracev1.ScopeSpans{{Spans: []*tracev1.Span{bc.span}}},
			}}})
			if err != nil {
				b.Fatal(err)
			}
			data, err := proto.Marshal(&ingestv1.EventEnvelope{ProjectId: "proj-1", ReceivedAt: timestamppb.New(received),
				OtlpExportRequest: req})
			if err != nil {
				b.Fatal(err)
			}
			b.SetBytes(int64(len(data)))
			b.ReportAllocs()
			for b.Loop() {
				if _, err := eventrows.Decode(data); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
