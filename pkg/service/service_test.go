package service

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	reflectionpb "google.golang.org/grpc/reflection/grpc_reflection_v1"
	"google.golang.org/grpc/status"

	"github.com/agenttrace/agenttrace/pkg/config"
	ingestv1 "github.com/agenttrace/agenttrace/pkg/gen/agenttrace/ingest/v1"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// ingestFake is a gRPC service to call through the shell: it panics on an
// empty batch and otherwise waits for release (when set) before answering.
type ingestFake struct {
	ingestv1.UnimplementedIngestServiceServer
	entered chan struct{} // receives once per call that started
	release chan struct{} // nil: answer at once
	events  *eventLog
}

func (f *ingestFake) IngestBatch(ctx context.Context, req *ingestv1.IngestBatchRequest) (*ingestv1.IngestBatchResponse, error) {
	if len(req.GetBatch()) == 0 {
		panic("empty batch")
	}
	if f.entered != nil {
		f.entered <- struct{}{}
	}
	if f.release != nil {
		<-f.release
	}
	if f.events != nil {
		f.events.add("call done")
	}
	return &ingestv1.IngestBatchResponse{Accepted: int32(len(req.GetBatch()))}, nil
}

// eventLog records the order in which shutdown steps happened.
type eventLog struct {
	mu     sync.Mutex
	events []string
}

func (l *eventLog) add(e string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.events = append(l.events, e)
}

func (l *eventLog) list() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Clone(l.events)
}

func testConfig() config.Base {
	return config.Base{
		LogLevel:        "error",
		GRPCAddr:        "127.0.0.1:0",
		AdminAddr:       "127.0.0.1:0",
		DrainDelay:      0,
		ShutdownTimeout: 5 * time.Second,
	}
}

// running is a Shell serving in the background.
type running struct {
	sh     *Shell
	cancel context.CancelFunc
	done   chan error
	conn   *grpc.ClientConn
}

// start builds a shell, lets setup register on it, runs it and waits until
// it listens. The shell is stopped at the end of the test if still running.
func start(t *testing.T, cfg config.Base, setup func(*Shell), opts ...Option) *running {
	t.Helper()
	sh, err := New(context.Background(), "test", cfg, opts...)
	if err != nil {
		t.Fatal(err)
	}
	if sh.GRPCAddr() != nil || sh.AdminAddr() != nil {
		t.Fatal("addresses known before Run")
	}
	if setup != nil {
		setup(sh)
	}
	ctx, cancel := context.WithCancel(context.Background())
	r := &running{sh: sh, cancel: cancel, done: make(chan error, 1)}
	go func() { r.done <- sh.Run(ctx) }()
	select {
	case <-sh.Ready():
	case err := <-r.done:
		cancel()
		t.Fatalf("run: %v", err)
	case <-time.After(5 * time.Second):
		cancel()
		t.Fatal("shell not ready")
	}
	r.conn, err = Dial(sh.GRPCAddr().String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		r.conn.Close()
		if err := r.stop(t); err != nil {
			t.Errorf("shell stopped with %v", err)
		}
	})
	return r
}

// stop cancels the shell and returns Run's error.
func (r *running) stop(t *testing.T) error {
	t.Helper()
	r.cancel()
	select {
	case err, ok := <-r.done:
		if ok {
			close(r.done)
		}
		return err
	case <-time.After(10 * time.Second):
		t.Fatal("shell did not stop")
		return nil
	}
}

func (r *running) adminGet(t *testing.T, path string) (int, string) {
	t.Helper()
	c := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}, Timeout: 5 * time.Second}
	resp, err := c.Get("http://" + r.sh.AdminAddr().String() + path)
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

func (r *running) healthStatus(t *testing.T) healthpb.HealthCheckResponse_ServingStatus {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	resp, err := healthpb.NewHealthClient(r.conn).Check(ctx, &healthpb.HealthCheckRequest{})
	if err != nil {
		t.Fatalf("health check: %v", err)
	}
	return resp.GetStatus()
}

