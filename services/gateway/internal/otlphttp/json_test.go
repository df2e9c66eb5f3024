package otlphttp

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"strings"
	"testing"

	coltracepb "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	commonpb "go.opentelemetry.io/proto/otlp/common/v1"
	resourcepb "go.opentelemetry.io/proto/otlp/resource/v1"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
)

func mustHex(s string) []byte {
	b, err := hex.DecodeString(s)
	if err != nil {
		panic(err)
	}
	return b
}

const (
	traceHex  = "5b8efff798038103d269b633813fc60c"
	spanHex   = "eee19b7ec3c1b174"
	parentHex = "eee19b7ec3c1b173"
)

// sampleRequest is a request using every id field and a bytes attribute.
func sampleRequest() *coltracepb.ExportTraceServiceRequest {
	return &coltracepb.ExportTraceServiceRequest{ResourceSpans: []*tracepb.ResourceSpans{{
		Resource: &resourcepb.Resource{Attributes: []*commonpb.KeyValue{{Key: "service.name", Value: &commonpb.AnyValue{
			Value: &commonpb.AnyValue_StringValue{StringValue: "agent"},
		}}}},
		ScopeSpans: []*tracepb.ScopeSpans{{
			Scope: &commonpb.InstrumentationScope{Name: "sdk", Version: "1.0"},
			Spans: []*tracepb.Span{{
				TraceId:           mustHex(traceHex),
				SpanId:            mustHex(spanHex),
				ParentSpanId:      mustHex(parentHex),
				Name:              "chat gpt-4o",
				Kind:              tracepb.Span_SPAN_KIND_CLIENT,
				StartTimeUnixNano: 1544712660000000000,
				EndTimeUnixNano:   1544712661000000000,
				Attributes: []*commonpb.KeyValue{
					{Key: "gen_ai.usage.input_tokens", Value: &commonpb.AnyValue{Value: &commonpb.AnyValue_IntValue{IntValue: 12}}},
					{Key: "blob", Value: &commonpb.AnyValue{Value: &commonpb.AnyValue_BytesValue{BytesValue: []byte{0xde, 0xad}}}},
				},
				Links:  []*tracepb.Span_Link{{TraceId: mustHex(traceHex), SpanId: mustHex(parentHex)}},
				Status: &tracepb.Status{Code: tracepb.Status_STATUS_CODE_ERROR, Message: "boom"},
			}},
		}},
	}}}
}

// encodeOTLPJSON is the reverse of DecodeJSON, for tests: protojson with
// the ids turned from base64 into hex.
func encodeOTLPJSON(t testing.TB, req *coltracepb.ExportTraceServiceRequest) []byte {
	t.Helper()
	b, err := protojson.Marshal(req)
	if err != nil {
		t.Fatal(err)
	}
	var tree map[string]any
	if err := json.Unmarshal(b, &tree); err != nil {
		t.Fatal(err)
	}
	toHex := func(obj map[string]any, fields []string) {
		for _, f := range fields {
			if s, ok := obj[f].(string); ok {
				id, err := base64.StdEncoding.DecodeString(s)
				if err != nil {
					t.Fatal(err)
				}
				obj[f] = hex.EncodeToString(id)
			}
		}
	}
	for _, rs := range objects(tree, "resourceSpans") {
		for _, ss := range objects(rs, "scopeSpans") {
			for _, s := range objects(ss, "spans") {
				toHex(s, spanIDFields)
				for _, l := range objects(s, "links") {
					toHex(l, linkIDFields)
				}
			}
		}
	}
	out, err := json.Marshal(tree)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func TestDecodeJSONSpecExample(t *testing.T) {
	// The shape of the OTLP specification's example, with enum and int64
	// spellings varied and an unknown field.
	body := `{
	  "resourceSpans": [{
	    "resource": {"attributes": [{"key": "service.name", "value": {"stringValue": "agent"}}]},
	    "scopeSpans": [{
	      "scope": {"name": "sdk", "version": "1.0", "futureField": 1},
	      "spans": [{
	        "traceId": "5B8EFFF798038103D269B633813FC60C",
	        "spanId": "eee19b7ec3c1b174",
	        "parentSpanId": "eee19b7ec3c1b173",
	        "name": "chat gpt-4o",
	        "kind": 3,
	        "startTimeUnixNano": "1544712660000000000",
	        "endTimeUnixNano": 1544712661000000000,
	        "attributes": [
	          {"key": "gen_ai.usage.input_tokens", "value": {"intValue": "12"}},
	          {"key": "blob", "value": {"bytesValue": "3q0="}}
	        ],
	        "links": [{"traceId": "5b8efff798038103d269b633813fc60c", "spanId": "eee19b7ec3c1b173"}],
	        "status": {"code": "STATUS_CODE_ERROR", "message": "boom"}
	      }]
	    }]
	  }]
	}`
	got, err := DecodeJSON([]byte(body))
	if err != nil {
		t.Fatal(err)
	}
	if want := sampleRequest(); !proto.Equal(got, want) {
		t.Errorf("decoded\n %v\nwant\n %v", got, want)
	}
}

func TestDecodeJSONProtoFieldNames(t *testing.T) {
	body := `{"resource_spans":[{"scope_spans":[{"spans":[{"trace_id":"` + traceHex + `","span_id":"` + spanHex +
		`","parent_span_id":"","start_time_unix_nano":"5","links":[{"trace_id":"` + traceHex + `","span_id":"` + parentHex + `"}]}]}]}]}`
	got, err := DecodeJSON([]byte(body))
	if err != nil {
		t.Fatal(err)
	}
	s := got.GetResourceSpans()[0].GetScopeSpans()[0].GetSpans()[0]
	if hex.EncodeToString(s.GetTraceId()) != traceHex || hex.EncodeToString(s.GetSpanId()) != spanHex ||
		len(s.GetParentSpanId()) != 0 || s.GetStartTimeUnixNano() != 5 || hex.EncodeToString(s.GetLinks()[0].GetSpanId()) != parentHex {
		t.Errorf("decoded %v", s)
	}
}

func TestDecodeJSONRoundTrip(t *testing.T) {
	want := sampleRequest()
	got, err := DecodeJSON(encodeOTLPJSON(t, want))
	if err != nil {
		t.Fatal(err)
	}
	if !proto.Equal(got, want) {
		t.Errorf("round trip\n %v\nwant\n %v", got, want)
	}
}

func TestDecodeJSONErrors(t *testing.T) {
	span := func(fields string) string {
		return `{"resourceSpans":[{"scopeSpans":[{},{"spans":[{}, {` + fields + `}]}]}]}`
	}
	tests := []struct {
		name, body, want string
	}{
		{"empty", ``, "payload is not JSON"},
		{"not json", `{"resourceSpans":`, "payload is not JSON"},
		{"trailing data", `{} {}`, "data after the top-level value"},
		{"array", `[]`, "not a JSON object"},
		{"string", `"x"`, "not a JSON object"},
		{"bad hex", span(`"traceId":"zz8efff798038103d269b633813fc60c"`), `resourceSpans[0].scopeSpans[1].spans[1].traceId: "zz8efff798038103d269b633813fc60c" is not a hex string`},
		{"odd hex", span(`"spanId":"abc"`), "spans[1].spanId: \"abc\" is not a hex string"},
		{"long bad id is truncated", span(`"spanId":"` + strings.Repeat("x", 100) + `"`), `"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx..." is not a hex string`},
		{"number id", span(`"parentSpanId":12`), "spans[1].parentSpanId: must be a hex string"},
		{"bad link id", span(`"links":[{"traceId":"` + traceHex + `","spanId":"nothex!!"}]`), "spans[1].links[0].spanId"},
		{"wrong type elsewhere", span(`"name":12`), "not an OTLP/JSON ExportTraceServiceRequest"},
		{"resourceSpans not an array", `{"resourceSpans":{}}`, "not an OTLP/JSON ExportTraceServiceRequest"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := DecodeJSON([]byte(tt.body))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("DecodeJSON = %v, want an error containing %q", err, tt.want)
			}
		})
	}
}

