package langfuse

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/base64"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"go.uber.org/goleak"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	authv1 "github.com/agenttrace/agenttrace/pkg/gen/agenttrace/auth/v1"
	ingestv1 "github.com/agenttrace/agenttrace/pkg/gen/agenttrace/ingest/v1"
	"github.com/agenttrace/agenttrace/pkg/grpctest"
	"github.com/agenttrace/agenttrace/services/gateway/internal/grpchttp"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// fakes are ingest's IngestService and auth's AuthService: they record
// what they are sent and answer as told.
type fakes struct {
	ingestv1.UnimplementedIngestServiceServer
	authv1.UnimplementedAuthServiceServer

	mu       sync.Mutex
	batches  [][]*ingestv1.IngestEvent
	mds      []metadata.MD
	ingestEr error
	// reject maps a native event id to the (field, error) ingest rejects it with.
	reject    map[string][2]string
	authErr   error
	principal *authv1.Principal
	listErr   error
	projects  []*authv1.Project
}

func (f *fakes) IngestBatch(ctx context.Context, req *ingestv1.IngestBatchRequest) (*ingestv1.IngestBatchResponse, error) {
	md, _ := metadata.FromIncomingContext(ctx)
	f.mu.Lock()
	defer f.mu.Unlock()
	f.mds = append(f.mds, md)
	if f.ingestEr != nil {
		return nil, f.ingestEr
	}
	f.batches = append(f.batches, req.GetBatch())
	_ = grpc.SetHeader(ctx, metadata.Pairs("x-ratelimit-remaining", "9"))
	resp := &ingestv1.IngestBatchResponse{}
	for i, e := range req.GetBatch() {
		r := &ingestv1.EventResult{Id: e.GetId(), Index: int32(i), Accepted: true}
		if rej, ok := f.reject[e.GetId()]; ok {
			r.Accepted, r.Field, r.Error = false, rej[0], rej[1]
		}
		resp.Results = append(resp.Results, r)
	}
	return resp, nil
}

func (f *fakes) Authenticate(ctx context.Context, req *authv1.AuthenticateRequest) (*authv1.AuthenticateResponse, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.authErr != nil {
		return nil, f.authErr
	}
	if req.GetAuthorization() != basicAuth {
		return nil, status.Error(codes.Unauthenticated, "invalid, expired or revoked credentials")
	}
	return &authv1.AuthenticateResponse{Principal: f.principal}, nil
}

func (f *fakes) ListProjects(ctx context.Context, req *authv1.ListProjectsRequest) (*authv1.ListProjectsResponse, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.listErr != nil {
		return nil, f.listErr
	}
	return &authv1.ListProjectsResponse{Projects: f.projects}, nil
}

func (f *fakes) sent() []*ingestv1.IngestEvent {
	f.mu.Lock()
	defer f.mu.Unlock()
	var all []*ingestv1.IngestEvent
	for _, b := range f.batches {
		all = append(all, b...)
	}
	return all
}

var basicAuth = "Basic " + base64.StdEncoding.EncodeToString([]byte("pk-at-1:sk-at-1"))

// serve runs the routes over real HTTP in front of the fakes on a real
// localhost gRPC port.
func serve(t *testing.T, f *fakes, tweak func(*Config)) *httptest.Server {
	t.Helper()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := grpc.NewServer()
	ingestv1.RegisterIngestServiceServer(srv, f)
	authv1.RegisterAuthServiceServer(srv, f)
	grpctest.Serve(t, srv, lis)
	conn, err := grpc.NewClient(lis.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	otlp := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Header().Set("X-Otlp", "1") })
	cfg := Config{
		Ingest: ingestv1.NewIngestServiceClient(conn), Auth: authv1.NewAuthServiceClient(conn), OTLP: otlp,
		Log: slog.New(slog.NewTextHandler(io.Discard, nil)), MaxBodyBytes: 1 << 20, Version: "1.2.3",
	}
	if tweak != nil {
		tweak(&cfg)
	}
	routes, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if h, ok := routes.Exact[r.URL.Path]; ok {
			h.ServeHTTP(w, r)
			return
		}
		for p, h := range routes.Prefix {
			if strings.HasPrefix(r.URL.Path, p) {
				h.ServeHTTP(w, r)
				return
			}
		}
		http.NotFound(w, r)
	}))
	t.Cleanup(func() {
		ts.Close()
		conn.Close()
		srv.Stop()
	})
	return ts
}

type answer struct {
	status int
	header http.Header
	body   []byte
}

