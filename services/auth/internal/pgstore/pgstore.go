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
	// Password, when set, replaces whatever password URL carries. A
	// deployment passes it on its own (URL without a password), so that a
	// generated password with URL-reserved characters (/ + = @ : ? #) needs
	// no escaping.
	Password config.Secret `env:"POSTGRES_PASSWORD"`
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

// poolConfig is the one reading of Config into pgx's settings: every
// connection auth makes (the pool, the migrator, database creation) starts
// from it, so the password override and the timeouts apply to all of them.
// It never echoes the URL: it may hold a password, and pgx's redaction of
// malformed input is best effort.
func (c Config) poolConfig() (*pgxpool.Config, error) {
	pc, err := pgxpool.ParseConfig(c.URL.Value())
	if err != nil {
		return nil, fmt.Errorf("parse AGENTTRACE_POSTGRES_URL: malformed connection URL")
	}
	if c.Password != "" {
		// Set after parsing, so the password is never URL-decoded: it is
		// used exactly as given.
		pc.ConnConfig.Password = c.Password.Value()
	}
	if c.ConnectTimeout > 0 {
		pc.ConnConfig.ConnectTimeout = c.ConnectTimeout
	}
	if c.MaxConns > 0 {
		pc.MaxConns = c.MaxConns
	}
	pc.MinConns = c.MinConns
	if c.MaxConnLifetime > 0 {
		pc.MaxConnLifetime = c.MaxConnLifetime
	}
	if c.MaxConnIdleTime > 0 {
		pc.MaxConnIdleTime = c.MaxConnIdleTime
	}
	return pc, nil
}

// connConfig is poolConfig for a single connection. It comes from the pool's
// parse so that pool settings in the URL (pool_max_conns) are understood
// rather than sent to the server as runtime parameters.
func (c Config) connConfig() (*pgx.ConnConfig, error) {
	pc, err := c.poolConfig()
	if err != nil {
		return nil, err
	}
	return pc.ConnConfig, nil
}

// Open builds the connection pool. It does not connect: a database that is
// down at startup makes the service not ready, not dead.
func Open(ctx context.Context, cfg Config) (*pgxpool.Pool, error) {
	pc, err := cfg.poolConfig()
	if err != nil {
		return nil, err
	}
	pool, err := pgxpool.NewWithConfig(ctx, pc)
	if err != nil {
		return nil, fmt.Errorf("postgres pool: %w", err)
	}
	return pool, nil
}
