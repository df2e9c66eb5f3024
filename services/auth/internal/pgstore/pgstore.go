// Package pgstore keeps the auth service's data in PostgreSQL: the
// connection pool, the embedded schema migrations and the tenancy.Store.
package pgstore

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/agenttrace/agenttrace/pkg/config"
)

// Config is how the service reaches PostgreSQL.
type Config struct {
	// URL may carry a password, hence a Secret.
	URL config.Secret `env:"POSTGRES_URL" envDefault:"postgres://postgres@127.0.0.1:5432/agenttrace?sslmode=disable"`
	// MaxConns caps the pool; every replica holds up to this many.
	MaxConns int32 `env:"POSTGRES_MAX_CONNS" envDefault:"10"`
	// MinConns are kept open while idle.
	MinConns int32 `env:"POSTGRES_MIN_CONNS" envDefault:"0"`
	// MaxConnLifetime recycles connections so that a failover or a
	// rebalanced pooler is picked up.
	MaxConnLifetime time.Duration `env:"POSTGRES_MAX_CONN_LIFETIME" envDefault:"30m"`
	// MaxConnIdleTime closes connections idle this long.
	MaxConnIdleTime time.Duration `env:"POSTGRES_MAX_CONN_IDLE_TIME" envDefault:"5m"`
	// ConnectTimeout bounds establishing one connection.
	ConnectTimeout time.Duration `env:"POSTGRES_CONNECT_TIMEOUT" envDefault:"5s"`
}

// parseURL parses a connection URL without ever echoing it: it may hold a
// password, and pgx's redaction of malformed input is best effort.
func parseURL(url config.Secret) (*pgx.ConnConfig, error) {
	cc, err := pgx.ParseConfig(url.Value())
	if err != nil {
		return nil, fmt.Errorf("parse AGENTTRACE_POSTGRES_URL: malformed connection URL")
	}
	return cc, nil
}

// Open builds the connection pool. It does not connect: a database that is
// down at startup makes the service not ready, not dead.
func Open(ctx context.Context, cfg Config) (*pgxpool.Pool, error) {
	pc, err := pgxpool.ParseConfig(cfg.URL.Value())
	if err != nil {
		return nil, fmt.Errorf("parse AGENTTRACE_POSTGRES_URL: malformed connection URL")
	}
	if cfg.MaxConns > 0 {
		pc.MaxConns = cfg.MaxConns
	}
	pc.MinConns = cfg.MinConns
	if cfg.MaxConnLifetime > 0 {
		pc.MaxConnLifetime = cfg.MaxConnLifetime
	}
	if cfg.MaxConnIdleTime > 0 {
		pc.MaxConnIdleTime = cfg.MaxConnIdleTime
	}
	if cfg.ConnectTimeout > 0 {
		pc.ConnConfig.ConnectTimeout = cfg.ConnectTimeout
	}
	pool, err := pgxpool.NewWithConfig(ctx, pc)
	if err != nil {
		return nil, fmt.Errorf("postgres pool: %w", err)
	}
	return pool, nil
}