func TestDecodeJSONAcceptsOddButValidInput(t *testing.T) {
	tests := []struct {
		name, body string
		spans      int
	}{
		{"empty object", `{}`, 0},
		{"null ids", `{"resourceSpans":[{"scopeSpans":[{"spans":[{"traceId":null,"spanId":null}]}]}]}`, 1},
		{"non-object elements are left to protojson", `{"resourceSpans":[]}`, 0},
		// protojson drops enum names it does not know, like unknown fields.
		{"unknown enum name", `{"resourceSpans":[{"scopeSpans":[{"spans":[{"kind":"SPAN_KIND_FROM_THE_FUTURE"}]}]}]}`, 1},
		{"unknown top-level field", `{"resourceSpans":[],"somethingNew":{"x":[1,2]}}`, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := DecodeJSON([]byte(tt.body))
			if err != nil {
				t.Fatal(err)
			}
			n := 0
			for _, rs := range got.GetResourceSpans() {
				for _, ss := range rs.GetScopeSpans() {
					n += len(ss.GetSpans())
				}
			}
			if n != tt.spans {
				t.Errorf("%d spans, want %d", n, tt.spans)
			}
		})
	}
}

// FuzzDecodeOTLPJSON: DecodeJSON never panics, and whatever it accepts
// survives a round trip through the OTLP/JSON encoding unchanged.
func FuzzDecodeOTLPJSON(f *testing.F) {
	seeds := [][]byte{
		[]byte(`{}`),
		[]byte(`{"resourceSpans":[{"scopeSpans":[{"spans":[{"traceId":"` + traceHex + `","spanId":"` + spanHex + `"}]}]}]}`),
		[]byte(`{"resource_spans":[{"scope_spans":[{"spans":[{"trace_id":"","links":[{"span_id":"00"}]}]}]}]}`),
		[]byte(`{"resourceSpans":[null,1,{"scopeSpans":[[],{"spans":[null,{"kind":"SPAN_KIND_SERVER","startTimeUnixNano":"1"}]}]}]}`),
		[]byte(`[1,2]`),
		[]byte(`{"resourceSpans":[{"scopeSpans":[{"spans":[{"traceId":"zz"}]}]}]}`),
	}
	var buf bytes.Buffer
	buf.Write(encodeOTLPJSON(f, sampleRequest()))
	seeds = append(seeds, buf.Bytes())
	for _, s := range seeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		req, err := DecodeJSON(data)
		if err != nil {
			return
		}
		again, err := DecodeJSON(encodeOTLPJSON(t, req))
		if err != nil {
			t.Fatalf("re-encoded request does not decode: %v", err)
		}
		if !proto.Equal(req, again) {
			t.Fatalf("round trip changed the request:\n %v\n %v", req, again)
		}
	})
}
