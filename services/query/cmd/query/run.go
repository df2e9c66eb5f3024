package main

import (
	"context"
	"fmt"
	"os"
	"time"

	"github.com/agenttrace/agenttrace/pkg/authn"
	"github.com/agenttrace/agenttrace/pkg/clickhousedb"
	"github.com/agenttrace/agenttrace/pkg/config"
	queryv1 "github.com/agenttrace/agenttrace/pkg/gen/agenttrace/query/v1"
	"github.com/agenttrace/agenttrace/pkg/ratelimit"
	"github.com/agenttrace/agenttrace/pkg/service"
	"github.com/agenttrace/agenttrace/pkg/stream"
	"github.com/agenttrace/agenttrace/services/query/internal/chstore"
	"github.com/agenttrace/agenttrace/services/query/internal/query"
	"github.com/agenttrace/agenttrace/services/query/internal/transport"
)

// Config is the query service's configuration (AGENTTRACE_* variables).
type Config struct {
	config.Base
	ClickHouse clickhousedb.Config
	// NATS carries only the revocation notices that evict cached keys.
	NATS stream.Config
	// Auth is how API keys are validated.
	Auth authn.ClientConfig
	// RateLimit limits calls per project and per key (in Redis).
	RateLimit ratelimit.Config
}

// schemaCheckTTL is how long a passing schema check is trusted.
const schemaCheckTTL = 30 * time.Second

// defaultConfig is the configuration before the environment is applied:
// query's port defaults (the rest come from envDefault tags).
func defaultConfig() Config {
	return Config{Base: config.Base{GRPCAddr: ":9082", AdminAddr: ":9182"}}
}

func loadConfig() (Config, error) {
	cfg := defaultConfig()
	if err := config.Load(&cfg); err != nil {
		return Config{}, err
	}
	return cfg, nil
}

func run(ctx context.Context, args []string) error {
	if len(args) == 1 && args[0] == "config" {
		// Prints the AGENTTRACE_* variables query reads, as JSON.
		return config.PrintVars(os.Stdout, defaultConfig())
	}
	if len(args) > 0 && args[0] != "serve" {
		return fmt.Errorf("unknown command %q (the query service takes none, serve or config)", args[0])
	}
	cfg, err := loadConfig()
	if err != nil {
		return err
	}

	auth, err := authn.NewClient(cfg.Auth)
	if err != nil {
		return err
	}
	limiter, err := ratelimit.New(cfg.RateLimit, nil)
	if err != nil {
		auth.Close(ctx)
		return err
	}
	// The limiter runs after auth: limits are per caller.
	sh, err := service.New(ctx, "query", cfg.Base, auth.Interceptors(), limiter.Interceptors())
	if err != nil {
		auth.Close(ctx)
		limiter.Close(ctx)
		return err
	}
	sh.OnClose("auth client", auth.Close)
	sh.OnClose("rate limiter", limiter.Close)
	if err := sh.Registry().Register(limiter); err != nil {
		return err
	}

	nc, _, err := stream.Connect(ctx, cfg.NATS, "query")
	if err != nil {
		return err
	}
	defer nc.Close()
	if err := auth.FollowRevocations(nc); err != nil {
		return err
	}

	chMetrics, err := chstore.NewMetrics(sh.Registry())
	if err != nil {
		return err
	}
	// Connected in the background: query starts (and says not ready, and
	// answers Unavailable) before ClickHouse or its database exists, as on a
	// first install whose migrations run after the pods start.
	store := chstore.NewPending().WithMetrics(chMetrics)
	sh.OnClose("clickhouse", func(context.Context) error { return store.Close() })
	sh.AddCheck("clickhouse", store.Ping)
	// Passing is cached: probes come every few seconds and the version
	// table need not be read that often.
	sh.AddCheck("schema", service.CachePassing(store.CheckSchema, schemaCheckTTL))
	sh.Go("clickhouse connection", func(ctx context.Context) error {
		conn, err := clickhousedb.OpenRetry(ctx, sh.Log(), cfg.ClickHouse)
		if err != nil {
			return err
		}
		store.Connect(conn)
		return nil
	})

	queryv1.RegisterQueryServiceServer(sh.GRPC(), transport.New(query.New(store), sh.Log()))
	return sh.Run(ctx)
}
