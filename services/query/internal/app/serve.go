package app

import (
	"context"
	"time"

	"github.com/agenttrace/agenttrace/pkg/clickhousedb"
	"github.com/agenttrace/agenttrace/pkg/edge"
	queryv1 "github.com/agenttrace/agenttrace/pkg/gen/agenttrace/query/v1"
	"github.com/agenttrace/agenttrace/pkg/service"
	"github.com/agenttrace/agenttrace/services/query/internal/chstore"
	"github.com/agenttrace/agenttrace/services/query/internal/query"
	"github.com/agenttrace/agenttrace/services/query/internal/transport"
)

// schemaCheckTTL is how long a passing schema check is trusted: probes
// come every few seconds and the version table need not be read that often.
const schemaCheckTTL = 30 * time.Second

// serve runs the query service until ctx ends.
func serve(ctx context.Context, cfg Config, _ []string, _ service.Output) error {
	sh, err := edge.New(ctx, "query", cfg.Base, edge.Config{Auth: cfg.Auth, RateLimit: &cfg.RateLimit})
	if err != nil {
		return err
	}
	if _, _, err := sh.ConnectNATS(ctx, cfg.NATS); err != nil {
		return err
	}
	chMetrics, err := chstore.NewMetrics(sh.Registry())
	if err != nil {
		return err
	}
	// Connected in the background: query starts (and says not ready, and
	// answers Unavailable) before ClickHouse or its database exists, as on a
	// first install whose migrations run after the pods start.
	ch := clickhousedb.NewBackground(cfg.ClickHouse, sh.Log())
	sh.Go("clickhouse connection", ch.Run)
	sh.OnClose("clickhouse", ch.Close)
	sh.AddCheck("clickhouse", ch.Ping)
	store := chstore.NewPending(ch).WithMetrics(chMetrics)
	sh.AddCheck("schema", service.CachePassing(store.CheckSchema, schemaCheckTTL))

	queryv1.RegisterQueryServiceServer(sh.GRPC(), transport.New(query.New(store), sh.Log()))
	return sh.Run(ctx)
}
