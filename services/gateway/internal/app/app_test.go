package app

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"
	"google.golang.org/grpc"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"

	queryv1 "github.com/agenttrace/agenttrace/pkg/gen/agenttrace/query/v1"
	"github.com/agenttrace/agenttrace/pkg/grpctest"
	"github.com/agenttrace/agenttrace/pkg/service"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// slowQuery answers GetTrace once released, so a request can be caught in flight.
type slowQuery struct {
	queryv1.UnimplementedQueryServiceServer
	entered chan struct{}
	release chan struct{}
}

func (q *slowQuery) GetTrace(_ context.Context, req *queryv1.GetTraceRequest) (*queryv1.GetTraceResponse, error) {
	q.entered <- struct{}{}
	<-q.release
	return &queryv1.GetTraceResponse{}, nil
}

// fakeBackend is a gRPC server with a health service on a real port.
type fakeBackend struct {
	addr   string
	health *health.Server
	srv    *grpc.Server
}

func startBackend(t *testing.T, register func(*grpc.Server)) *fakeBackend {
	t.Helper()
	b := &fakeBackend{health: health.NewServer(), srv: grpc.NewServer()}
	healthpb.RegisterHealthServer(b.srv, b.health)
	if register != nil {
		register(b.srv)
	}
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	b.addr = lis.Addr().String()
	grpctest.Serve(t, b.srv, lis)
	return b
}

func testConfig(t *testing.T, ingest, query, auth string) Config {
	t.Helper()
	cfg, err := Program().Load()
	if err != nil {
		t.Fatal(err)
	}
	cfg.LogLevel = "error"
	cfg.GRPCAddr, cfg.AdminAddr, cfg.HTTPAddr = "127.0.0.1:0", "127.0.0.1:0", "127.0.0.1:0"
	cfg.IngestAddr, cfg.QueryAddr, cfg.AuthAddr = ingest, query, auth
	cfg.DrainDelay = 0
	cfg.ShutdownTimeout = 5 * time.Second
	return cfg
}

var client = &http.Client{Transport: &http.Transport{DisableKeepAlives: true}, Timeout: 10 * time.Second}

func get(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := client.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, string(b)
}

func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if cond() {
			return
		}
	}
	t.Fatalf("timed out waiting for %s", what)
}

func TestGatewayServesFollowsBackendsAndDrains(t *testing.T) {
	q := &slowQuery{entered: make(chan struct{}, 1), release: make(chan struct{})}
	ingest := startBackend(t, nil)
	query := startBackend(t, func(s *grpc.Server) { queryv1.RegisterQueryServiceServer(s, q) })
	auth := startBackend(t, nil)

	g, err := New(context.Background(), testConfig(t, ingest.addr, query.addr, auth.addr))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- g.Run(ctx) }()
	<-g.Shell().Ready()
	api := "http://" + g.HTTPAddr().String()
	admin := "http://" + g.Shell().AdminAddr().String()

	if code, body := get(t, api+"/health"); code != http.StatusOK || strings.TrimSpace(body) != `{"status":"ok"}` {
		t.Errorf("API /health = %d %s", code, body)
	}
	if code, body := get(t, admin+"/ready"); code != http.StatusOK {
		t.Errorf("/ready with every backend serving = %d %s", code, body)
	}
	conn, err := service.Dial(g.Shell().GRPCAddr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	eventually(t, "the gateway's gRPC health to say SERVING", func() bool {
		resp, err := healthpb.NewHealthClient(conn).Check(ctx, &healthpb.HealthCheckRequest{})
		return err == nil && resp.GetStatus() == healthpb.HealthCheckResponse_SERVING
	})

	// Readiness follows each backend's own health.
	query.health.SetServingStatus("", healthpb.HealthCheckResponse_NOT_SERVING)
	auth.srv.Stop()
	code, body := get(t, admin+"/ready")
	if code != http.StatusServiceUnavailable || !strings.Contains(body, `"query":"health status NOT_SERVING"`) || !strings.Contains(body, `"auth":`) || strings.Contains(body, `"ingest"`) {
		t.Errorf("/ready with query not serving and auth down = %d %s", code, body)
	}

	// A request in flight when shutdown begins is answered.
	type result struct {
		code int
		err  error
	}
	inflight := make(chan result, 1)
	go func() {
		resp, err := client.Get(api + "/api/v1/traces/t1")
		if err != nil {
			inflight <- result{err: err}
			return
		}
		resp.Body.Close()
		inflight <- result{code: resp.StatusCode}
	}()
	<-q.entered
	cancel()
	time.Sleep(100 * time.Millisecond) // the drain is under way
	close(q.release)
	if r := <-inflight; r.err != nil || r.code != http.StatusOK {
		t.Errorf("in-flight request: %d %v", r.code, r.err)
	}
	if err := <-done; err != nil {
		t.Errorf("run: %v", err)
	}
	if _, err := net.DialTimeout("tcp", g.HTTPAddr().String(), time.Second); err == nil {
		t.Error("the API still accepts connections after Run returned")
	}
}