func do(t *testing.T, ts *httptest.Server, method, path string, body []byte, header map[string]string) answer {
	t.Helper()
	req, err := http.NewRequest(method, ts.URL+path, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", basicAuth)
	req.Header.Set("X-Langfuse-Sdk-Name", "langfuse-js")
	req.Header.Set("X-Langfuse-Sdk-Version", "3.38.0")
	req.Header.Set("X-Langfuse-Public-Key", "pk-at-1")
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := ts.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return answer{resp.StatusCode, resp.Header, b}
}

func batchOf(events ...string) []byte {
	return []byte(`{"batch":[` + strings.Join(events, ",") + `],"metadata":{"sdk_name":"langfuse-js","batch_size":` + itoa(len(events)) + `}}`)
}

func itoa(n int) string { return formatInt(int64(n)) }

func decodeResult(t *testing.T, a answer) batchResult {
	t.Helper()
	if a.status != http.StatusMultiStatus {
		t.Fatalf("status %d, body %s", a.status, a.body)
	}
	var r batchResult
	dec := json.NewDecoder(bytes.NewReader(a.body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&r); err != nil {
		t.Fatalf("body %s: %v", a.body, err)
	}
	return r
}

func TestIngestionMixedBatch(t *testing.T) {
	f := &fakes{reject: map[string][2]string{
		"e-rej":  {"observation.start_time", "2400-01-01T00:00:00Z is out of range"},
		"e-span": {"observation.end_time", "must not be before observation.start_time"},
	}}
	ts := serve(t, f, nil)
	body := batchOf(
		event("e-trace", "trace-create", `{"id":"t1","name":"chat"}`),
		event("e-span", "span-create", `{"id":"o1","traceId":"t1"}`),
		event("e-bad", "span-create", `{"id":"o2","traceId":"t1","level":"LOUD"}`),
		event("e-rej", "span-create", `{"id":"o3","traceId":"t1","startTime":"2400-01-01T00:00:00Z"}`),
		event("e-orphan", "generation-create", `{"id":"o4"}`),
		event("e-log", "sdk-log", `{"log":"hello"}`),
		event("e-score", "score-create", `{"traceId":"t1","name":"n","value":1}`),
		`{"id":"e-unknown","type":"prompt-create","timestamp":"`+evTS+`","body":{}}`,
	)
	a := do(t, ts, http.MethodPost, IngestionPath, body, nil)
	r := decodeResult(t, a)
	if got := a.header.Get("X-RateLimit-Remaining"); got != "9" {
		t.Errorf("rate limit header %q", got)
	}
	wantOK := []string{"e-trace", "e-orphan", "e-log", "e-score"}
	if len(r.Successes) != len(wantOK) {
		t.Fatalf("successes %+v", r.Successes)
	}
	for i, id := range wantOK {
		if r.Successes[i] != (success{ID: id, Status: 201}) {
			t.Errorf("success %d = %+v, want %s", i, r.Successes[i], id)
		}
	}
	wantErr := map[string]string{
		"e-bad":     "body.level: must be one of",
		"e-rej":     "body.startTime: 2400-01-01T00:00:00Z is out of range",
		"e-span":    "body.endTime: must not be before body.startTime",
		"e-unknown": `type: unknown event type "prompt-create"`,
	}
	if len(r.Errors) != len(wantErr) {
		t.Fatalf("errors %+v", r.Errors)
	}
	for _, e := range r.Errors {
		if e.Status != 400 || e.Message != "Invalid request data" || !strings.HasPrefix(e.Error, wantErr[e.ID]) {
			t.Errorf("error %+v, want one starting %q", e, wantErr[e.ID])
		}
	}
	// Only mapped events reach ingest: the trace, two spans, the orphan
	// generation with its implied trace, the score.
	sent := f.sent()
	if len(sent) != 6 {
		t.Fatalf("ingest got %d events: %v", len(sent), sent)
	}
	md := f.mds[0]
	if got := md.Get("authorization"); len(got) != 1 || got[0] != basicAuth {
		t.Errorf("authorization forwarded as %v", got)
	}
	if got := md.Get("x-langfuse-public-key"); len(got) != 0 {
		t.Errorf("x-langfuse-public-key forwarded: %v", got)
	}
}

func TestIngestionRetryIsIdempotent(t *testing.T) {
	f := &fakes{}
	ts := serve(t, f, nil)
	body := batchOf(event("e1", "span-create", `{"id":"o1"}`), event("e2", "score-create", `{"traceId":"t","name":"n","value":"x"}`))
	decodeResult(t, do(t, ts, http.MethodPost, IngestionPath, body, nil))
	decodeResult(t, do(t, ts, http.MethodPost, IngestionPath, body, nil))
	if len(f.batches) != 2 || len(f.batches[0]) != len(f.batches[1]) {
		t.Fatalf("batches %v", f.batches)
	}
	for i := range f.batches[0] {
		if !proto.Equal(f.batches[0][i], f.batches[1][i]) {
			t.Errorf("event %d differs on retry:\n%v\n%v", i, f.batches[0][i], f.batches[1][i])
		}
	}
}

func TestIngestionChunks(t *testing.T) {
	f := &fakes{}
	ts := serve(t, f, func(c *Config) { c.ChunkEvents = 2 })
	var evs []string
	for i := range 5 {
		evs = append(evs, event("e"+itoa(i), "trace-create", `{}`))
	}
	r := decodeResult(t, do(t, ts, http.MethodPost, IngestionPath, batchOf(evs...), nil))
	if len(r.Successes) != 5 || len(f.batches) != 3 {
		t.Fatalf("successes %v over %d calls", r.Successes, len(f.batches))
	}
}

func TestIngestionGzip(t *testing.T) {
	f := &fakes{}
	ts := serve(t, f, nil)
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	_, _ = zw.Write(batchOf(event("e1", "trace-create", `{}`)))
	_ = zw.Close()
	r := decodeResult(t, do(t, ts, http.MethodPost, IngestionPath, gz.Bytes(), map[string]string{"Content-Encoding": "gzip"}))
	if len(r.Successes) != 1 {
		t.Fatalf("%+v", r)
	}
}

func TestIngestionRequestErrors(t *testing.T) {
	tests := []struct {
		name    string
		f       *fakes
		method  string
		body    []byte
		header  map[string]string
		status  int
		message string
		retry   bool
	}{
		{name: "not JSON", body: []byte(`{"batch":`), status: 400, message: "Invalid request data"},
		{name: "no batch", body: []byte(`{"events":[]}`), status: 400, message: "Invalid request data"},
		{name: "GET", method: http.MethodGet, status: 405, message: "Method not allowed"},
		{name: "too large", body: bytes.Repeat([]byte(" "), 2<<20), status: 413, message: "too large"},
		{name: "too many events", body: batchOf(strings.Repeat(event("e", "trace-create", `{}`)+",", 10) + event("e", "trace-create", `{}`)), status: 413, message: "at most 10"},
		{name: "bad encoding", body: []byte(`{}`), header: map[string]string{"Content-Encoding": "br"}, status: 415, message: "Content-Encoding"},
		{name: "bad gzip", body: []byte(`{}`), header: map[string]string{"Content-Encoding": "gzip"}, status: 400, message: "gzip"},
		{name: "ingest unavailable", f: &fakes{ingestEr: status.Error(codes.Unavailable, "dial tcp 10.0.0.1:9000")}, body: batchOf(event("e", "trace-create", `{}`)), status: 503, message: grpchttp.UnavailableMessage, retry: true},
		{name: "wrong key", f: &fakes{ingestEr: status.Error(codes.Unauthenticated, "invalid, expired or revoked credentials")}, body: batchOf(event("e", "trace-create", `{}`)), status: 401, message: "invalid"},
		{name: "key without ingest scope", f: &fakes{ingestEr: status.Error(codes.PermissionDenied, "missing TRACES_WRITE")}, body: batchOf(event("e", "trace-create", `{}`)), status: 403, message: "TRACES_WRITE"},
		{name: "rate limited", f: &fakes{ingestEr: status.Error(codes.ResourceExhausted, "slow down")}, body: batchOf(event("e", "trace-create", `{}`)), status: 429, message: "slow down", retry: true},
		{name: "ingest fault", f: &fakes{ingestEr: status.Error(codes.Internal, "secret detail")}, body: batchOf(event("e", "trace-create", `{}`)), status: 500, message: "internal error"},
		{name: "empty batch with a wrong key", body: batchOf(), header: map[string]string{"Authorization": "Basic eDp5"}, status: 401, message: "invalid"},
		{name: "only bad events with a wrong key", body: batchOf(`{"id":"x"}`), header: map[string]string{"Authorization": "Basic eDp5"}, status: 401, message: "invalid"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := tt.f
			if f == nil {
				f = &fakes{}
			}
			ts := serve(t, f, func(c *Config) { c.MaxEvents = 10 })
			method := tt.method
			if method == "" {
				method = http.MethodPost
			}
			a := do(t, ts, method, IngestionPath, tt.body, tt.header)
			if a.status != tt.status {
				t.Fatalf("status %d, want %d; body %s", a.status, tt.status, a.body)
			}
			var body struct {
				Message string   `json:"message"`
				Errors  []string `json:"errors"`
			}
			if err := json.Unmarshal(a.body, &body); err != nil {
				t.Fatalf("body %s: %v", a.body, err)
			}
			if !strings.Contains(body.Message+strings.Join(body.Errors, " "), tt.message) {
				t.Errorf("body %s does not say %q", a.body, tt.message)
			}
			if got := a.header.Get("Retry-After") != ""; got != tt.retry {
				t.Errorf("Retry-After %q", a.header.Get("Retry-After"))
			}
			if strings.Contains(string(a.body), "10.0.0.1") || strings.Contains(string(a.body), "secret detail") {
				t.Errorf("internal detail leaked: %s", a.body)
			}
		})
	}
}

func TestIngestionEmptyBatch(t *testing.T) {
	ts := serve(t, &fakes{principal: &authv1.Principal{ProjectId: "p1"}}, nil)
	r := decodeResult(t, do(t, ts, http.MethodPost, IngestionPath, batchOf(), nil))
	if len(r.Successes) != 0 || len(r.Errors) != 0 {
		t.Fatalf("%+v", r)
	}
	a := do(t, ts, http.MethodPost, IngestionPath, batchOf(), nil)
	if !strings.Contains(string(a.body), `"successes":[]`) || !strings.Contains(string(a.body), `"errors":[]`) {
		t.Fatalf("empty lists must be [] not null: %s", a.body)
	}
}

func TestProjects(t *testing.T) {
	principal := &authv1.Principal{Kind: authv1.PrincipalKind_PRINCIPAL_KIND_API_KEY, ProjectId: "p1", OrganizationId: "o1"}
	tests := []struct {
		name   string
		f      *fakes
		header map[string]string
		status int
		want   string
	}{
		{name: "read key", f: &fakes{principal: principal, projects: []*authv1.Project{{Id: "p0", Name: "other"}, {Id: "p1", Name: "prod", RetentionDays: 30}}},
			status: 200, want: `{"data":[{"id":"p1","name":"prod","organization":{"id":"o1","name":"o1"},"metadata":{},"retentionDays":30}]}`},
		{name: "ingest-only key", f: &fakes{principal: principal, listErr: status.Error(codes.PermissionDenied, "missing PROJECTS_READ")},
			status: 200, want: `{"data":[{"id":"p1","name":"p1","organization":{"id":"o1","name":"o1"},"metadata":{}}]}`},
		{name: "wrong key", f: &fakes{principal: principal}, header: map[string]string{"Authorization": "Basic eDp5"},
			status: 401, want: `{"message":"invalid, expired or revoked credentials","error":"UnauthorizedError"}`},
		{name: "no project", f: &fakes{principal: &authv1.Principal{Kind: authv1.PrincipalKind_PRINCIPAL_KIND_USER}}, status: 403},
		{name: "auth down", f: &fakes{authErr: status.Error(codes.Unavailable, "x")}, status: 503},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ts := serve(t, tt.f, nil)
			a := do(t, ts, http.MethodGet, ProjectsPath, nil, tt.header)
			if a.status != tt.status {
				t.Fatalf("status %d, want %d: %s", a.status, tt.status, a.body)
			}
			if tt.want != "" && strings.TrimSpace(string(a.body)) != tt.want {
				t.Fatalf("body %s\nwant %s", a.body, tt.want)
			}
		})
	}
}

