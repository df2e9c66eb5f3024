package otlpmap_test

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	collectortracev1 "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"

	ingestv1 "github.com/agenttrace/agenttrace/pkg/gen/agenttrace/ingest/v1"
	"github.com/agenttrace/agenttrace/pkg/otlpmap"
)

var update = flag.Bool("update", false, "rewrite testdata/*.want.json from the current mapping")

// loadRequest reads an OTLP/JSON fixture. OTLP/JSON writes ids in hex
// where protojson expects base64, so ids are converted first.
func loadRequest(t testing.TB, path string) *collectortracev1.ExportTraceServiceRequest {
	t.Helper()
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var doc any
	if err := json.Unmarshal(raw, &doc); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	hexIDsToBase64(t, doc)
	converted, err := json.Marshal(doc)
	if err != nil {
		t.Fatal(err)
	}
	var req collectortracev1.ExportTraceServiceRequest
	if err := protojson.Unmarshal(converted, &req); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return &req
}

func hexIDsToBase64(t testing.TB, v any) {
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			if s, ok := e.(string); ok && (k == "traceId" || k == "spanId" || k == "parentSpanId") {
				b, err := hex.DecodeString(s)
				if err != nil {
					t.Fatalf("%s %q: %v", k, s, err)
				}
				x[k] = base64.StdEncoding.EncodeToString(b)
				continue
			}
			hexIDsToBase64(t, e)
		}
	case []any:
		for _, e := range x {
			hexIDsToBase64(t, e)
		}
	}
}

// TestMapFixtures pins the mapping of each convention: testdata/X.otlp.json
// is an export request, testdata/X.want.json the events Map must produce
// (run with -update to rewrite them after a deliberate change, then review
// the diff).
func TestMapFixtures(t *testing.T) {
	inputs, err := filepath.Glob("testdata/*.otlp.json")
	if err != nil || len(inputs) == 0 {
		t.Fatalf("no fixtures: %v", err)
	}
	for _, in := range inputs {
		name := strings.TrimSuffix(filepath.Base(in), ".otlp.json")
		t.Run(name, func(t *testing.T) {
			got, err := otlpmap.Map(loadRequest(t, in))
			if err != nil {
				t.Fatalf("Map: %v", err)
			}
			wantPath := filepath.Join("testdata", name+".want.json")
			if *update {
				writeEvents(t, wantPath, got)
				return
			}
			want := readEvents(t, wantPath)
			if len(got) != len(want) {
				t.Fatalf("got %d events, want %d\n%s", len(got), len(want), eventsJSON(t, got))
			}
			for i := range got {
				if !proto.Equal(got[i], want[i]) {
					t.Errorf("event %d differs\n got: %s\nwant: %s", i, eventJSON(t, got[i]), eventJSON(t, want[i]))
				}
			}
		})
	}
}

var marshal = protojson.MarshalOptions{UseProtoNames: true}

func eventJSON(t testing.TB, ev *ingestv1.IngestEvent) string {
	t.Helper()
	raw, err := marshal.Marshal(ev)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := json.Compact(&buf, raw); err != nil {
		t.Fatal(err)
	}
	return buf.String()
}

func eventsJSON(t testing.TB, events []*ingestv1.IngestEvent) []byte {
	t.Helper()
	parts := make([]string, len(events))
	for i, ev := range events {
		parts[i] = eventJSON(t, ev)
	}
	var buf bytes.Buffer
	if err := json.Indent(&buf, []byte("["+strings.Join(parts, ",")+"]"), "", " "); err != nil {
		t.Fatal(err)
	}
	buf.WriteByte('\n')
	return buf.Bytes()
}

func writeEvents(t testing.TB, path string, events []*ingestv1.IngestEvent) {
	t.Helper()
	if err := os.WriteFile(path, eventsJSON(t, events), 0o644); err != nil {
		t.Fatal(err)
	}
}

func readEvents(t testing.TB, path string) []*ingestv1.IngestEvent {
	t.Helper()
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	var items []json.RawMessage
	if err := json.Unmarshal(raw, &items); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	out := make([]*ingestv1.IngestEvent, len(items))
	for i, item := range items {
		out[i] = &ingestv1.IngestEvent{}
		if err := protojson.Unmarshal(item, out[i]); err != nil {
			t.Fatalf("%s event %d: %v", path, i, err)
		}
	}
	return out
}

func filepathGlob(t testing.TB) ([]string, error) {
	t.Helper()
	inputs, err := filepath.Glob("testdata/*.otlp.json")
	if err != nil || len(inputs) == 0 {
		t.Fatalf("no fixtures: %v", err)
	}
	return inputs, err
}