// eventually polls cond for up to 3 seconds.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(3 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		if cond() {
			return
		}
	}
	t.Fatalf("timed out waiting for %s", what)
}

func TestAdminHealthAndReadiness(t *testing.T) {
	tests := []struct {
		name       string
		check      Check
		wantReady  int
		wantFail   map[string]string
		wantHealth healthpb.HealthCheckResponse_ServingStatus
	}{
		{
			name:       "all checks pass",
			check:      func(context.Context) error { return nil },
			wantReady:  http.StatusOK,
			wantFail:   map[string]string{},
			wantHealth: healthpb.HealthCheckResponse_SERVING,
		},
		{
			name:       "failing check",
			check:      func(context.Context) error { return errors.New("connection refused") },
			wantReady:  http.StatusServiceUnavailable,
			wantFail:   map[string]string{"postgres": "connection refused"},
			wantHealth: healthpb.HealthCheckResponse_NOT_SERVING,
		},
		{
			name: "check that outlives its timeout",
			check: func(ctx context.Context) error {
				<-ctx.Done()
				return ctx.Err()
			},
			wantReady:  http.StatusServiceUnavailable,
			wantFail:   map[string]string{"postgres": context.DeadlineExceeded.Error()},
			wantHealth: healthpb.HealthCheckResponse_NOT_SERVING,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := start(t, testConfig(), func(sh *Shell) { sh.AddCheck("postgres", tt.check) })

			code, body := r.adminGet(t, "/health")
			if code != http.StatusOK || !strings.Contains(body, `"status":"ok"`) {
				t.Errorf("/health = %d %s", code, body)
			}

			code, body = r.adminGet(t, "/ready")
			if code != tt.wantReady {
				t.Errorf("/ready = %d %s, want %d", code, body, tt.wantReady)
			}
			var ready struct {
				Status   string            `json:"status"`
				Failures map[string]string `json:"failures"`
			}
			if err := json.Unmarshal([]byte(body), &ready); err != nil {
				t.Fatalf("/ready body %q: %v", body, err)
			}
			if fmt.Sprint(ready.Failures) != fmt.Sprint(tt.wantFail) {
				t.Errorf("/ready failures = %v, want %v", ready.Failures, tt.wantFail)
			}

			// The gRPC health service mirrors /ready.
			eventually(t, "gRPC health "+tt.wantHealth.String(), func() bool {
				return r.healthStatus(t) == tt.wantHealth
			})
		})
	}
}

func TestMetricsExposeGRPCAndGoMetrics(t *testing.T) {
	r := start(t, testConfig(), nil)
	r.healthStatus(t) // one handled call
	code, body := r.adminGet(t, "/metrics")
	if code != http.StatusOK {
		t.Fatalf("/metrics = %d", code)
	}
	for _, want := range []string{
		`grpc_server_handled_total{grpc_code="OK",grpc_method="Check",grpc_service="grpc.health.v1.Health",grpc_type="unary"} 1`,
		"grpc_server_handling_seconds_bucket",
		"go_goroutines",
		"process_cpu_seconds_total",
	} {
		if !strings.Contains(body, want) {
			t.Errorf("/metrics lacks %q", want)
		}
	}
}

func TestPprofServed(t *testing.T) {
	r := start(t, testConfig(), nil)
	if code, _ := r.adminGet(t, "/debug/pprof/"); code != http.StatusOK {
		t.Errorf("/debug/pprof/ = %d", code)
	}
}

func TestReflectionListsServices(t *testing.T) {
	r := start(t, testConfig(), func(sh *Shell) {
		ingestv1.RegisterIngestServiceServer(sh.GRPC(), &ingestFake{})
	})
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	stream, err := reflectionpb.NewServerReflectionClient(r.conn).ServerReflectionInfo(ctx)
	if err != nil {
		t.Fatal(err)
	}
	req := &reflectionpb.ServerReflectionRequest{
		MessageRequest: &reflectionpb.ServerReflectionRequest_ListServices{},
	}
	if err := stream.Send(req); err != nil {
		t.Fatal(err)
	}
	resp, err := stream.Recv()
	if err != nil {
		t.Fatal(err)
	}
	if err := stream.CloseSend(); err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, s := range resp.GetListServicesResponse().GetService() {
		got = append(got, s.GetName())
	}
	for _, want := range []string{"agenttrace.ingest.v1.IngestService", "grpc.health.v1.Health", "grpc.reflection.v1.ServerReflection"} {
		if !slices.Contains(got, want) {
			t.Errorf("reflection lists %v, missing %s", got, want)
		}
	}
}

