package clickhousedb

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync/atomic"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
)

// ErrNotConnected: a Background connection is still being opened (nothing
// answers yet, or the database does not exist until `agenttrace-worker
// migrate up` creates it).
var ErrNotConnected = errors.New("not connected to clickhouse yet (its database is created by `agenttrace-worker migrate up`)")

// Background is the connection of a service that starts before ClickHouse
// does: Run opens it, retrying like OpenRetry, while the service already
// serves and reports not ready. Until then Conn fails with ErrNotConnected.
//
// A service runs it in its shell:
//
//	ch := clickhousedb.NewBackground(cfg.ClickHouse, sh.Log())
//	sh.Go("clickhouse connection", ch.Run)
//	sh.AddCheck("clickhouse", ch.Ping)
//	sh.OnClose("clickhouse", ch.Close)
type Background struct {
	cfg  Config
	log  *slog.Logger
	conn atomic.Pointer[driver.Conn]
}

// NewBackground returns a connection that Run will open.
func NewBackground(cfg Config, log *slog.Logger) *Background {
	return &Background{cfg: cfg, log: log}
}

// Connected wraps a connection that is already open.
func Connected(conn driver.Conn) *Background {
	b := &Background{}
	b.conn.Store(&conn)
	return b
}

// Run opens the connection, retrying until ClickHouse answers or ctx ends
// (then it returns nil: a shutdown is not a failure).
func (b *Background) Run(ctx context.Context) error {
	conn, err := OpenRetry(ctx, b.log, b.cfg)
	if err != nil {
		if ctx.Err() != nil {
			return nil //nolint:nilerr // shutting down before ClickHouse answered is not a failure
		}
		return err
	}
	b.conn.Store(&conn)
	return nil
}

// Conn is the connection once Run has opened it.
func (b *Background) Conn() (driver.Conn, error) {
	if c := b.conn.Load(); c != nil {
		return *c, nil
	}
	return nil, ErrNotConnected
}

// Ping reports whether ClickHouse answers; it backs readiness.
func (b *Background) Ping(ctx context.Context) error {
	conn, err := b.Conn()
	if err != nil {
		return err
	}
	if err := conn.Ping(ctx); err != nil {
		return fmt.Errorf("ping clickhouse: %w", err)
	}
	return nil
}

// Close closes the connection, if Run opened one.
func (b *Background) Close(context.Context) error {
	if c := b.conn.Load(); c != nil {
		return (*c).Close()
	}
	return nil
}
