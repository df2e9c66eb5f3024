package edge

import (
	"context"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"

	"github.com/agenttrace/agenttrace/pkg/config"
	queryv1 "github.com/agenttrace/agenttrace/pkg/gen/agenttrace/query/v1"
	"github.com/agenttrace/agenttrace/pkg/ratelimit"
	"github.com/agenttrace/agenttrace/pkg/stream"
)

func loadLimits(t *testing.T) ratelimit.Config {
	t.Helper()
	var cfg ratelimit.Config
	if err := config.Load(&cfg); err != nil {
		t.Fatal(err)
	}
	return cfg
}

type testConfig struct {
	config.Base
	Edge   Config
	Stream stream.Config
}

func loadConfig(t *testing.T) testConfig {
	t.Helper()
	cfg := testConfig{Base: config.Base{GRPCAddr: "127.0.0.1:0", AdminAddr: "127.0.0.1:0"}}
	if err := config.Load(&cfg); err != nil {
		t.Fatal(err)
	}
	cfg.LogLevel, cfg.DrainDelay = "error", 0
	// Nothing answers here: callers cannot be resolved.
	cfg.Edge.Auth.Addr = "127.0.0.1:1"
	return cfg
}

func TestNewRefusesBadSettings(t *testing.T) {
	cfg := loadConfig(t)
	cfg.Edge.Auth.CacheTTL = -time.Second
	if _, err := New(context.Background(), "edge-test", cfg.Base, cfg.Edge); err == nil || !strings.Contains(err.Error(), "AUTH_CACHE_TTL") {
		t.Errorf("negative cache TTL: %v", err)
	}
	cfg = loadConfig(t)
	rl := loadLimits(t)
	rl.RedisTimeout = 0
	cfg.Edge.RateLimit = &rl
	if _, err := New(context.Background(), "edge-test", cfg.Base, cfg.Edge); err == nil || !strings.Contains(err.Error(), "REDIS_TIMEOUT") {
		t.Errorf("zero Redis timeout: %v", err)
	}
}

// The shell authenticates calls before they reach a handler, registers the
// limiter's metrics, follows revocations on its NATS connection, and closes
// everything it owns when it stops.
func TestShellChecksCallersAndStops(t *testing.T) {
	if testing.Short() {
		t.Skip("needs NATS")
	}
	cfg := loadConfig(t)
	rl := loadLimits(t)
	cfg.Edge.RateLimit = &rl
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	sh, err := New(ctx, "edge-test", cfg.Base, cfg.Edge)
	if err != nil {
		t.Fatal(err)
	}
	if sh.Name() != "edge-test" {
		t.Errorf("Name = %q", sh.Name())
	}
	if _, _, err := sh.ConnectNATS(ctx, cfg.Stream); err != nil {
		t.Fatal(err)
	}
	queryv1.RegisterQueryServiceServer(sh.GRPC(), queryv1.UnimplementedQueryServiceServer{})
	done := make(chan error, 1)
	go func() { done <- sh.Run(ctx) }()
	<-sh.Ready()

	families, err := sh.Registry().Gather()
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, f := range families {
		found = found || f.GetName() == "agenttrace_ratelimit_redis_up"
	}
	if !found {
		t.Error("the limiter's metrics are not registered")
	}

	conn, err := grpc.NewClient(sh.GRPCAddr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_, err = queryv1.NewQueryServiceClient(conn).ListTraces(ctx, &queryv1.ListTracesRequest{})
	if status.Code(err) != codes.Unauthenticated {
		t.Errorf("a call without credentials = %v, want Unauthenticated", err)
	}

	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("Run = %v", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("the shell did not stop")
	}
}