func TestPanicBecomesInternal(t *testing.T) {
	r := start(t, testConfig(), func(sh *Shell) {
		ingestv1.RegisterIngestServiceServer(sh.GRPC(), &ingestFake{})
	})
	client := ingestv1.NewIngestServiceClient(r.conn)
	ctx := context.Background()

	_, err := client.IngestBatch(ctx, &ingestv1.IngestBatchRequest{})
	if st := status.Convert(err); st.Code() != codes.Internal || strings.Contains(st.Message(), "empty batch") {
		t.Errorf("panic surfaced as %v; want Internal without the panic value", err)
	}
	// The server survived the panic.
	resp, err := client.IngestBatch(ctx, &ingestv1.IngestBatchRequest{Batch: []*ingestv1.IngestEvent{{Id: "e1"}}})
	if err != nil || resp.GetAccepted() != 1 {
		t.Errorf("call after panic: %v, %v", resp, err)
	}
}

func TestExtraInterceptorsRunAfterTheShells(t *testing.T) {
	deny := func(ctx context.Context, req any, info *grpc.UnaryServerInfo, h grpc.UnaryHandler) (any, error) {
		if info.FullMethod == ingestv1.IngestService_IngestBatch_FullMethodName {
			return nil, status.Error(codes.Unauthenticated, "no key")
		}
		return h(ctx, req)
	}
	r := start(t, testConfig(), func(sh *Shell) {
		ingestv1.RegisterIngestServiceServer(sh.GRPC(), &ingestFake{})
	}, WithInterceptors(deny, nil))
	_, err := ingestv1.NewIngestServiceClient(r.conn).IngestBatch(context.Background(), &ingestv1.IngestBatchRequest{})
	if status.Code(err) != codes.Unauthenticated {
		t.Errorf("got %v, want Unauthenticated from the added interceptor", err)
	}
	_, body := r.adminGet(t, "/metrics")
	if !strings.Contains(body, `grpc_code="Unauthenticated",grpc_method="IngestBatch"`) {
		t.Error("the shell's metrics interceptor did not see the call the added interceptor rejected")
	}
}

func TestGracefulDrain(t *testing.T) {
	cfg := testConfig()
	cfg.DrainDelay = 300 * time.Millisecond
	events := &eventLog{}
	fake := &ingestFake{entered: make(chan struct{}, 1), release: make(chan struct{}), events: events}
	runnerStopped := make(chan struct{})
	r := start(t, cfg, func(sh *Shell) {
		ingestv1.RegisterIngestServiceServer(sh.GRPC(), fake)
		sh.Go("consumer", func(ctx context.Context) error {
			defer close(runnerStopped)
			<-ctx.Done()
			events.add("runner cancelled")
			return ctx.Err()
		})
		for _, name := range []string{"pool", "cache", "buffer"} {
			sh.OnClose(name, func(context.Context) error {
				events.add("close " + name)
				if name == "cache" {
					return errors.New("already closed") // logged; the others still run
				}
				return nil
			})
		}
	})
	eventually(t, "SERVING", func() bool { return r.healthStatus(t) == healthpb.HealthCheckResponse_SERVING })
	select {
	case <-r.sh.Draining():
		t.Fatal("Draining closed before the shutdown")
	default:
	}

	callErr := make(chan error, 1)
	go func() {
		_, err := ingestv1.NewIngestServiceClient(r.conn).IngestBatch(context.Background(),
			&ingestv1.IngestBatchRequest{Batch: []*ingestv1.IngestEvent{{Id: "slow"}}})
		callErr <- err
	}()
	<-fake.entered
	r.cancel() // shutdown begins with the call in flight

	eventually(t, "NOT_SERVING while draining", func() bool {
		return r.healthStatus(t) == healthpb.HealthCheckResponse_NOT_SERVING
	})
	if code, body := r.adminGet(t, "/ready"); code != http.StatusServiceUnavailable || !strings.Contains(body, "draining") {
		t.Errorf("/ready while draining = %d %s", code, body)
	}
	select {
	case <-r.sh.Draining():
	default:
		t.Error("Draining not closed while draining")
	}
	select {
	case <-runnerStopped:
		t.Fatal("runner cancelled while a call was still in flight")
	case <-time.After(100 * time.Millisecond):
	}

	close(fake.release)
	if err := <-callErr; err != nil {
		t.Errorf("in-flight call failed during drain: %v", err)
	}
	if err := r.stop(t); err != nil {
		t.Errorf("run after clean shutdown: %v", err)
	}
	want := []string{"call done", "runner cancelled", "close buffer", "close cache", "close pool"}
	if got := events.list(); !slices.Equal(got, want) {
		t.Errorf("shutdown order %v, want %v", got, want)
	}
}

