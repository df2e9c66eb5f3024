package rest

import (
	"net/http"
	"strings"
	"testing"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	ingestv1 "github.com/agenttrace/agenttrace/pkg/gen/agenttrace/ingest/v1"
)

// An event with a wrongly typed field is refused on its own: its result
// takes its place among ingest's, the counts follow, and the batch answers
// 207 (some accepted) instead of failing whole.
func TestIngestionRefusesUndecodableEventsOnly(t *testing.T) {
	h := newHarness(t)
	body := `{"batch":[
	  {"id":"a","type":"EVENT_TYPE_OBSERVATION_CREATE","observation":{"id":"o1","trace_id":"t","model_parameters":{"temperature":0.1}}},
	  {"id":"b","type":"EVENT_TYPE_OBSERVATION_CREATE","observation":{"id":"o2","trace_id":"t","usage":{"input":"lots"}}},
	  {"type":"EVENT_TYPE_TRACE_CREATE","trace":{"id":"t","timestamp":"noon"}},
	  {"id":"d","type":"EVENT_TYPE_TRACE_CREATE","trace":{"id":"t","metadata":{"user":{"plan":"pro"}}}}
	]}`
	r := h.do(t, "POST", "/api/v1/ingestion", strings.NewReader(body), map[string]string{"Content-Type": "application/json"})
	if r.status != http.StatusMultiStatus {
		t.Fatalf("status %d, want 207: %s", r.status, r.body)
	}
	assertJSON(t, r.body, `{"results":[
	  {"id":"a","accepted":true},
	  {"id":"b","index":1,"field":"observation.usage.input","error":"invalid value for int64 field input: \"lots\""},
	  {"id":"#2","index":2,"field":"trace.timestamp","error":"invalid google.protobuf.Timestamp value \"noon\""},
	  {"id":"d","index":3,"accepted":true}
	],"accepted":2,"rejected":2}`)

	// ingest saw the whole batch: the good events decoded, the others as
	// placeholders holding their id.
	req := h.backend.last(t).req.(*ingestv1.IngestBatchRequest)
	if len(req.GetBatch()) != 4 {
		t.Fatalf("ingest got %d events, want 4", len(req.GetBatch()))
	}
	if got := req.GetBatch()[0].GetObservation().GetModelParameters()["temperature"]; got != "0.1" {
		t.Errorf("temperature = %q, want \"0.1\"", got)
	}
	if got := req.GetBatch()[3].GetTrace().GetMetadata()["user"]; got != `{"plan":"pro"}` {
		t.Errorf("metadata.user = %q", got)
	}
	if ph := req.GetBatch()[1]; ph.GetId() != "b" || ph.GetObservation() != nil {
		t.Errorf("placeholder %v", ph)
	}
}

func TestIngestionAllUndecodableIs400WithResults(t *testing.T) {
	h := newHarness(t)
	r := h.do(t, "POST", "/api/v1/ingestion", strings.NewReader(`{"batch":[{"id":"a","timestamp":false}]}`), nil)
	if r.status != http.StatusBadRequest {
		t.Fatalf("status %d, want 400", r.status)
	}
	assertJSON(t, r.body, `{"results":[{"id":"a","field":"timestamp","error":"syntax error: unexpected token false"}],"rejected":1}`)
}

// A refusal of the whole call (credentials, batch limits) is ingest's
// answer, whatever the events hold.
func TestIngestionBackendErrorWins(t *testing.T) {
	h := newHarness(t)
	h.backend.setErr(status.Error(codes.Unauthenticated, "invalid, expired or revoked credentials"))
	r := h.do(t, "POST", "/api/v1/ingestion", strings.NewReader(`{"batch":[{"id":"a","timestamp":false}]}`), nil)
	if r.status != http.StatusUnauthorized {
		t.Fatalf("status %d, want 401", r.status)
	}
	if e := apiError(t, r); e.Code != "UNAUTHENTICATED" {
		t.Errorf("error %+v", e)
	}
}
