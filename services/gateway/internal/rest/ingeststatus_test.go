package rest

import (
	"net/http"
	"strings"
	"testing"

	ingestv1 "github.com/agenttrace/agenttrace/pkg/gen/agenttrace/ingest/v1"
)

func TestIngestionStatusFollowsResults(t *testing.T) {
	ok := func(id string) *ingestv1.EventResult { return &ingestv1.EventResult{Id: id, Accepted: true} }
	bad := func(id string) *ingestv1.EventResult {
		return &ingestv1.EventResult{Id: id, Index: 1, Field: "observation.trace_id", Error: "required"}
	}
	tests := []struct {
		name       string
		resp       *ingestv1.IngestBatchResponse
		wantStatus int
		wantBody   string
	}{
		{
			name:       "all accepted",
			resp:       &ingestv1.IngestBatchResponse{Results: []*ingestv1.EventResult{ok("a"), ok("b")}, Accepted: 2},
			wantStatus: http.StatusOK,
			wantBody:   `{"results":[{"id":"a","accepted":true},{"id":"b","accepted":true}],"accepted":2}`,
		},
		{
			name:       "mixed",
			resp:       &ingestv1.IngestBatchResponse{Results: []*ingestv1.EventResult{ok("a"), bad("b")}, Accepted: 1, Rejected: 1},
			wantStatus: http.StatusMultiStatus,
			wantBody: `{"results":[{"id":"a","accepted":true},{"id":"b","index":1,"field":"observation.trace_id","error":"required"}],` +
				`"accepted":1,"rejected":1}`,
		},
		{
			name:       "none accepted",
			resp:       &ingestv1.IngestBatchResponse{Results: []*ingestv1.EventResult{bad("b")}, Rejected: 1},
			wantStatus: http.StatusBadRequest,
			wantBody:   `{"results":[{"id":"b","index":1,"field":"observation.trace_id","error":"required"}],"rejected":1}`,
		},
		{
			name:       "empty batch",
			resp:       &ingestv1.IngestBatchResponse{},
			wantStatus: http.StatusOK,
			wantBody:   `{"results":[]}`, // an empty list is [], not left out
		},
	}
	h := newHarness(t)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h.backend.mu.Lock()
			h.backend.ingestResp = tt.resp
			h.backend.mu.Unlock()
			r := h.do(t, "POST", "/api/v1/ingestion", strings.NewReader(`{"batch":[{"id":"a"},{"id":"b"}]}`), nil)
			if r.status != tt.wantStatus {
				t.Errorf("status %d, want %d", r.status, tt.wantStatus)
			}
			assertJSON(t, r.body, tt.wantBody)
		})
	}

	// Other routes keep their 200.
	r := h.do(t, "GET", "/api/v1/traces", nil, nil)
	if r.status != http.StatusOK {
		t.Errorf("list traces: %d", r.status)
	}
}