func TestGracefulStopIsBoundedByShutdownTimeout(t *testing.T) {
	cfg := testConfig()
	cfg.ShutdownTimeout = 200 * time.Millisecond
	fake := &ingestFake{entered: make(chan struct{}, 1), release: make(chan struct{})}
	defer close(fake.release)
	r := start(t, cfg, func(sh *Shell) { ingestv1.RegisterIngestServiceServer(sh.GRPC(), fake) })

	callErr := make(chan error, 1)
	go func() {
		_, err := ingestv1.NewIngestServiceClient(r.conn).IngestBatch(context.Background(),
			&ingestv1.IngestBatchRequest{Batch: []*ingestv1.IngestEvent{{Id: "stuck"}}})
		callErr <- err
	}()
	<-fake.entered
	began := time.Now()
	if err := r.stop(t); err != nil {
		t.Errorf("run: %v", err)
	}
	if took := time.Since(began); took > 2*time.Second {
		t.Errorf("shutdown took %v with a 200ms timeout", took)
	}
	if err := <-callErr; status.Code(err) != codes.Unavailable {
		t.Errorf("call cut off by the hard stop: %v, want Unavailable", err)
	}
}

func TestFailingRunnerStopsService(t *testing.T) {
	boom := errors.New("stream deleted")
	var closed bool
	sh, err := New(context.Background(), "test", testConfig())
	if err != nil {
		t.Fatal(err)
	}
	sh.Go("consumer", func(context.Context) error { return boom })
	sh.Go("flusher", func(ctx context.Context) error { <-ctx.Done(); return nil })
	sh.OnClose("pool", func(context.Context) error { closed = true; return nil })

	done := make(chan error, 1)
	go func() { done <- sh.Run(context.Background()) }()
	select {
	case err := <-done:
		if !errors.Is(err, boom) || !strings.Contains(err.Error(), "consumer") {
			t.Errorf("run = %v, want the runner's error naming it", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("service kept running after its runner failed")
	}
	if !closed {
		t.Error("closers did not run")
	}
}

func TestRunFailsWhenAddressIsTaken(t *testing.T) {
	taken, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer taken.Close()

	tests := []struct {
		name   string
		modify func(*config.Base)
		opts   []Option
		want   string
	}{
		{"grpc", func(c *config.Base) { c.GRPCAddr = taken.Addr().String() }, nil, "listen grpc"},
		{"admin", func(c *config.Base) { c.AdminAddr = taken.Addr().String() }, nil, "listen admin"},
		{"extra", func(*config.Base) {}, []Option{WithExtraListener("otlp_grpc", taken.Addr().String())}, "listen otlp_grpc"},
		{"second extra", func(*config.Base) {}, []Option{
			WithExtraListener("first", "127.0.0.1:0"),
			WithExtraListener("second", taken.Addr().String()),
		}, "listen second"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := testConfig()
			tt.modify(&cfg)
			sh, err := New(context.Background(), "test", cfg, tt.opts...)
			if err != nil {
				t.Fatal(err)
			}
			var closed bool
			sh.OnClose("pool", func(context.Context) error { closed = true; return nil })
			err = sh.Run(context.Background())
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("run = %v, want %q", err, tt.want)
			}
			if !closed {
				t.Error("closers did not run after a failed start")
			}
			select {
			case <-sh.Ready():
				t.Error("ready although not listening")
			default:
			}
		})
	}
}

