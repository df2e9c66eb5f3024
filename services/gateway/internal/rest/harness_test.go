package rest

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/propagation"
	"go.uber.org/goleak"
	"google.golang.org/grpc"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/structpb"

	authv1 "github.com/agenttrace/agenttrace/pkg/gen/agenttrace/auth/v1"
	ingestv1 "github.com/agenttrace/agenttrace/pkg/gen/agenttrace/ingest/v1"
	queryv1 "github.com/agenttrace/agenttrace/pkg/gen/agenttrace/query/v1"
	"github.com/agenttrace/agenttrace/pkg/grpctest"
	"github.com/agenttrace/agenttrace/pkg/service"
)

func TestMain(m *testing.M) {
	// The service shell installs W3C propagation at startup; the API relies on it.
	otel.SetTextMapPropagator(propagation.TraceContext{})
	goleak.VerifyTestMain(m)
}

// call is one RPC a fake backend received.
type call struct {
	method string
	md     metadata.MD
	req    proto.Message
}

// backend records calls for the three fake services and answers them with
// err when set, else with a small response derived from the request.
type backend struct {
	mu         sync.Mutex
	calls      []call
	err        error
	ingestResp *ingestv1.IngestBatchResponse
	traceResp  *queryv1.GetTraceResponse // GetTrace's answer when set
	// header is sent as response header metadata, as a backend's rate
	// limiter does.
	header metadata.MD
}

func (b *backend) record(ctx context.Context, method string, req proto.Message) error {
	md, _ := metadata.FromIncomingContext(ctx)
	b.mu.Lock()
	defer b.mu.Unlock()
	b.calls = append(b.calls, call{method: method, md: md, req: req})
	if b.header != nil {
		if err := grpc.SetHeader(ctx, b.header); err != nil {
			return err
		}
	}
	return b.err
}

func (b *backend) setErr(err error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.err = err
}

// last returns the most recent call, failing the test when there was none.
func (b *backend) last(t *testing.T) call {
	t.Helper()
	b.mu.Lock()
	defer b.mu.Unlock()
	if len(b.calls) == 0 {
		t.Fatal("no call reached the backend")
	}
	return b.calls[len(b.calls)-1]
}

func (b *backend) count() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return len(b.calls)
}

type fakeIngest struct {
	ingestv1.UnimplementedIngestServiceServer
	*backend
}

