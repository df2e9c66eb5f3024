package main

import (
	"testing"
	"time"
)

func TestConfigDefaults(t *testing.T) {
	cfg, err := loadConfig()
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
	cfg, err := loadConfig()
	if err != nil {
		t.Fatal(err)
	}
	if cfg.GRPCAddr != "127.0.0.1:1" || cfg.Auth.CacheTTL != 3*time.Second || cfg.ClickHouse.Database != "elsewhere" || cfg.RateLimit.QueryKeyRate != 7 {
		t.Errorf("cfg = %+v", cfg)
	}
	t.Setenv("AGENTTRACE_AUTH_CACHE_TTL", "soon")
	if _, err := loadConfig(); err == nil {
		t.Error("a malformed duration was accepted")
	}
}

func TestRunRejectsUnknownCommand(t *testing.T) {
	if err := run(t.Context(), []string{"migrate"}); err == nil {
		t.Error("unknown command accepted")
	}
}
