package ratelimit

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/agenttrace/agenttrace/pkg/config"
)

func TestConfigFromEnvironment(t *testing.T) {
	t.Setenv("AGENTTRACE_REDIS_ADDR", "redis:6380")
	t.Setenv("AGENTTRACE_REDIS_PASSWORD", "hunter2")
	t.Setenv("AGENTTRACE_RATELIMIT_INGEST_PROJECT_RATE", "1000")
	t.Setenv("AGENTTRACE_RATELIMIT_INGEST_PROJECT_BURST", "2000")
	t.Setenv("AGENTTRACE_RATELIMIT_QUERY_KEY_RATE", "0")
	var cfg Config
	if err := config.Load(&cfg); err != nil {
		t.Fatal(err)
	}
	if cfg.RedisAddr != "redis:6380" || cfg.RedisPassword.Value() != "hunter2" || !cfg.Enabled || cfg.RedisTimeout != 50*time.Millisecond {
		t.Errorf("unexpected config %+v", cfg)
	}
	lim := cfg.Limits()
	if lim.IngestProject != PerSecond(1000, 2000) {
		t.Errorf("ingest project limit %v", lim.IngestProject)
	}
	if !lim.QueryKey.Disabled() {
		t.Errorf("rate 0 did not disable the query key limit: %v", lim.QueryKey)
	}
	if s := fmt.Sprintf("%+v %v", cfg, cfg); strings.Contains(s, "hunter2") {
		t.Errorf("password printed: %s", s)
	}
}

func TestConfigValidate(t *testing.T) {
	tests := []struct {
		name   string
		change func(*Config)
		want   string // "" for valid
	}{
		{"defaults", func(*Config) {}, ""},
		{"zero timeout", func(c *Config) { c.RedisTimeout = 0 }, "AGENTTRACE_REDIS_TIMEOUT"},
		{"zero retry interval", func(c *Config) { c.RedisRetryInterval = 0 }, "AGENTTRACE_REDIS_RETRY_INTERVAL"},
		{"negative rate", func(c *Config) { c.QueryProjectRate = -1 }, "AGENTTRACE_RATELIMIT_QUERY_PROJECT_RATE"},
		{"negative burst", func(c *Config) { c.IngestKeyBurst = -5 }, "AGENTTRACE_RATELIMIT_INGEST_KEY_BURST"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := testConfig(t)
			tt.change(&cfg)
			err := cfg.Validate()
			if tt.want == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("got %v, want an error naming %s", err, tt.want)
			}
			if _, err := New(cfg, nil); err == nil {
				t.Error("New accepted an invalid config")
			}
		})
	}
}

func TestLimitString(t *testing.T) {
	tests := []struct {
		limit Limit
		want  string
	}{
		{PerSecond(100, 200), "100/1s burst 200"},
		{Limit{Rate: 5}, "5/1s burst 5"},
		{Limit{Rate: 5, Period: time.Minute}, "5/1m0s burst 5"},
		{Limit{}, "unlimited"},
	}
	for _, tt := range tests {
		if got := tt.limit.String(); got != tt.want {
			t.Errorf("%#v.String() = %q, want %q", tt.limit, got, tt.want)
		}
	}
}

func TestCloseTwice(t *testing.T) {
	lim, err := New(testConfig(t), nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := range 2 {
		if err := lim.Close(context.Background()); err != nil {
			t.Errorf("close %d: %v", i, err)
		}
	}
}
