package app

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"github.com/agenttrace/agenttrace/pkg/config"
	authv1 "github.com/agenttrace/agenttrace/pkg/gen/agenttrace/auth/v1"
	ingestv1 "github.com/agenttrace/agenttrace/pkg/gen/agenttrace/ingest/v1"
	"github.com/agenttrace/agenttrace/pkg/grpctest"
	"github.com/agenttrace/agenttrace/pkg/service"
	"github.com/agenttrace/agenttrace/pkg/stream"
)

func TestConfigFromEnv(t *testing.T) {
	cfg := DefaultConfig()
	if err := config.Load(&cfg); err != nil {
		t.Fatal(err)
	}
	if cfg.GRPCAddr != ":9081" || cfg.AdminAddr != ":9181" || cfg.Auth.Addr != "127.0.0.1:9083" ||
		cfg.Auth.CacheTTL != 10*time.Second || cfg.MaxBatch != 1000 || cfg.MaxRequestBytes != 16<<20 || cfg.OTLPGRPCAddr != ":4317" ||
		cfg.PublishTimeout != 5*time.Second || cfg.URL != "nats://127.0.0.1:4222" || cfg.Namespace != "agenttrace" {
		t.Errorf("defaults = %+v", cfg)
	}
	if err := cfg.Validate(); err != nil {
		t.Errorf("defaults do not validate: %v", err)
	}

	t.Setenv("AGENTTRACE_INGEST_MAX_BATCH", "50")
	t.Setenv("AGENTTRACE_GRPC_ADDR", ":7000")
	t.Setenv("AGENTTRACE_NATS_NAMESPACE", "staging")
	t.Setenv("AGENTTRACE_INGEST_MAX_EVENT_BYTES", "2048")
	cfg = DefaultConfig()
	if err := config.Load(&cfg); err != nil {
		t.Fatal(err)
	}
	if cfg.MaxBatch != 50 || cfg.GRPCAddr != ":7000" || cfg.EventsStream() != "STAGING_EVENTS" || cfg.Limits().MaxEventBytes != 2048 {
		t.Errorf("from env = %+v", cfg)
	}
}

func TestConfigValidate(t *testing.T) {
	tests := []struct {
		name string
		mut  func(*Config)
		want string
	}{
		{"batch", func(c *Config) { c.MaxBatch = 0 }, "INGEST_MAX_BATCH"},
		{"request", func(c *Config) { c.MaxRequestBytes = 10 }, "INGEST_MAX_REQUEST_BYTES"},
		{"event", func(c *Config) { c.MaxEventBytes = 0 }, "INGEST_MAX_EVENT_BYTES"},
		{"timeout", func(c *Config) { c.PublishTimeout = 0 }, "INGEST_PUBLISH_TIMEOUT"},
		{"ttl", func(c *Config) { c.Auth.CacheTTL = -time.Second }, "AUTH_CACHE_TTL"},
		{"audit timeout", func(c *Config) { c.AuditTimeout = 0 }, "INGEST_AUDIT_TIMEOUT"},
		{"otlp address", func(c *Config) { c.OTLPGRPCAddr = "" }, "OTLP_GRPC_ADDR"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := DefaultConfig()
			if err := config.Load(&cfg); err != nil {
				t.Fatal(err)
			}
			tt.mut(&cfg)
			err := cfg.Validate()
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Validate = %v, want it to name %s", err, tt.want)
			}
			if Program().Validate(&cfg) == nil {
				t.Error("the program does not validate its config")
			}
		})
	}
}

func TestRunRejectsShortJWTSecret(t *testing.T) {
	cfg := DefaultConfig()
	if err := config.Load(&cfg); err != nil {
		t.Fatal(err)
	}
	cfg.GRPCAddr, cfg.AdminAddr, cfg.OTLPGRPCAddr, cfg.DrainDelay, cfg.LogLevel = freeAddr(t), freeAddr(t), freeAddr(t), 0, "error"
	cfg.URL = "nats://127.0.0.1:1"
	cfg.JWT.Secret = "too-short"
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	err := serve(ctx, cfg, nil, service.Output{})
	if err == nil || !strings.Contains(err.Error(), "AGENTTRACE_JWT_SECRET") || strings.Contains(err.Error(), "too-short") {
		t.Errorf("Run = %v, want an error naming the variable but not its value", err)
	}
}

// fakeAuth is the auth service's caller resolution, answering for one secret.
type fakeAuth struct {
	authv1.UnimplementedAuthServiceServer
}

func (fakeAuth) Authenticate(_ context.Context, req *authv1.AuthenticateRequest) (*authv1.AuthenticateResponse, error) {
	if req.GetAuthorization() != "Bearer sk-test" {
		return nil, status.Error(codes.Unauthenticated, "invalid key")
	}
	return &authv1.AuthenticateResponse{Principal: &authv1.Principal{
		Kind: authv1.PrincipalKind_PRINCIPAL_KIND_API_KEY, KeyId: "k1", ProjectId: "proj-app", OrganizationId: "org",
		Scopes: []authv1.APIKeyScope{authv1.APIKeyScope_API_KEY_SCOPE_INGEST, authv1.APIKeyScope_API_KEY_SCOPE_READ, authv1.APIKeyScope_API_KEY_SCOPE_ADMIN},
	}}, nil
}

