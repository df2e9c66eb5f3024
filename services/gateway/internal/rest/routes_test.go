package rest

import (
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/structpb"
	"google.golang.org/protobuf/types/known/timestamppb"

	authv1 "github.com/agenttrace/agenttrace/pkg/gen/agenttrace/auth/v1"
	commonv1 "github.com/agenttrace/agenttrace/pkg/gen/agenttrace/common/v1"
	ingestv1 "github.com/agenttrace/agenttrace/pkg/gen/agenttrace/ingest/v1"
	queryv1 "github.com/agenttrace/agenttrace/pkg/gen/agenttrace/query/v1"
)

// A metrics query as users write it (Langfuse's camelCase), and what the
// gateway must hand the query service.
const (
	metricsJSON = `{"view": "observations", "dimensions": [{"field": "providedModelName"}],
		"metrics": [{"measure": "totalCost", "aggregation": "sum"}],
		"filters": [{"column": "metadata", "key": "team", "operator": "=", "value": "search"},
			{"column": "tags", "operator": "any of", "value": ["a", "b"]}],
		"timeDimension": {"granularity": "day"}, "fromTimestamp": "2025-03-01T00:00:00Z", "toTimestamp": "2025-03-31T00:00:00Z",
		"orderBy": [{"field": "sum_totalCost", "direction": "desc"}], "config": {"rowLimit": 20}}`
	metricsAnswer = `{"data":[{"model":"gpt-4o","sum_totalCost":1.5,"p95_latency":null}]}`
)

var metricsQuery = &queryv1.MetricsQuery{
	View:       "observations",
	Dimensions: []*queryv1.MetricsDimension{{Field: "providedModelName"}},
	Metrics:    []*queryv1.MetricsMetric{{Measure: "totalCost", Aggregation: "sum"}},
	Filters: []*queryv1.MetricsFilter{
		{Column: "metadata", Key: "team", Operator: "=", Value: structpb.NewStringValue("search")},
		{Column: "tags", Operator: "any of", Value: structpb.NewListValue(&structpb.ListValue{Values: []*structpb.Value{
			structpb.NewStringValue("a"), structpb.NewStringValue("b")}})},
	},
	TimeDimension: &queryv1.MetricsTimeDimension{Granularity: "day"},
	FromTimestamp: timestamppb.New(time.Date(2025, 3, 1, 0, 0, 0, 0, time.UTC)),
	ToTimestamp:   timestamppb.New(time.Date(2025, 3, 31, 0, 0, 0, 0, time.UTC)),
	OrderBy:       []*queryv1.MetricsOrderBy{{Field: "sum_totalCost", Direction: "desc"}},
	Config:        &queryv1.MetricsConfig{RowLimit: 20},
}