func TestDialIsLazy(t *testing.T) {
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := lis.Addr().String()
	lis.Close() // nothing listens there now

	conn, err := Dial(addr)
	if err != nil {
		t.Fatalf("dial must not fail for a peer that is down: %v", err)
	}
	defer conn.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_, err = healthpb.NewHealthClient(conn).Check(ctx, &healthpb.HealthCheckRequest{})
	if status.Code(err) != codes.Unavailable {
		t.Errorf("call to a peer that is down: %v, want Unavailable", err)
	}

	if _, err := Dial("dns:///%zz"); err == nil {
		t.Error("want an error for an unparsable target")
	}
}

func TestExtraListenerServesTheSameServer(t *testing.T) {
	deny := func(ctx context.Context, req any, info *grpc.UnaryServerInfo, h grpc.UnaryHandler) (any, error) {
		if b, ok := req.(*ingestv1.IngestBatchRequest); ok && len(b.GetBatch()) > 1 {
			return nil, status.Error(codes.PermissionDenied, "too many")
		}
		return h(ctx, req)
	}
	cfg := testConfig()
	cfg.DrainDelay = 100 * time.Millisecond
	fake := &ingestFake{entered: make(chan struct{}, 1), release: make(chan struct{})}
	r := start(t, cfg, func(sh *Shell) {
		ingestv1.RegisterIngestServiceServer(sh.GRPC(), fake)
	}, WithExtraListener("otlp_grpc", "127.0.0.1:0"), WithInterceptors(deny, nil))

	extra := r.sh.ExtraAddr("otlp_grpc")
	if extra == nil || extra.String() == r.sh.GRPCAddr().String() {
		t.Fatalf("extra address %v, gRPC address %v", extra, r.sh.GRPCAddr())
	}
	if r.sh.ExtraAddr("unknown") != nil {
		t.Error("address for a listener never added")
	}
	conn, err := Dial(extra.String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	client := ingestv1.NewIngestServiceClient(conn)

	// The interceptors run on the extra listener too.
	two := &ingestv1.IngestBatchRequest{Batch: []*ingestv1.IngestEvent{{Id: "a"}, {Id: "b"}}}
	if _, err := client.IngestBatch(context.Background(), two); status.Code(err) != codes.PermissionDenied {
		t.Errorf("call on the extra listener = %v, want the interceptor's PermissionDenied", err)
	}

	// A call in flight on the extra listener is drained, not cut off.
	callErr := make(chan error, 1)
	go func() {
		_, err := client.IngestBatch(context.Background(), &ingestv1.IngestBatchRequest{Batch: []*ingestv1.IngestEvent{{Id: "slow"}}})
		callErr <- err
	}()
	<-fake.entered
	stopped := make(chan error, 1)
	go func() { stopped <- r.stop(t) }()
	eventually(t, "NOT_SERVING on the extra listener", func() bool {
		resp, err := healthpb.NewHealthClient(conn).Check(context.Background(), &healthpb.HealthCheckRequest{})
		return err == nil && resp.GetStatus() == healthpb.HealthCheckResponse_NOT_SERVING
	})
	close(fake.release)
	if err := <-callErr; err != nil {
		t.Errorf("in-flight call on the extra listener failed during drain: %v", err)
	}
	if err := <-stopped; err != nil {
		t.Errorf("run: %v", err)
	}
	if _, err := net.DialTimeout("tcp", extra.String(), time.Second); err == nil {
		t.Error("extra listener still accepting after shutdown")
	}
}