func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// runService starts the whole service against natsURL and returns a client
// and the admin base URL; it stops the service when the test ends.
func runService(t *testing.T, natsURL string) (ingestv1.IngestServiceClient, string, Config) {
	t.Helper()
	authLis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	authSrv := grpc.NewServer()
	authv1.RegisterAuthServiceServer(authSrv, fakeAuth{})
	grpctest.Serve(t, authSrv, authLis)

	var b [6]byte
	if _, err := rand.Read(b[:]); err != nil {
		t.Fatal(err)
	}
	cfg := DefaultConfig()
	if err := config.Load(&cfg); err != nil {
		t.Fatal(err)
	}
	cfg.GRPCAddr, cfg.AdminAddr, cfg.OTLPGRPCAddr, cfg.Auth.Addr = freeAddr(t), freeAddr(t), freeAddr(t), authLis.Addr().String()
	cfg.DrainDelay, cfg.LogLevel = 0, "error"
	cfg.URL, cfg.Namespace = natsURL, "apptest_"+hex.EncodeToString(b[:])
	cfg.RateLimit.KeyPrefix = cfg.Namespace + ":"
	cfg.PublishTimeout = 2 * time.Second

	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- serve(ctx, cfg, nil, service.Output{}) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("Run: %v", err)
			}
		case <-time.After(15 * time.Second):
			t.Error("service did not stop")
		}
	})

	admin := "http://" + cfg.AdminAddr
	waitFor(t, func() bool { code, _ := get(admin + "/health"); return code == http.StatusOK })
	conn, err := grpc.NewClient(cfg.GRPCAddr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return ingestv1.NewIngestServiceClient(conn), admin, cfg
}

func get(url string) (int, string) {
	resp, err := http.Get(url)
	if err != nil {
		return 0, ""
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body)
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met within 10s")
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func authed(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	return metadata.AppendToOutgoingContext(ctx, "authorization", "Bearer sk-test")
}

func oneSpan() *ingestv1.IngestBatchRequest {
	return &ingestv1.IngestBatchRequest{Batch: []*ingestv1.IngestEvent{{Id: "e1", Type: ingestv1.EventType_EVENT_TYPE_TRACE_CREATE, Trace: &ingestv1.TraceBody{Id: "t1"}}}}
}

func TestRunWithNATSDown(t *testing.T) {
	client, admin, _ := runService(t, "nats://127.0.0.1:1")

	code, body := get(admin + "/ready")
	if code != http.StatusServiceUnavailable {
		t.Fatalf("/ready = %d %s, want 503 while NATS is down", code, body)
	}
	var ready struct {
		Failures map[string]string `json:"failures"`
	}
	if err := json.Unmarshal([]byte(body), &ready); err != nil || ready.Failures["nats"] == "" {
		t.Errorf("/ready body %s does not name nats", body)
	}

	start := time.Now()
	_, err := client.IngestBatch(authed(t), oneSpan())
	if status.Code(err) != codes.Unavailable {
		t.Fatalf("IngestBatch = %v, want Unavailable", err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("IngestBatch took %v, want a prompt Unavailable", d)
	}
	if _, err := client.IngestBatch(context.Background(), oneSpan()); status.Code(err) != codes.Unauthenticated {
		t.Errorf("IngestBatch without a key = %v, want Unauthenticated", err)
	}
}

func TestRunIntegration(t *testing.T) {
	if testing.Short() {
		t.Skip("needs NATS at 127.0.0.1:4222")
	}
	client, admin, cfg := runService(t, "nats://127.0.0.1:4222")
	t.Cleanup(func() { deleteStreams(t, cfg.Config) })

	waitFor(t, func() bool { code, _ := get(admin + "/ready"); return code == http.StatusOK })
	var hdr metadata.MD
	resp, err := client.IngestBatch(authed(t), oneSpan(), grpc.Header(&hdr))
	if err != nil || resp.GetAccepted() != 1 {
		t.Fatalf("IngestBatch = %v, %v", resp, err)
	}
	if got := hdr.Get("x-ratelimit-remaining"); len(got) != 1 {
		t.Errorf("x-ratelimit-remaining = %v, want the rate limit after authentication", got)
	}
	_, metrics := get(admin + "/metrics")
	for _, want := range []string{
		`agenttrace_ratelimit_decisions_total{class="ingest",outcome="allowed"} 1`,
		`agenttrace_ingest_events_total{outcome="accepted",type="trace_create"} 1`,
		"agenttrace_ingest_publish_duration_seconds_count 1",
		"agenttrace_ingest_batch_events_count 1",
	} {
		if !strings.Contains(metrics, want) {
			t.Errorf("/metrics lacks %q", want)
		}
	}
}

// deleteStreams removes the streams the service declared under cfg's namespace.
func deleteStreams(t *testing.T, cfg stream.Config) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	nc, js, err := stream.Connect(ctx, cfg, "apptest-cleanup")
	if err != nil {
		t.Error(err)
		return
	}
	defer nc.Close()
	for _, name := range []string{cfg.EventsStream(), cfg.DeadLetterStream()} {
		if err := js.DeleteStream(ctx, name); err != nil {
			t.Errorf("delete stream %s: %v", name, err)
		}
	}
}