func TestSideRoutes(t *testing.T) {
	ts := serve(t, &fakes{}, nil)
	tests := []struct {
		method, path string
		status       int
		want         string
	}{
		{http.MethodGet, HealthPath, 200, `{"status":"OK","version":"1.2.3"}`},
		{http.MethodPost, HealthPath, 405, "Method not allowed"},
		{http.MethodPost, MediaPath, 501, "media upload is not supported"},
		{http.MethodGet, MediaPath, 405, "Method not allowed"},
		{http.MethodPatch, MediaPath + "/m1", 501, "media upload is not supported"},
		{http.MethodGet, MediaPath + "/m1", 501, "media upload is not supported"},
		{http.MethodDelete, MediaPath + "/m1", 405, "Method not allowed"},
		{http.MethodGet, MediaPath + "/m1/x", 404, "no route"},
		{http.MethodPost, ProjectsPath, 405, "Method not allowed"},
		{http.MethodPost, OTelTracesPath, 200, ""},
	}
	for _, tt := range tests {
		t.Run(tt.method+" "+tt.path, func(t *testing.T) {
			a := do(t, ts, tt.method, tt.path, []byte(`{}`), nil)
			if a.status != tt.status || !strings.Contains(string(a.body), tt.want) {
				t.Fatalf("got %d %s, want %d with %q", a.status, a.body, tt.status, tt.want)
			}
			if a.status != 200 && a.header.Get("Content-Type") != "application/json" {
				t.Errorf("Content-Type %q", a.header.Get("Content-Type"))
			}
			if tt.path == OTelTracesPath && a.header.Get("X-Otlp") != "1" {
				t.Error("the OTel path is not the OTLP receiver")
			}
		})
	}
}

func TestNewValidatesConfig(t *testing.T) {
	if _, err := New(Config{}); err == nil {
		t.Fatal("New accepted an empty config")
	}
}
