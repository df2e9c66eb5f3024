// Package clickhousedb opens the ClickHouse connection used by the worker
// (writes) and query (reads) over the native protocol, which both ClickHouse
// 18.16 and current releases speak.
package clickhousedb

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"
	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"

	"github.com/agenttrace/agenttrace/pkg/config"
	"github.com/agenttrace/agenttrace/pkg/retry"
)

// Config is how a service reaches ClickHouse.
type Config struct {
	// Addr is host:port of the native protocol (9000 by default).
	Addr     string        `env:"CLICKHOUSE_ADDR" envDefault:"127.0.0.1:9000"`
	Database string        `env:"CLICKHOUSE_DATABASE" envDefault:"agenttrace"`
	User     string        `env:"CLICKHOUSE_USER" envDefault:"default"`
	Password config.Secret `env:"CLICKHOUSE_PASSWORD"`
	// MaxOpenConns bounds the connection pool.
	MaxOpenConns int           `env:"CLICKHOUSE_MAX_OPEN_CONNS" envDefault:"16"`
	DialTimeout  time.Duration `env:"CLICKHOUSE_DIAL_TIMEOUT" envDefault:"5s"`
	// QueryTimeout bounds a single read (max_execution_time on the server).
	QueryTimeout time.Duration `env:"CLICKHOUSE_QUERY_TIMEOUT" envDefault:"30s"`
}

// Open connects to cfg.Database (or to another database when db is not
// empty, e.g. "default" to create the database itself) and pings it.
func Open(ctx context.Context, cfg Config, db string) (driver.Conn, error) {
	if db == "" {
		db = cfg.Database
	}
	conn, err := clickhouse.Open(&clickhouse.Options{
		Protocol: clickhouse.Native,
		Addr:     []string{cfg.Addr},
		Auth: clickhouse.Auth{
			Database: db,
			Username: cfg.User,
			Password: cfg.Password.Value(),
		},
		DialTimeout:     cfg.DialTimeout,
		MaxOpenConns:    cfg.MaxOpenConns,
		MaxIdleConns:    cfg.MaxOpenConns,
		ConnMaxLifetime: time.Hour,
		Settings: clickhouse.Settings{
			"max_execution_time": int(cfg.QueryTimeout.Seconds()),
		},
	})
	if err != nil {
		return nil, fmt.Errorf("open clickhouse %s: %w", cfg.Addr, err)
	}
	if err := conn.Ping(ctx); err != nil {
		conn.Close()
		return nil, fmt.Errorf("ping clickhouse %s: %w", cfg.Addr, err)
	}
	return conn, nil
}

// OpenRetry opens cfg.Database like Open, retrying with a growing pause (up
// to 10 s) until ClickHouse answers and the database exists or ctx ends, so
// a service can start before ClickHouse or its migrations and report
// not-ready meanwhile. Every error is retried: a wrong password may be fixed
// by a rolled-out Secret, and the service must not die of it meanwhile.
func OpenRetry(ctx context.Context, log *slog.Logger, cfg Config) (driver.Conn, error) {
	var conn driver.Conn
	p := retry.Policy{First: time.Second, Max: 10 * time.Second, OnRetry: func(attempt int, err error, pause time.Duration) {
		log.WarnContext(ctx, "clickhouse not ready; retrying", "attempt", attempt, "retry_in", pause, "err", err)
	}}
	err := p.Do(ctx, func(ctx context.Context) error {
		var err error
		conn, err = Open(ctx, cfg, "")
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("connect clickhouse: %w", err)
	}
	return conn, nil
}
