package otlphttp

import (
	"bytes"
	"compress/gzip"
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/agenttrace/agenttrace/pkg/grpctest"
	"github.com/agenttrace/agenttrace/services/gateway/internal/grpchttp"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	coltracepb "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	"go.uber.org/goleak"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	spb "google.golang.org/genproto/googleapis/rpc/status"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	grpcencoding "google.golang.org/grpc/encoding"
	grpcproto "google.golang.org/grpc/encoding/proto"
	"google.golang.org/grpc/mem"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/durationpb"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// fakeIngest is ingest's TraceService: it records calls and answers with
// resp or err, sending header metadata as ingest's rate limiter does.
type fakeIngest struct {
	coltracepb.UnimplementedTraceServiceServer
	mu     sync.Mutex
	reqs   []*coltracepb.ExportTraceServiceRequest
	raws   [][]byte // the requests' bytes as received
	mds    []metadata.MD
	resp   *coltracepb.ExportTraceServiceResponse
	err    error
	header metadata.MD
}

func (f *fakeIngest) Export(ctx context.Context, req *coltracepb.ExportTraceServiceRequest) (*coltracepb.ExportTraceServiceResponse, error) {
	md, _ := metadata.FromIncomingContext(ctx)
	f.mu.Lock()
	defer f.mu.Unlock()
	f.reqs = append(f.reqs, req)
	f.mds = append(f.mds, md)
	if f.header != nil {
		_ = grpc.SetHeader(ctx, f.header)
	}
	if f.err != nil {
		return nil, f.err
	}
	if f.resp != nil {
		return f.resp, nil
	}
	return &coltracepb.ExportTraceServiceResponse{}, nil
}

// recordingCodec is the proto codec, recording the bytes of each request
// the fake receives.
type recordingCodec struct {
	grpcencoding.CodecV2
	fake *fakeIngest
}

func (c recordingCodec) Unmarshal(data mem.BufferSlice, v any) error {
	c.fake.mu.Lock()
	c.fake.raws = append(c.fake.raws, data.Materialize())
	c.fake.mu.Unlock()
	return c.CodecV2.Unmarshal(data, v)
}

func (f *fakeIngest) calls() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.reqs)
}

const testLimit = 64 << 10

