package otlpmap_test

import (
	"testing"

	collectortracev1 "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	"google.golang.org/protobuf/proto"

	"github.com/agenttrace/agenttrace/pkg/otlpmap"
)

// BenchmarkDecodeAndMap measures what the worker spends per export request
// of the GenAI fixture (4 spans): unmarshal plus Map.
func BenchmarkDecodeAndMap(b *testing.B) {
	raw, err := proto.Marshal(loadRequest(b, "testdata/genai.otlp.json"))
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(raw)))
	b.ReportAllocs()
	for b.Loop() {
		var req collectortracev1.ExportTraceServiceRequest
		if err := proto.Unmarshal(raw, &req); err != nil {
			b.Fatal(err)
		}
		if _, err := otlpmap.Map(&req); err != nil {
			b.Fatal(err)
		}
	}
}