func (f fakeIngest) IngestBatch(ctx context.Context, req *ingestv1.IngestBatchRequest) (*ingestv1.IngestBatchResponse, error) {
	if err := f.record(ctx, "IngestBatch", req); err != nil {
		return nil, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.ingestResp != nil {
		return f.ingestResp, nil
	}
	resp := &ingestv1.IngestBatchResponse{}
	for i, e := range req.GetBatch() {
		resp.Results = append(resp.Results, &ingestv1.EventResult{Id: e.GetId(), Index: int32(i), Accepted: true})
		resp.Accepted++
	}
	return resp, nil
}

type fakeQuery struct {
	queryv1.UnimplementedQueryServiceServer
	*backend
}

func (f fakeQuery) GetTrace(ctx context.Context, req *queryv1.GetTraceRequest) (*queryv1.GetTraceResponse, error) {
	if req.GetTraceId() == "slow" {
		<-ctx.Done() // until the caller gives up
		return nil, status.FromContextError(ctx.Err()).Err()
	}
	err := f.record(ctx, "GetTrace", req)
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.traceResp != nil {
		return f.traceResp, err
	}
	return &queryv1.GetTraceResponse{}, err
}

func (f fakeQuery) ListTraces(ctx context.Context, req *queryv1.ListTracesRequest) (*queryv1.ListTracesResponse, error) {
	return &queryv1.ListTracesResponse{NextPageToken: "next"}, f.record(ctx, "ListTraces", req)
}

func (f fakeQuery) ListObservations(ctx context.Context, req *queryv1.ListObservationsRequest) (*queryv1.ListObservationsResponse, error) {
	return &queryv1.ListObservationsResponse{}, f.record(ctx, "ListObservations", req)
}

func (f fakeQuery) ListSessions(ctx context.Context, req *queryv1.ListSessionsRequest) (*queryv1.ListSessionsResponse, error) {
	return &queryv1.ListSessionsResponse{}, f.record(ctx, "ListSessions", req)
}

func (f fakeQuery) GetSession(ctx context.Context, req *queryv1.GetSessionRequest) (*queryv1.GetSessionResponse, error) {
	return &queryv1.GetSessionResponse{}, f.record(ctx, "GetSession", req)
}

func (f fakeQuery) ListScores(ctx context.Context, req *queryv1.ListScoresRequest) (*queryv1.ListScoresResponse, error) {
	return &queryv1.ListScoresResponse{}, f.record(ctx, "ListScores", req)
}

// QueryMetrics answers one row, so that the route test sees a Struct
// rendered as plain JSON.
func (f fakeQuery) QueryMetrics(ctx context.Context, req *queryv1.QueryMetricsRequest) (*queryv1.QueryMetricsResponse, error) {
	row, err := structpb.NewStruct(map[string]any{"model": "gpt-4o", "sum_totalCost": 1.5, "p95_latency": nil})
	if err != nil {
		return nil, err
	}
	return &queryv1.QueryMetricsResponse{Data: []*structpb.Struct{row}}, f.record(ctx, "QueryMetrics", req)
}

type fakeAuth struct {
	authv1.UnimplementedAuthServiceServer
	*backend
}

func (f fakeAuth) CreateProject(ctx context.Context, req *authv1.CreateProjectRequest) (*authv1.CreateProjectResponse, error) {
	return &authv1.CreateProjectResponse{Project: &authv1.Project{Id: "p1", Name: req.GetName(), OrganizationId: "o1"}},
		f.record(ctx, "CreateProject", req)
}

func (f fakeAuth) ListProjects(ctx context.Context, req *authv1.ListProjectsRequest) (*authv1.ListProjectsResponse, error) {
	return &authv1.ListProjectsResponse{}, f.record(ctx, "ListProjects", req)
}

func (f fakeAuth) CreateAPIKey(ctx context.Context, req *authv1.CreateAPIKeyRequest) (*authv1.CreateAPIKeyResponse, error) {
	return &authv1.CreateAPIKeyResponse{}, f.record(ctx, "CreateAPIKey", req)
}

func (f fakeAuth) ListAPIKeys(ctx context.Context, req *authv1.ListAPIKeysRequest) (*authv1.ListAPIKeysResponse, error) {
	return &authv1.ListAPIKeysResponse{}, f.record(ctx, "ListAPIKeys", req)
}

func (f fakeAuth) RevokeAPIKey(ctx context.Context, req *authv1.RevokeAPIKeyRequest) (*authv1.RevokeAPIKeyResponse, error) {
	return &authv1.RevokeAPIKeyResponse{}, f.record(ctx, "RevokeAPIKey", req)
}

// lockedBuffer collects log output written from server goroutines.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// harness is the API served over real HTTP in front of fake backends
// listening on a real localhost port.
type harness struct {
	url     string
	backend *backend
	reg     *prometheus.Registry
	logs    *lockedBuffer
	client  *http.Client
}

const testLimit = 64 << 10

func newHarness(t *testing.T) *harness {
	t.Helper()
	return newHarnessWithTimeout(t, 0)
}

func newHarnessWithTimeout(t *testing.T, timeout time.Duration) *harness {
	t.Helper()
	b := &backend{}
	srv := grpc.NewServer()
	ingestv1.RegisterIngestServiceServer(srv, fakeIngest{backend: b})
	queryv1.RegisterQueryServiceServer(srv, fakeQuery{backend: b})
	authv1.RegisterAuthServiceServer(srv, fakeAuth{backend: b})
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	grpctest.Serve(t, srv, lis)

	conn, err := service.Dial(lis.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })

	h := &harness{backend: b, reg: prometheus.NewRegistry(), logs: &lockedBuffer{}}
	api, err := New(context.Background(), Config{
		Log:            slog.New(slog.NewJSONHandler(h.logs, nil)),
		Registry:       h.reg,
		Ingest:         conn,
		Query:          conn,
		Auth:           conn,
		MaxBodyBytes:   testLimit,
		RequestTimeout: timeout,
	})
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(api)
	t.Cleanup(ts.Close)
	h.url = ts.URL
	h.client = ts.Client()
	t.Cleanup(h.client.CloseIdleConnections)
	return h
}

// response is an answer read in full.
type response struct {
	status int
	header http.Header
	body   []byte
}

func (h *harness) do(t *testing.T, method, path string, body io.Reader, header map[string]string) response {
	t.Helper()
	req, err := http.NewRequest(method, h.url+path, body)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := h.client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return response{status: resp.StatusCode, header: resp.Header, body: b}
}

// apiError decodes the error shape, failing the test if the body is not
// exactly that shape.
func apiError(t *testing.T, r response) errorDetail {
	t.Helper()
	if ct := r.header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("error Content-Type %q", ct)
	}
	dec := json.NewDecoder(strings.NewReader(string(r.body)))
	dec.DisallowUnknownFields()
	var body errorBody
	if err := dec.Decode(&body); err != nil {
		t.Fatalf("error body %s: %v", r.body, err)
	}
	if body.Error.HTTPStatus != r.status {
		t.Errorf("http_status %d in a %d response", body.Error.HTTPStatus, r.status)
	}
	return body.Error
}
