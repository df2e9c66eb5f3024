package rest

import (
	"encoding/json"
	"strings"
	"testing"

	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"

	ingestv1 "github.com/agenttrace/agenttrace/pkg/gen/agenttrace/ingest/v1"
)

var decodeOpts = newJSONMarshaler().UnmarshalOptions

func TestDecodeBatchStringifiesMapValues(t *testing.T) {
	body := `{"batch":[
	  {"id":"t","type":"EVENT_TYPE_TRACE_CREATE","trace":{"id":"t1","metadata":{"n":1,"b":true,"o":{"a":[1, 2]},"z":null,"s":"x","f":0.10}}},
	  {"id":"o","type":"EVENT_TYPE_OBSERVATION_CREATE","observation":{"id":"o1","trace_id":"t1",
	    "model_parameters":{"temperature":0.1,"max_tokens":256,"stop":["\n"]},"metadata":{"s":"plain"}}},
	  {"id":"o2","observation":{"id":"o2","modelParameters":{"stream":false}}},
	  {"id":"s","type":"EVENT_TYPE_SCORE_CREATE","score":{"id":"s1","metadata":{"k":{"deep":{"er":1}}}}}
	]}`
	req, failures, err := decodeBatch([]byte(body), decodeOpts)
	if err != nil || len(failures) != 0 {
		t.Fatalf("err %v, failures %+v", err, failures)
	}
	want := map[string]map[string]string{
		"t":  {"n": "1", "b": "true", "o": `{"a":[1,2]}`, "z": "null", "s": "x", "f": "0.10"},
		"o":  {"temperature": "0.1", "max_tokens": "256", "stop": `["\n"]`},
		"o2": {"stream": "false"},
		"s":  {"k": `{"deep":{"er":1}}`},
	}
	got := map[string]map[string]string{
		"t":  req.GetBatch()[0].GetTrace().GetMetadata(),
		"o":  req.GetBatch()[1].GetObservation().GetModelParameters(),
		"o2": req.GetBatch()[2].GetObservation().GetModelParameters(),
		"s":  req.GetBatch()[3].GetScore().GetMetadata(),
	}
	for k, w := range want {
		if len(got[k]) != len(w) {
			t.Errorf("%s: got %v, want %v", k, got[k], w)
		}
		for mk, mv := range w {
			if got[k][mk] != mv {
				t.Errorf("%s[%s] = %q, want %q", k, mk, got[k][mk], mv)
			}
		}
	}
	if req.GetBatch()[1].GetObservation().GetMetadata()["s"] != "plain" || req.GetBatch()[1].GetObservation().GetTraceId() != "t1" {
		t.Errorf("the rest of the event was lost: %v", req.GetBatch()[1])
	}
}

func TestDecodeBatchRefusesOneEvent(t *testing.T) {
	tests := []struct {
		name, event string
		wantField   string
		wantErr     string
	}{
		{"event not an object", `42`, "", "an event must be a JSON object"},
		{"event null", `null`, "", "an event must be a JSON object"},
		{"bad timestamp", `{"id":"e","timestamp":"yesterday"}`, "timestamp", `invalid google.protobuf.Timestamp value "yesterday"`},
		{"event type a list", `{"id":"e","type":[]}`, "type", "invalid value for enum"},
		{"body not an object", `{"id":"e","trace":"t1"}`, "trace", "unexpected token"},
		{"metadata not an object", `{"id":"e","trace":{"id":"t","metadata":[1]}}`, "trace.metadata", "unexpected token"},
		{"model_parameters a string", `{"id":"e","observation":{"modelParameters":"hot"}}`, "observation.model_parameters", "unexpected token"},
		{"usage count a word", `{"id":"e","observation":{"usage":{"input":"many"}}}`, "observation.usage.input", "invalid value for int64"},
		{"usage count fractional", `{"id":"e","observation":{"usage":{"output":1.5}}}`, "observation.usage.output", "invalid value for int64"},
		{"usage detail a word", `{"id":"e","observation":{"usage":{"details":{"ok":1,"cached":"x"}}}}`, "observation.usage.details.cached", "invalid value for int64"},
		{"cost a word", `{"id":"e","observation":{"cost":{"total":"cheap"}}}`, "observation.cost.total", "invalid value for double"},
		{"tags not strings", `{"id":"e","trace":{"tags":[1]}}`, "trace.tags", "invalid value for string"},
		{"score value a word", `{"id":"e","score":{"value":"high"}}`, "score.value", "invalid value for double"},
		{"id a number", `{"id":7}`, "id", "invalid value for string"},
		{"json name of a field", `{"id":"e","observation":{"startTime":"soon"}}`, "observation.start_time", "invalid google.protobuf.Timestamp"},
		// Each name alone decodes: the nested message is named, with
		// protojson's error rather than "invalid event".
		{"a nested field under both names", `{"id":"e","observation":{"startTime":"2025-01-01T00:00:00Z","start_time":"2025-01-01T00:00:00Z"}}`, "observation", "duplicate field"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			body := `{"batch":[{"id":"ok","type":"EVENT_TYPE_TRACE_CREATE","trace":{"id":"t"}},` + tt.event + `]}`
			req, failures, err := decodeBatch([]byte(body), decodeOpts)
			if err != nil {
				t.Fatalf("the batch failed: %v", err)
			}
			if len(req.GetBatch()) != 2 || req.GetBatch()[0].GetTrace().GetId() != "t" {
				t.Fatalf("batch %v: want the good event and a placeholder", req.GetBatch())
			}
			if len(failures) != 1 {
				t.Fatalf("failures %+v, want one", failures)
			}
			f := failures[0]
			if f.index != 1 || f.field != tt.wantField || !strings.Contains(f.msg, tt.wantErr) {
				t.Errorf("failure %+v, want index 1, field %q, error naming %q", f, tt.wantField, tt.wantErr)
			}
			if strings.Contains(f.msg, "(line ") || strings.HasPrefix(f.msg, "proto") {
				t.Errorf("error %q points into a fragment the caller never sent", f.msg)
			}
			if ph := req.GetBatch()[1]; ph.GetType() != ingestv1.EventType_EVENT_TYPE_UNSPECIFIED || ph.GetTrace() != nil || ph.GetObservation() != nil {
				t.Errorf("placeholder carries more than the id: %v", ph)
			}
		})
	}
}

