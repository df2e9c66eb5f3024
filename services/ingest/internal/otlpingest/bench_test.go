package otlpingest

import (
	"fmt"
	"strings"
	"testing"

	coltracepb "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	commonpb "go.opentelemetry.io/proto/otlp/common/v1"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
	"google.golang.org/protobuf/proto"
)

// benchRequest is an SDK-like export of n spans in traces of 8, each span
// with attrs and, when content > 0, a prompt and a completion of content
// bytes each.
func benchRequest(n, content int) *coltracepb.ExportTraceServiceRequest {
	spans := make([]*tracepb.Span, n)
	for i := range spans {
		s := goodSpan(byte(i + 1))
		s.TraceId = append([]byte(nil), traceID...)
		s.TraceId[0] = byte(i/8 + 1)
		s.SpanId = []byte{1, 2, 3, 4, 5, 6, byte(i>>8 + 1), byte(i)}
		if i%8 != 0 {
			s.ParentSpanId = []byte{1, 2, 3, 4, 5, 6, byte(i>>8 + 1), byte(i - i%8)}
		}
		s.Name = fmt.Sprintf("step %d", i%8)
		s.Kind = tracepb.Span_SPAN_KIND_INTERNAL
		s.Flags = 0x301
		s.Status = &tracepb.Status{}
		s.Attributes = []*commonpb.KeyValue{str("http.route", "/api/orders/{id}"), str("app.step", s.Name),
			{Key: "http.response.status_code", Value: &commonpb.AnyValue{Value: &commonpb.AnyValue_IntValue{IntValue: 200}}}}
		if content > 0 {
			s.Attributes = append(s.Attributes, str("gen_ai.request.model", "gpt-4o-mini"),
				str("gen_ai.input.messages", strings.Repeat("p", content)), str("gen_ai.output.messages", strings.Repeat("c", content)))
		}
		spans[i] = s
	}
	return request(spans...)
}

// BenchmarkCheck compares checking an export's bytes by Scan with decoding
// them and validating the request, per span.
func BenchmarkCheck(b *testing.B) {
	for _, shape := range []struct {
		name       string
		n, content int
	}{{"small", 512, 0}, {"llm", 100, 1024}} {
		raw, err := proto.Marshal(benchRequest(shape.n, shape.content))
		if err != nil {
			b.Fatal(err)
		}
		lim := DefaultLimits()
		b.Run("scan/"+shape.name, func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(raw)))
			for b.Loop() {
				if _, ok := Scan(raw, lim); !ok {
					b.Fatal("Scan refused the request")
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*shape.n), "ns/span")
		})
		b.Run("decode+validate/"+shape.name, func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(raw)))
			for b.Loop() {
				req := &coltracepb.ExportTraceServiceRequest{}
				if err := proto.Unmarshal(raw, req); err != nil {
					b.Fatal(err)
				}
				if c := Validate(req, lim); len(c.Rejections) > 0 {
					b.Fatal(c.Rejections)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*shape.n), "ns/span")
		})
	}
}
