package app

import (
	"errors"
	"testing"
	"time"

	"github.com/agenttrace/agenttrace/pkg/service"
)

func TestConfigDefaults(t *testing.T) {
	cfg, err := Program().Load()
	if err != nil {
		t.Fatal(err)
	}
	if cfg.GRPCAddr != ":9082" || cfg.AdminAddr != ":9182" || cfg.Auth.Addr != "127.0.0.1:9083" || cfg.Auth.CacheTTL != 10*time.Second {
		t.Errorf("defaults = %+v", cfg)
	}
}

func TestConfigFromEnv(t *testing.T) {
	t.Setenv("AGENTTRACE_GRPC_ADDR", "127.0.0.1:1")
	t.Setenv("AGENTTRACE_AUTH_CACHE_TTL", "3s")
	t.Setenv("AGENTTRACE_CLICKHOUSE_DATABASE", "elsewhere")
	t.Setenv("AGENTTRACE_RATELIMIT_QUERY_KEY_RATE", "7")
	cfg, err := Program().Load()
	if err != nil {
		t.Fatal(err)
	}
	if cfg.GRPCAddr != "127.0.0.1:1" || cfg.Auth.CacheTTL != 3*time.Second || cfg.ClickHouse.Database != "elsewhere" || cfg.RateLimit.QueryKeyRate != 7 {
		t.Errorf("cfg = %+v", cfg)
	}
	t.Setenv("AGENTTRACE_AUTH_CACHE_TTL", "soon")
	if _, err := Program().Load(); err == nil {
		t.Error("a malformed duration was accepted")
	}
}

func TestRunRejectsUnknownCommand(t *testing.T) {
	if err := Program().Run(t.Context(), []string{"migrate"}); !errors.Is(err, service.ErrUsage) {
		t.Errorf("unknown command: %v, want a usage error", err)
	}
}