// TestMetricsQueryParameter: GET /api/v1/metrics takes the query as one
// JSON parameter and refuses anything else with a 400 naming it.
func TestMetricsQueryParameter(t *testing.T) {
	h := newHarness(t)
	tests := []struct{ name, query, wantMsg string }{
		{"not JSON", "query=" + url.QueryEscape("{view: traces"), "query is not a metrics query in JSON"},
		{"an unknown field", "query=" + url.QueryEscape(`{"view": "traces", "colour": "red"}`), "colour"},
		{"twice", "query=%7B%7D&query=%7B%7D", "query is given 2 times"},
		{"fields as parameters", "view=traces", `unknown query parameter "view"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := h.do(t, "GET", "/api/v1/metrics?"+tt.query, nil, nil)
			if r.status != http.StatusBadRequest {
				t.Fatalf("status %d, want 400: %s", r.status, r.body)
			}
			if e := apiError(t, r); e.Code != "INVALID_ARGUMENT" || !strings.Contains(e.Message, tt.wantMsg) {
				t.Errorf("error %+v, want INVALID_ARGUMENT %q", e, tt.wantMsg)
			}
		})
	}
	if h.backend.count() != 0 {
		t.Error("a malformed metrics query reached the backend")
	}
	// Without the parameter the service decides (it answers that the query
	// is required); other routes keep the default parameters.
	if r := h.do(t, "GET", "/api/v1/metrics", nil, nil); r.status != http.StatusOK || !proto.Equal(h.backend.last(t).req, &queryv1.QueryMetricsRequest{}) {
		t.Errorf("no parameter: status %d, request %v", r.status, h.backend.last(t).req)
	}
}

func TestEveryRouteReachesItsRPC(t *testing.T) {
	from := time.Date(2025, 3, 1, 12, 0, 0, 123456789, time.UTC)
	tests := []struct {
		method, path, body string
		wantRPC            string
		wantReq            proto.Message
		wantBody           string // the JSON answer; empty for {}
	}{
		{
			method: "POST", path: "/api/v1/ingestion",
			body:    `{"batch":[{"id":"e1","type":"EVENT_TYPE_TRACE_CREATE","trace":{"id":"t1","name":"n","user_id":"u"},"unknown_field":1}]}`,
			wantRPC: "IngestBatch",
			wantReq: &ingestv1.IngestBatchRequest{Batch: []*ingestv1.IngestEvent{{
				Id: "e1", Type: ingestv1.EventType_EVENT_TYPE_TRACE_CREATE,
				Trace: &ingestv1.TraceBody{Id: "t1", Name: proto.String("n"), UserId: proto.String("u")},
			}}},
			wantBody: `{"results":[{"id":"e1","accepted":true}],"accepted":1}`,
		},
		{
			method: "GET", path: "/api/v1/traces/tr-1",
			wantRPC: "GetTrace", wantReq: &queryv1.GetTraceRequest{TraceId: "tr-1"},
			wantBody: `{"observations":[],"scores":[]}`,
		},
		{
			method: "GET", path: "/api/v1/traces?page_size=10&tags=a&tags=b&user_id=u1&from_time=" + from.Format(time.RFC3339Nano),
			wantRPC:  "ListTraces",
			wantReq:  &queryv1.ListTracesRequest{PageSize: 10, Tags: []string{"a", "b"}, UserId: "u1", FromTime: timestamppb.New(from)},
			wantBody: `{"traces":[],"next_page_token":"next"}`,
		},
		{
			method: "GET", path: "/api/v1/observations?trace_id=t1&type=OBSERVATION_TYPE_GENERATION&model=gpt-4o",
			wantRPC:  "ListObservations",
			wantReq:  &queryv1.ListObservationsRequest{TraceId: "t1", Type: commonv1.ObservationType_OBSERVATION_TYPE_GENERATION, Model: "gpt-4o"},
			wantBody: `{"observations":[]}`,
		},
		{
			method: "GET", path: "/api/v1/observations?type=2",
			wantRPC:  "ListObservations",
			wantReq:  &queryv1.ListObservationsRequest{Type: commonv1.ObservationType_OBSERVATION_TYPE_GENERATION},
			wantBody: `{"observations":[]}`,
		},
		{
			method: "GET", path: "/api/v1/sessions?user_id=u1&page_token=abc",
			wantRPC: "ListSessions", wantReq: &queryv1.ListSessionsRequest{UserId: "u1", PageToken: "abc"},
			wantBody: `{"sessions":[]}`,
		},
		{
			method: "GET", path: "/api/v1/sessions/s%201",
			wantRPC: "GetSession", wantReq: &queryv1.GetSessionRequest{SessionId: "s 1"},
			wantBody: `{"traces":[],"scores":[]}`,
		},
		{
			method: "GET", path: "/api/v1/scores?trace_id=t1&source=SCORE_SOURCE_API",
			wantRPC: "ListScores", wantReq: &queryv1.ListScoresRequest{TraceId: "t1", Source: commonv1.ScoreSource_SCORE_SOURCE_API},
			wantBody: `{"scores":[]}`,
		},
		{
			method: "GET", path: "/api/v1/metrics?query=" + url.QueryEscape(metricsJSON),
			wantRPC: "QueryMetrics", wantReq: &queryv1.QueryMetricsRequest{Query: metricsQuery},
			wantBody: metricsAnswer,
		},
		{
			method: "POST", path: "/api/v1/metrics", body: metricsJSON,
			wantRPC: "QueryMetrics", wantReq: &queryv1.QueryMetricsRequest{Query: metricsQuery},
			wantBody: metricsAnswer,
		},
		{
			method: "POST", path: "/api/v1/projects", body: `{"name":"agents"}`,
			wantRPC: "CreateProject", wantReq: &authv1.CreateProjectRequest{Name: "agents"},
			wantBody: `{"project":{"id":"p1","organization_id":"o1","name":"agents"}}`,
		},
		{
			method: "GET", path: "/api/v1/projects",
			wantRPC: "ListProjects", wantReq: &authv1.ListProjectsRequest{},
			wantBody: `{"projects":[]}`,
		},
		{
			method: "POST", path: "/api/v1/api-keys", body: `{"project_id":"p1","note":"ci"}`,
			wantRPC: "CreateAPIKey", wantReq: &authv1.CreateAPIKeyRequest{ProjectId: "p1", Note: "ci"},
		},
		{
			method: "GET", path: "/api/v1/api-keys?project_id=p1",
			wantRPC: "ListAPIKeys", wantReq: &authv1.ListAPIKeysRequest{ProjectId: "p1"},
			wantBody: `{"api_keys":[]}`,
		},
		{
			method: "DELETE", path: "/api/v1/api-keys/k1",
			wantRPC: "RevokeAPIKey", wantReq: &authv1.RevokeAPIKeyRequest{KeyId: "k1"},
		},
	}
	h := newHarness(t)
	for _, tt := range tests {
		t.Run(tt.method+" "+tt.path, func(t *testing.T) {
			var body io.Reader
			if tt.body != "" {
				body = strings.NewReader(tt.body)
			}
			r := h.do(t, tt.method, tt.path, body, map[string]string{"Content-Type": "application/json"})
			if r.status != http.StatusOK {
				t.Fatalf("status %d: %s", r.status, r.body)
			}
			c := h.backend.last(t)
			if c.method != tt.wantRPC {
				t.Errorf("reached %s, want %s", c.method, tt.wantRPC)
			}
			if !proto.Equal(c.req, tt.wantReq) {
				t.Errorf("backend got %v\nwant %v", c.req, tt.wantReq)
			}
			if tt.wantBody == "" {
				tt.wantBody = "{}"
			}
			assertJSON(t, r.body, tt.wantBody)
			if ct := r.header.Get("Content-Type"); ct != "application/json" {
				t.Errorf("Content-Type %q", ct)
			}
		})
	}
}

// A user names the project a call acts on with X-AgentTrace-Project; it
// reaches the backends as the x-agenttrace-project metadata the shared
// interceptor reads, in any header case, and only once.
func TestProjectHeaderForwarded(t *testing.T) {
	tests := []struct {
		name    string
		headers map[string]string
		want    []string
	}{
		{name: "canonical", headers: map[string]string{"X-AgentTrace-Project": "p-1"}, want: []string{"p-1"}},
		{name: "lower case", headers: map[string]string{"x-agenttrace-project": "p-2"}, want: []string{"p-2"}},
		{name: "absent", headers: map[string]string{}, want: nil},
		{name: "smuggled as grpc metadata", headers: map[string]string{"Grpc-Metadata-X-Agenttrace-Project": "p-evil"}, want: nil},
		{name: "both", headers: map[string]string{"X-AgentTrace-Project": "p-3", "Grpc-Metadata-X-Agenttrace-Project": "p-evil"}, want: []string{"p-3"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t)
			tt.headers["Authorization"] = "Bearer token"
			r := h.do(t, "GET", "/api/v1/traces/t1", nil, tt.headers)
			if r.status != http.StatusOK {
				t.Fatalf("status %d: %s", r.status, r.body)
			}
			got := h.backend.last(t).md.Get("x-agenttrace-project")
			if !slices.Equal(got, tt.want) {
				t.Fatalf("x-agenttrace-project metadata %q, want %q", got, tt.want)
			}
		})
	}
}

func TestHeadersForwardedToBackends(t *testing.T) {
	h := newHarness(t)
	const (
		auth        = "Basic cGstYXQtMDAwOnNrLWF0LXNlY3JldA=="
		traceID     = "4bf92f3577b34da6a3ce929d0e0e4736"
		traceparent = "00-" + traceID + "-00f067aa0ba902b7-01"
	)
	r := h.do(t, "GET", "/api/v1/traces/t1", nil, map[string]string{
		"Authorization": auth,
		"X-Request-Id":  "req-42",
		"Traceparent":   traceparent,
		// Clients must not inject metadata the backends might trust.
		"Grpc-Metadata-X-Project-Id": "someone-elses",
	})
	if r.status != http.StatusOK {
		t.Fatalf("status %d: %s", r.status, r.body)
	}
	md := h.backend.last(t).md
	if got := md.Get("authorization"); len(got) != 1 || got[0] != auth {
		t.Errorf("authorization metadata %q, want the header unchanged", got)
	}
	if got := md.Get("x-request-id"); len(got) != 1 || got[0] != "req-42" {
		t.Errorf("x-request-id metadata %q", got)
	}
	if got := md.Get("traceparent"); len(got) != 1 || !strings.Contains(got[0], traceID) {
		t.Errorf("traceparent metadata %q does not continue trace %s", got, traceID)
	}
	for k := range md {
		if strings.Contains(k, "project") {
			t.Errorf("client-chosen metadata %s=%q reached the backend", k, md.Get(k))
		}
	}
	if got := r.header.Get("X-Request-Id"); got != "req-42" {
		t.Errorf("response X-Request-Id %q", got)
	}
	if strings.Contains(h.logs.String(), "c2VjcmV0") || strings.Contains(h.logs.String(), "cGstYXQt") {
		t.Error("the access log contains the Authorization value")
	}

	// Without (or with an unusable) request id the gateway makes one up.
	for _, id := range []string{"", "bad id with spaces", strings.Repeat("x", 200)} {
		r = h.do(t, "GET", "/api/v1/projects", nil, map[string]string{"X-Request-Id": id})
		got := r.header.Get("X-Request-Id")
		if len(got) != 32 || got == id {
			t.Errorf("request id %q for %q, want a fresh 32-hex id", got, id)
		}
		if fwd := h.backend.last(t).md.Get("x-request-id"); len(fwd) != 1 || fwd[0] != got {
			t.Errorf("forwarded request id %q, want %q", fwd, got)
		}
	}
}

func TestHealthAndOpenAPI(t *testing.T) {
	h := newHarness(t)
	r := h.do(t, "GET", "/health", nil, nil)
	if r.status != http.StatusOK || strings.TrimSpace(string(r.body)) != `{"status":"ok"}` {
		t.Errorf("/health = %d %s", r.status, r.body)
	}

	r = h.do(t, "GET", "/api/v1/openapi.json", nil, nil)
	if r.status != http.StatusOK || r.header.Get("Content-Type") != "application/json" {
		t.Fatalf("openapi = %d %q", r.status, r.header.Get("Content-Type"))
	}
	var spec struct {
		Paths map[string]map[string]any `json:"paths"`
	}
	if err := json.Unmarshal(r.body, &spec); err != nil {
		t.Fatalf("openapi is not JSON: %v", err)
	}
	for path, method := range map[string]string{
		"/api/v1/ingestion":             "post",
		"/api/v1/traces/{trace_id}":     "get",
		"/api/v1/api-keys/{key_id}":     "delete",
		"/api/v1/sessions":              "get",
		"/api/v1/projects":              "post",
		"/api/v1/observations":          "get",
		"/api/v1/scores":                "get",
		"/api/v1/api-keys":              "get",
		"/api/v1/sessions/{session_id}": "get",
		"/api/v1/metrics":               "get",
	} {
		if _, ok := spec.Paths[path][method]; !ok {
			t.Errorf("openapi lacks %s %s", method, path)
		}
	}
	if h.backend.count() != 0 {
		t.Error("health or openapi called a backend")
	}
}

func TestRoutingErrors(t *testing.T) {
	tests := []struct {
		method, path string
		header       map[string]string
		wantStatus   int
		wantCode     string
		wantMsg      string
	}{
		{"GET", "/api/v1/nope", nil, http.StatusNotFound, "NOT_FOUND", "no route for GET /api/v1/nope"},
		{"GET", "/", nil, http.StatusNotFound, "NOT_FOUND", "no route"},
		{"PUT", "/api/v1/traces", nil, http.StatusMethodNotAllowed, "UNIMPLEMENTED", "method PUT is not allowed on /api/v1/traces"},
		{"DELETE", "/api/v1/ingestion", nil, http.StatusMethodNotAllowed, "UNIMPLEMENTED", "not allowed"},
		{"POST", "/api/v1/traces", map[string]string{"Content-Type": "application/x-www-form-urlencoded"},
			http.StatusMethodNotAllowed, "UNIMPLEMENTED", "not allowed"},
	}
	h := newHarness(t)
	for _, tt := range tests {
		t.Run(tt.method+" "+tt.path, func(t *testing.T) {
			r := h.do(t, tt.method, tt.path, nil, tt.header)
			if r.status != tt.wantStatus {
				t.Fatalf("status %d, want %d: %s", r.status, tt.wantStatus, r.body)
			}
			e := apiError(t, r)
			if e.Code != tt.wantCode || !strings.Contains(e.Message, tt.wantMsg) {
				t.Errorf("error %+v, want %s %q", e, tt.wantCode, tt.wantMsg)
			}
		})
	}
	if h.backend.count() != 0 {
		t.Error("a routing error reached a backend")
	}
}

// assertJSON compares JSON documents by value: protojson varies its
// whitespace on purpose, so bytes are not comparable.
func assertJSON(t *testing.T, got []byte, want string) {
	t.Helper()
	var g, w any
	if err := json.Unmarshal(got, &g); err != nil {
		t.Fatalf("body %s is not JSON: %v", got, err)
	}
	if err := json.Unmarshal([]byte(want), &w); err != nil {
		t.Fatalf("bad expectation %s: %v", want, err)
	}
	if !reflect.DeepEqual(g, w) {
		t.Errorf("body %s, want %s", got, want)
	}
}

func TestRequestTimeout(t *testing.T) {
	h := newHarnessWithTimeout(t, 100*time.Millisecond)
	r := h.do(t, "GET", "/api/v1/traces/slow", nil, nil)
	if r.status != http.StatusGatewayTimeout {
		t.Fatalf("status %d: %s", r.status, r.body)
	}
	if e := apiError(t, r); e.Code != "DEADLINE_EXCEEDED" {
		t.Errorf("error %+v", e)
	}
}
