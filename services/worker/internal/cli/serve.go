package cli

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"

	"github.com/agenttrace/agenttrace/pkg/authn"
	"github.com/agenttrace/agenttrace/pkg/clickhousedb"
	"github.com/agenttrace/agenttrace/pkg/service"
	"github.com/agenttrace/agenttrace/pkg/stream"
	"github.com/agenttrace/agenttrace/services/worker/internal/chstore"
	"github.com/agenttrace/agenttrace/services/worker/internal/consumer"
	"github.com/agenttrace/agenttrace/services/worker/internal/deadletter"
)

func (a *App) serve(ctx context.Context, cfg Config, args []string) error {
	if len(args) > 0 {
		return usageError("serve takes no arguments")
	}
	auth, err := authn.NewClient(cfg.Auth)
	if err != nil {
		return err
	}
	sh, err := service.New(ctx, "worker", cfg.Base, auth.Interceptors())
	if err != nil {
		auth.Close(ctx)
		return err
	}
	sh.OnClose("auth client", auth.Close)
	log := sh.Log()

	// The connection retries in the background: the worker starts (and says
	// not ready) while NATS is down.
	nc, js, err := stream.Connect(ctx, cfg.Stream, "worker")
	if err != nil {
		return err
	}
	sh.OnClose("nats", func(context.Context) error { nc.Close(); return nil })
	if err := auth.FollowRevocations(nc); err != nil {
		return err
	}

	var ch atomic.Pointer[driver.Conn]
	sh.OnClose("clickhouse", func(context.Context) error {
		if c := ch.Load(); c != nil {
			return (*c).Close()
		}
		return nil
	})
	sh.AddCheck("clickhouse", func(ctx context.Context) error {
		c := ch.Load()
		if c == nil {
			return errors.New("not connected yet")
		}
		return (*c).Ping(ctx)
	})
	sh.AddCheck("nats", stream.Check(js, cfg.Stream))

	writerMetrics := chstore.NewMetrics(sh.Registry())
	consumerMetrics := consumer.NewMetrics(sh.Registry())
	sh.Go("consumer", func(ctx context.Context) error {
		conn, err := openClickHouse(ctx, log, cfg.ClickHouse)
		if err != nil {
			return err
		}
		ch.Store(&conn)
		c, err := consumer.Declare(ctx, consumer.Deps{
			Log:         log,
			JS:          js,
			Stream:      cfg.Stream,
			Writer:      chstore.NewWriter(conn, writerMetrics),
			DeadLetters: deadletter.New(js, cfg.Stream),
			Metrics:     consumerMetrics,
		}, cfg.Worker)
		if err != nil {
			return err
		}
		log.InfoContext(ctx, "consuming events", "stream", cfg.Stream.EventsStream(), "consumer", cfg.Worker.Durable)
		return c.Run(ctx)
	})
	return sh.Run(ctx)
}

// openClickHouse connects, retrying until ClickHouse answers or ctx ends, so
// the worker can start before its database.
func openClickHouse(ctx context.Context, log *slog.Logger, cfg clickhousedb.Config) (driver.Conn, error) {
	for attempt := 1; ; attempt++ {
		conn, err := clickhousedb.Open(ctx, cfg, "")
		if err == nil {
			return conn, nil
		}
		log.WarnContext(ctx, "clickhouse not ready; retrying", "attempt", attempt, "err", err)
		t := time.NewTimer(min(time.Duration(attempt)*time.Second, 10*time.Second))
		select {
		case <-ctx.Done():
			t.Stop()
			return nil, fmt.Errorf("connect clickhouse: %w (last error: %v)", ctx.Err(), err)
		case <-t.C:
		}
	}
}