func TestDecodeBatchPlaceholderKeepsID(t *testing.T) {
	req, _, err := decodeBatch([]byte(`{"batch":[{"id":"ev-9","timestamp":1}]}`), decodeOpts)
	if err != nil || req.GetBatch()[0].GetId() != "ev-9" {
		t.Fatalf("err %v, batch %v", err, req.GetBatch())
	}
}

func TestDecodeBatchWholeBody(t *testing.T) {
	tests := []struct {
		name, body string
		wantErr    string // empty: decodes to wantEvents events
		wantEvents int
	}{
		{"empty body", ``, "", 0},
		{"empty object", `{}`, "", 0},
		{"null batch", `{"batch":null}`, "", 0},
		{"empty batch", `{"batch":[]}`, "", 0},
		{"unknown top-level field", `{"batch":[{"id":"a"}],"metadata":{"sdk":"x"}}`, "", 1},
		{"array", `[{"id":"a"}]`, `"batch" array`, 0},
		{"string", `"batch"`, `"batch" array`, 0},
		{"null", `null`, `"batch" array`, 0},
		{"batch an object", `{"batch":{"id":"a"}}`, `"batch" array`, 0},
		{"batch a number", `{"batch":1}`, `"batch" array`, 0},
		{"syntax", `{"batch":[}`, "syntax error at byte", 0},
		{"trailing data", `{"batch":[]} {}`, "syntax error", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, failures, err := decodeBatch([]byte(tt.body), decodeOpts)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) || !strings.HasPrefix(err.Error(), "malformed JSON body: ") {
					t.Fatalf("err %v, want a malformed body error naming %q", err, tt.wantErr)
				}
				return
			}
			if err != nil || len(failures) != 0 || len(req.GetBatch()) != tt.wantEvents {
				t.Fatalf("err %v, failures %+v, events %d (want %d)", err, failures, len(req.GetBatch()), tt.wantEvents)
			}
		})
	}
}

// FuzzDecodeBatch: the batch body is untrusted. Whatever it holds, decoding
// never panics, a usable body keeps one event per element of its batch
// (failures named by valid, increasing indexes), and every decoded event
// is a message protojson can write back.
func FuzzDecodeBatch(f *testing.F) {
	for _, s := range []string{
		`{"batch":[{"id":"a","type":"EVENT_TYPE_TRACE_CREATE","trace":{"id":"t","metadata":{"n":1}}}]}`,
		`{"batch":[{"observation":{"usage":{"input":"x","details":{"a":"b"}},"model_parameters":{"t":0.1}}},7,null]}`,
		`{"batch":[{"score":{"metadata":[]}},{"trace":{"tags":[1]}},{"timestamp":"x"}]}`,
		`{"batch":{}}`, `[]`, `null`, ``, `{"batch":[{"id":"\u00ff","observation":{"modelParameters":{"":{}}}}]}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		req, failures, err := decodeBatch(data, decodeOpts)
		if err != nil {
			if req != nil || failures != nil {
				t.Fatal("a refused body also returned a batch")
			}
			return
		}
		var top map[string]json.RawMessage
		var sent []json.RawMessage
		if json.Unmarshal(data, &top) == nil && json.Unmarshal(top["batch"], &sent) == nil && len(sent) != len(req.GetBatch()) {
			t.Fatalf("%d events sent, %d decoded", len(sent), len(req.GetBatch()))
		}
		prev := -1
		for _, fl := range failures {
			if fl.index <= prev || fl.index >= len(req.GetBatch()) || fl.msg == "" {
				t.Fatalf("bad failure %+v after index %d of %d", fl, prev, len(req.GetBatch()))
			}
			prev = fl.index
		}
		for _, ev := range req.GetBatch() {
			if ev == nil {
				t.Fatal("nil event in the batch")
			}
			if _, err := protojson.Marshal(ev); err != nil && proto.Size(ev) >= 0 {
				// protojson refuses invalid UTF-8 that encoding/json let
				// through into an id; that is ingest's to refuse.
				if !strings.Contains(err.Error(), "UTF-8") {
					t.Fatalf("decoded event does not marshal: %v", err)
				}
			}
		}
	})
}