func TestBackendDownIs503(t *testing.T) {
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	down := lis.Addr().String()
	lis.Close()

	g, err := New(context.Background(), testConfig(t, down, down, down))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- g.Run(ctx) }()
	<-g.Shell().Ready()

	resp, err := client.Post("http://"+g.HTTPAddr().String()+"/api/v1/ingestion", "application/json", strings.NewReader(`{"batch":[]}`))
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusServiceUnavailable || resp.Header.Get("Retry-After") != "1" || !strings.Contains(string(b), `"code":"UNAVAILABLE"`) || strings.Contains(string(b), down) {
		t.Errorf("ingest down: %d Retry-After %q %s", resp.StatusCode, resp.Header.Get("Retry-After"), b)
	}
	cancel()
	if err := <-done; err != nil {
		t.Errorf("run: %v", err)
	}
}

func TestNewFailsWhenHTTPAddrIsTaken(t *testing.T) {
	taken, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer taken.Close()
	cfg := testConfig(t, "127.0.0.1:1", "127.0.0.1:1", "127.0.0.1:1")
	cfg.HTTPAddr = taken.Addr().String()
	if _, err := New(context.Background(), cfg); err == nil || !strings.Contains(err.Error(), "listen http") {
		t.Errorf("got %v, want a listen error", err)
	}
}

func TestRunFailsWhenAdminAddrIsTaken(t *testing.T) {
	taken, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer taken.Close()
	cfg := testConfig(t, "127.0.0.1:1", "127.0.0.1:1", "127.0.0.1:1")
	cfg.AdminAddr = taken.Addr().String()
	g, err := New(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := g.Run(context.Background()); err == nil || !strings.Contains(err.Error(), "listen admin") {
		t.Errorf("got %v, want a listen error", err)
	}
	// The API listener bound in New is released.
	lis, err := net.Listen("tcp", g.HTTPAddr().String())
	if err != nil {
		t.Errorf("API address still held: %v", err)
	} else {
		lis.Close()
	}
}

func TestServeShutdownIsBounded(t *testing.T) {
	entered, release := make(chan struct{}), make(chan struct{})
	defer close(release)
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		close(entered)
		<-release
	})}
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- serveHTTP(ctx, srv, lis, 50*time.Millisecond) }()
	go func() {
		if resp, err := client.Get("http://" + lis.Addr().String()); err == nil {
			resp.Body.Close()
		}
	}()
	<-entered
	cancel()
	select {
	case err := <-done:
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("serve = %v, want the shutdown deadline", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("serve did not give up on a stuck request")
	}
}

func TestServeReportsListenerFailure(t *testing.T) {
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	lis.Close()
	err = serveHTTP(context.Background(), &http.Server{}, lis, time.Second)
	if err == nil || !strings.HasPrefix(err.Error(), "http:") {
		t.Errorf("serve on a closed listener = %v", err)
	}
}

func TestLoadConfig(t *testing.T) {
	t.Run("defaults", func(t *testing.T) {
		cfg, err := Program().Load()
		if err != nil {
			t.Fatal(err)
		}
		if cfg.HTTPAddr != ":8080" || cfg.GRPCAddr != ":9080" || cfg.AdminAddr != ":9180" ||
			cfg.IngestAddr != "127.0.0.1:9081" || cfg.QueryAddr != "127.0.0.1:9082" || cfg.AuthAddr != "127.0.0.1:9083" ||
			cfg.MaxBodyBytes != 5<<20 || cfg.WriteTimeout != time.Minute {
			t.Errorf("defaults %+v", cfg)
		}
	})
	t.Run("environment", func(t *testing.T) {
		t.Setenv("AGENTTRACE_HTTP_ADDR", ":18080")
		t.Setenv("AGENTTRACE_QUERY_ADDR", "query:9082")
		t.Setenv("AGENTTRACE_GATEWAY_MAX_BODY_BYTES", "1024")
		t.Setenv("AGENTTRACE_HTTP_READ_TIMEOUT", "3s")
		cfg, err := Program().Load()
		if err != nil {
			t.Fatal(err)
		}
		if cfg.HTTPAddr != ":18080" || cfg.QueryAddr != "query:9082" || cfg.MaxBodyBytes != 1024 || cfg.ReadTimeout != 3*time.Second {
			t.Errorf("from environment %+v", cfg)
		}
	})
	t.Run("bad value", func(t *testing.T) {
		t.Setenv("AGENTTRACE_GATEWAY_MAX_BODY_BYTES", "5MB")
		if _, err := Program().Load(); err == nil {
			t.Error("want an error")
		}
	})
}

// Once draining, every response closes its connection, so clients leave
// this replica before its idle connections are cut.
func TestCloseWhenDraining(t *testing.T) {
	draining := make(chan struct{})
	srv := httptest.NewServer(closeWhenDraining(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = w.Write([]byte("ok"))
	}), draining))
	defer srv.Close()
	// get says whether the response closed its connection.
	get := func() (closes bool, header http.Header) {
		t.Helper()
		resp, err := srv.Client().Get(srv.URL)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		_, _ = io.Copy(io.Discard, resp.Body)
		return resp.Close, resp.Header
	}
	if closes, header := get(); closes || header.Get("Connection") == "close" {
		t.Fatalf("connection closed before the drain: %v", header)
	}
	close(draining)
	if closes, header := get(); !closes {
		t.Fatalf("connection kept alive while draining: %v", header)
	}
}
