package app

import (
	"context"
	"log/slog"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"

	"github.com/agenttrace/agenttrace/pkg/chschema"
	"github.com/agenttrace/agenttrace/pkg/clickhousedb"
	"github.com/agenttrace/agenttrace/pkg/retry"
	"github.com/agenttrace/agenttrace/pkg/service"
)

// schemaCheckTTL is how long a passing schema check is trusted before the
// version table is read again; probes come every few seconds.
const schemaCheckTTL = 30 * time.Second

// schemaCheck backs /ready's "schema" check: the database must hold the
// schema this build writes (chschema.Check), on the connection once the
// consumer has opened it.
func schemaCheck(ch *clickhousedb.Background) service.Check {
	return service.CachePassing(func(ctx context.Context) error {
		conn, err := ch.Conn()
		if err != nil {
			return err
		}
		return chschema.Check(ctx, conn)
	}, schemaCheckTTL)
}

// waitForSchema returns once conn's database holds the schema this build
// needs, or when ctx ends. The consumer must not fetch before: every insert
// would fail, be redelivered and after WORKER_MAX_DELIVER attempts land in
// the dead-letter stream, which on a first install (migrations running
// beside the worker) would be every event sent meanwhile. Waiting, the
// events stay in the stream.
func waitForSchema(ctx context.Context, log *slog.Logger, conn driver.Conn, runner string) error {
	waited := false
	p := retry.Policy{First: time.Second, Max: 5 * time.Second, OnRetry: func(_ int, err error, _ time.Duration) {
		if !waited {
			log.WarnContext(ctx, "waiting for the clickhouse schema before starting; events stay in the stream meanwhile",
				"runner", runner, "reason", err.Error())
			waited = true
		}
	}}
	if err := p.Do(ctx, func(ctx context.Context) error { return chschema.Check(ctx, conn) }); err != nil {
		return err
	}
	if waited {
		log.InfoContext(ctx, "clickhouse schema is ready", "runner", runner)
	}
	return nil
}