// serve runs the receiver against fake behind a real gRPC connection.
func serve(t *testing.T, fake *fakeIngest) *httptest.Server {
	t.Helper()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := grpc.NewServer(grpc.ForceServerCodecV2(recordingCodec{grpcencoding.GetCodecV2(grpcproto.Name), fake}))
	coltracepb.RegisterTraceServiceServer(srv, fake)
	grpctest.Serve(t, srv, lis)
	conn, err := grpc.NewClient(lis.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	h, err := New(Config{Conn: conn, MaxBodyBytes: testLimit, Log: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(h)
	t.Cleanup(ts.Close)
	t.Cleanup(ts.Client().CloseIdleConnections)
	return ts
}

type answer struct {
	status int
	header http.Header
	body   []byte
}

func post(t *testing.T, ts *httptest.Server, path string, body []byte, header map[string]string) answer {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, ts.URL+path, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := ts.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return answer{resp.StatusCode, resp.Header, b}
}

func gzipped(b []byte) []byte {
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	_, _ = zw.Write(b)
	_ = zw.Close()
	return buf.Bytes()
}

// unusualProto encodes m after an unknown field (number 99), where no
// encoder would put it.
func unusualProto(t *testing.T, m proto.Message) []byte {
	t.Helper()
	return append(protowire.AppendVarint(protowire.AppendTag(nil, 99, protowire.VarintType), 1), mustProto(t, m)...)
}

func mustProto(t *testing.T, m proto.Message) []byte {
	t.Helper()
	b, err := proto.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// statusBody decodes an error body in the given content type.
func statusBody(t *testing.T, a answer, contentType string) *spb.Status {
	t.Helper()
	if got := a.header.Get("Content-Type"); got != contentType {
		t.Errorf("Content-Type %q, want %q", got, contentType)
	}
	st := &spb.Status{}
	var err error
	if contentType == contentTypeJSON {
		err = protojson.Unmarshal(a.body, st)
	} else {
		err = proto.Unmarshal(a.body, st)
	}
	if err != nil {
		t.Fatalf("body %q is not a Status: %v", a.body, err)
	}
	return st
}

func TestExportRoundTrips(t *testing.T) {
	partial := &coltracepb.ExportTraceServiceResponse{PartialSuccess: &coltracepb.ExportTracePartialSuccess{
		RejectedSpans: 1, ErrorMessage: "rejected 1 of 2 spans; ...",
	}}
	tests := []struct {
		name        string
		path        string
		contentType string
		body        []byte
		gzip        bool
	}{
		{"protobuf", "/v1/traces", "application/x-protobuf", unusualProto(t, sampleRequest()), false},
		{"protobuf gzip under the API prefix", "/api/v1/otel/v1/traces", "application/x-protobuf", unusualProto(t, sampleRequest()), true},
		{"json", "/v1/traces", "application/json", encodeOTLPJSON(t, sampleRequest()), false},
		{"json gzip with charset", "/v1/traces", "application/json; charset=utf-8", encodeOTLPJSON(t, sampleRequest()), true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fake := &fakeIngest{resp: partial, header: metadata.Pairs("x-ratelimit-remaining", "41", "x-ratelimit-limit", "100")}
			ts := serve(t, fake)
			header := map[string]string{
				"Content-Type": tt.contentType, "Authorization": "Basic cGs6c2s=",
				"X-AgentTrace-Project": "proj-1", "X-Request-Id": "req-1", "X-Forwarded-For": "203.0.113.9",
			}
			body := tt.body
			if tt.gzip {
				body = gzipped(body)
				header["Content-Encoding"] = "gzip"
			}
			a := post(t, ts, tt.path, body, header)
			if a.status != http.StatusOK {
				t.Fatalf("status %d: %s", a.status, a.body)
			}
			if fake.calls() != 1 {
				t.Fatalf("ingest got %d calls", fake.calls())
			}
			forwarded := proto.CloneOf(fake.reqs[0])
			forwarded.ProtoReflect().SetUnknown(nil)
			if !proto.Equal(forwarded, sampleRequest()) {
				t.Fatalf("ingest got %v", fake.reqs[0])
			}
			// A protobuf body is forwarded as it was sent, not decoded and
			// encoded again (which would move its unknown field last).
			if tt.contentType == contentTypeProtobuf && !bytes.Equal(fake.raws[0], tt.body) {
				t.Errorf("ingest got %d bytes, want the %d of the body as sent", len(fake.raws[0]), len(tt.body))
			}
			md := fake.mds[0]
			for key, want := range map[string]string{
				"authorization": "Basic cGs6c2s=", "x-agenttrace-project": "proj-1", "x-request-id": "req-1",
				transportHeader: "http", "x-forwarded-for": "203.0.113.9, 127.0.0.1",
			} {
				if got := md.Get(key); len(got) != 1 || got[0] != want {
					t.Errorf("metadata %s = %v, want %q", key, got, want)
				}
			}
			if a.header.Get("X-RateLimit-Remaining") != "41" || a.header.Get("X-RateLimit-Limit") != "100" {
				t.Errorf("rate limit headers %v", a.header)
			}
			got := &coltracepb.ExportTraceServiceResponse{}
			wantType := contentTypeProtobuf
			if strings.HasPrefix(tt.contentType, contentTypeJSON) {
				wantType = contentTypeJSON
				if !strings.Contains(string(a.body), `"partialSuccess":{"rejectedSpans":"1"`) {
					t.Errorf("JSON response %s", a.body)
				}
				if err := protojson.Unmarshal(a.body, got); err != nil {
					t.Fatal(err)
				}
			} else if err := proto.Unmarshal(a.body, got); err != nil {
				t.Fatal(err)
			}
			if a.header.Get("Content-Type") != wantType || !proto.Equal(got, partial) {
				t.Errorf("response %s %v, want %s %v", a.header.Get("Content-Type"), got, wantType, partial)
			}
		})
	}
}

func TestRefusedBeforeIngest(t *testing.T) {
	fake := &fakeIngest{}
	ts := serve(t, fake)
	big := mustProto(t, &coltracepb.ExportTraceServiceRequest{ResourceSpans: nil})
	big = append(big, bytes.Repeat([]byte{0}, testLimit+1)...)
	tests := []struct {
		name     string
		body     []byte
		header   map[string]string
		status   int
		respType string
		msg      string
	}{
		{"too large", big, map[string]string{"Content-Type": contentTypeProtobuf}, 413, contentTypeProtobuf, "request body too large"},
		{"too large once inflated", gzipped(make([]byte, testLimit+1)),
			map[string]string{"Content-Type": contentTypeProtobuf, "Content-Encoding": "gzip"}, 413, contentTypeProtobuf, "after decompression"},
		{"unsupported content type", []byte("x"), map[string]string{"Content-Type": "text/plain"}, 415, contentTypeJSON, `unsupported Content-Type "text/plain"`},
		{"no content type", []byte("x"), nil, 415, contentTypeJSON, "unsupported Content-Type"},
		{"unsupported encoding", []byte("x"), map[string]string{"Content-Type": contentTypeJSON, "Content-Encoding": "br"}, 415, contentTypeJSON, `unsupported Content-Encoding "br"`},
		{"bad gzip", []byte("not gzip"), map[string]string{"Content-Type": contentTypeProtobuf, "Content-Encoding": "gzip"}, 400, contentTypeProtobuf, "malformed gzip body"},
		{"truncated gzip", gzipped(make([]byte, 1000))[:20], map[string]string{"Content-Type": contentTypeProtobuf, "Content-Encoding": "gzip"}, 400, contentTypeProtobuf, "malformed gzip body"},
		{"bad json", []byte(`{"resourceSpans":`), map[string]string{"Content-Type": contentTypeJSON}, 400, contentTypeJSON, "payload is not JSON"},
		{"base64 ids in json", []byte(`{"resourceSpans":[{"scopeSpans":[{"spans":[{"traceId":"W47/95gDgQPSabYzgT/GDA=="}]}]}]}`),
			map[string]string{"Content-Type": contentTypeJSON}, 400, contentTypeJSON, "traceId: \"W47/95gDgQPSabYzgT/GDA==\" is not a hex string"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := post(t, ts, "/v1/traces", tt.body, tt.header)
			if a.status != tt.status {
				t.Fatalf("status %d, want %d: %s", a.status, tt.status, a.body)
			}
			st := statusBody(t, a, tt.respType)
			if st.GetCode() != int32(codes.InvalidArgument) || !strings.Contains(st.GetMessage(), tt.msg) {
				t.Errorf("status %v, want InvalidArgument with %q", st, tt.msg)
			}
		})
	}
	req, _ := http.NewRequest(http.MethodGet, ts.URL+"/v1/traces", nil)
	resp, err := ts.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusMethodNotAllowed || resp.Header.Get("Allow") != "POST" {
		t.Errorf("GET = %d Allow %q", resp.StatusCode, resp.Header.Get("Allow"))
	}
	if n := fake.calls(); n != 0 {
		t.Errorf("ingest called %d times for refused requests", n)
	}
}

func TestIngestErrorsMapped(t *testing.T) {
	withRetry := func(c codes.Code, msg string, d time.Duration) error {
		st, err := status.New(c, msg).WithDetails(&errdetails.RetryInfo{RetryDelay: durationpb.New(d)})
		if err != nil {
			t.Fatal(err)
		}
		return st.Err()
	}
	tests := []struct {
		name       string
		err        error
		status     int
		code       codes.Code
		retryAfter string
		msg        string
	}{
		{"no credentials", status.Error(codes.Unauthenticated, "missing authorization"), 401, codes.Unauthenticated, "", "missing authorization"},
		{"wrong project", status.Error(codes.PermissionDenied, "permission denied"), 403, codes.PermissionDenied, "", "permission denied"},
		{"bad request", status.Error(codes.InvalidArgument, "bad project header"), 400, codes.InvalidArgument, "", "bad project header"},
		{"rate limited", withRetry(codes.ResourceExhausted, "rate limit exceeded", 2500*time.Millisecond), 429, codes.ResourceExhausted, "3", "rate limit exceeded"},
		{"rate limited without retry info", status.Error(codes.ResourceExhausted, "slow down"), 429, codes.ResourceExhausted, "1", "slow down"},
		{"stream down", withRetry(codes.Unavailable, "event stream unavailable, retry", time.Second), 503, codes.Unavailable, "1", grpchttp.UnavailableMessage},
		{"ingest unreachable", status.Error(codes.Unavailable, "dial tcp 10.0.0.7:9081: connection refused"), 503, codes.Unavailable, "1", grpchttp.UnavailableMessage},
		{"timeout", status.Error(codes.DeadlineExceeded, "context deadline exceeded"), 504, codes.DeadlineExceeded, "", "did not answer in time"},
		{"internal", status.Error(codes.Internal, "internal error"), 500, codes.Internal, "", "internal error"},
		{"unexpected code", status.Error(codes.DataLoss, "disk on fire at /var/lib"), 500, codes.Internal, "", "internal error"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ts := serve(t, &fakeIngest{err: tt.err, header: metadata.Pairs("x-ratelimit-remaining", "0")})
			a := post(t, ts, "/v1/traces", mustProto(t, sampleRequest()), map[string]string{"Content-Type": contentTypeProtobuf})
			if a.status != tt.status || a.header.Get("Retry-After") != tt.retryAfter {
				t.Fatalf("status %d Retry-After %q, want %d %q", a.status, a.header.Get("Retry-After"), tt.status, tt.retryAfter)
			}
			st := statusBody(t, a, contentTypeProtobuf)
			if st.GetCode() != int32(tt.code) || !strings.Contains(st.GetMessage(), tt.msg) {
				t.Errorf("body %v, want code %v with %q", st, tt.code, tt.msg)
			}
			if strings.Contains(st.GetMessage(), "10.0.0.7") || strings.Contains(st.GetMessage(), "/var/lib") {
				t.Errorf("internal detail leaked: %q", st.GetMessage())
			}
			if a.header.Get("X-RateLimit-Remaining") != "0" {
				t.Error("rate limit headers missing on an error")
			}
		})
	}
}

func TestNewValidatesConfig(t *testing.T) {
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	conn, err := grpc.NewClient("passthrough:///unused", grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	for _, cfg := range []Config{
		{MaxBodyBytes: 1, Log: log},
		{Conn: conn, MaxBodyBytes: 1},
		{Conn: conn, Log: log},
	} {
		if _, err := New(cfg); err == nil {
			t.Errorf("New(%+v) accepted", cfg)
		}
	}
}

// TestGoExporter sends through the official OTel Go OTLP/HTTP exporter,
// protobuf with gzip, on both paths.
func TestGoExporter(t *testing.T) {
	rec := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec))
	ctx, root := tp.Tracer("agent").Start(context.Background(), "invoke_agent")
	_, child := tp.Tracer("agent").Start(ctx, "chat gpt-4o")
	child.End()
	root.End()
	spans := rec.Ended()

	for _, path := range Paths {
		t.Run(path, func(t *testing.T) {
			fake := &fakeIngest{}
			ts := serve(t, fake)
			exp, err := otlptracehttp.New(context.Background(),
				otlptracehttp.WithEndpointURL(ts.URL+path),
				otlptracehttp.WithCompression(otlptracehttp.GzipCompression),
				otlptracehttp.WithHeaders(map[string]string{"Authorization": "Bearer sk-at-test"}),
				otlptracehttp.WithRetry(otlptracehttp.RetryConfig{Enabled: false}),
			)
			if err != nil {
				t.Fatal(err)
			}
			defer func() {
				if err := exp.Shutdown(context.Background()); err != nil {
					t.Errorf("exporter shutdown: %v", err)
				}
			}()
			if err := exp.ExportSpans(context.Background(), spans); err != nil {
				t.Fatalf("export: %v", err)
			}
			if fake.calls() != 1 {
				t.Fatalf("ingest got %d calls", fake.calls())
			}
			var names []string
			for _, rs := range fake.reqs[0].GetResourceSpans() {
				for _, ss := range rs.GetScopeSpans() {
					for _, s := range ss.GetSpans() {
						names = append(names, s.GetName())
						if len(s.GetTraceId()) != 16 || len(s.GetSpanId()) != 8 {
							t.Errorf("span %q ids %x %x", s.GetName(), s.GetTraceId(), s.GetSpanId())
						}
					}
				}
			}
			if strings.Join(names, ",") != "chat gpt-4o,invoke_agent" {
				t.Errorf("spans %v", names)
			}
			if got := fake.mds[0].Get("authorization"); len(got) != 1 || got[0] != "Bearer sk-at-test" {
				t.Errorf("authorization %v", got)
			}

			// A refusal reaches the exporter as an error naming the status.
			fake.err = status.Error(codes.Unauthenticated, "invalid API key")
			err = exp.ExportSpans(context.Background(), spans)
			if err == nil || !strings.Contains(err.Error(), "401") {
				t.Errorf("export with a refused key: %v", err)
			}
		})
	}
}
