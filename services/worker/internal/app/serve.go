package app

import (
	"context"
	"fmt"
	"os"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"google.golang.org/grpc"

	"github.com/agenttrace/agenttrace/pkg/clickhousedb"
	"github.com/agenttrace/agenttrace/pkg/edge"
	"github.com/agenttrace/agenttrace/pkg/jwtkeys"
	"github.com/agenttrace/agenttrace/pkg/service"
	"github.com/agenttrace/agenttrace/pkg/stream"
	"github.com/agenttrace/agenttrace/services/worker/internal/authclient"
	"github.com/agenttrace/agenttrace/services/worker/internal/chstore"
	"github.com/agenttrace/agenttrace/services/worker/internal/consumer"
	"github.com/agenttrace/agenttrace/services/worker/internal/deadletter"
	"github.com/agenttrace/agenttrace/services/worker/internal/lease"
	"github.com/agenttrace/agenttrace/services/worker/internal/pricing"
	"github.com/agenttrace/agenttrace/services/worker/internal/retention"
	"github.com/agenttrace/agenttrace/services/worker/internal/rollup"
)

// serve runs the worker until ctx ends.
func serve(ctx context.Context, cfg Config, _ []string, _ service.Output) error {
	// Checked before anything starts: a worker that would silently not
	// enforce retention or price usage is worse than one that refuses to
	// start.
	var ring *jwtkeys.Ring
	if cfg.Retention.Enabled() || cfg.Prices.Enabled() {
		r, err := jwtkeys.NewRing(cfg.JWT)
		if err != nil {
			return fmt.Errorf("%w (the retention job and the model price loads call auth with service tokens; "+
				"set AGENTTRACE_WORKER_RETENTION_INTERVAL=0 and AGENTTRACE_WORKER_PRICES_REFRESH=0 to disable them)", err)
		}
		ring = r
	}
	sh, err := edge.New(ctx, "worker", cfg.Base, edge.Config{Auth: cfg.Auth})
	if err != nil {
		return err
	}
	log := sh.Log()
	_, js, err := sh.ConnectNATS(ctx, cfg.Stream)
	if err != nil {
		return err
	}
	// Opened by the consumer's runner, which waits for it; /ready reports
	// it meanwhile.
	ch := clickhousedb.NewBackground(cfg.ClickHouse, log)
	sh.OnClose("clickhouse", ch.Close)
	sh.AddCheck("clickhouse", ch.Ping)
	sh.AddCheck("schema", schemaCheck(ch))
	sh.AddCheck("nats", stream.Check(js, cfg.Stream))

	writerMetrics := chstore.NewMetrics(sh.Registry())
	consumerMetrics := consumer.NewMetrics(sh.Registry())
	var authConn *grpc.ClientConn
	if ring != nil {
		if authConn, err = authclient.Dial(cfg.Auth.Addr, ring); err != nil {
			return err
		}
		sh.OnClose("auth connection (service calls)", func(context.Context) error { return authConn.Close() })
	}
	var costs consumer.Costs
	var prices *pricing.Cache
	if cfg.Prices.Enabled() {
		costs, prices = servePrices(sh.Shell, cfg.Prices, authConn)
	} else {
		log.Warn("cost computation disabled (AGENTTRACE_WORKER_PRICES_REFRESH=0): generations keep only the costs clients send")
	}
	sh.Go("consumer", func(ctx context.Context) error {
		if err := ch.Run(ctx); err != nil || ctx.Err() != nil {
			return err // nil when stopped before ClickHouse answered
		}
		conn, err := ch.Conn()
		if err != nil {
			return err
		}
		if err := waitForSchema(ctx, log, conn, "consumer"); err != nil {
			return err
		}
		if prices != nil && !prices.WaitLoaded(ctx, cfg.Prices.FirstLoadWait) && ctx.Err() == nil {
			log.WarnContext(ctx, "consuming without model prices: generations are stored without computed costs until the prices load",
				"waited", cfg.Prices.FirstLoadWait)
		}
		c, err := consumer.Declare(ctx, consumer.Deps{
			Log:         log,
			JS:          js,
			Stream:      cfg.Stream,
			Writer:      chstore.NewWriter(conn, writerMetrics, chstore.WithMutationWait(cfg.MutationWait), chstore.WithLogger(log)),
			DeadLetters: deadletter.New(js, cfg.Stream),
			Metrics:     consumerMetrics,
			Costs:       costs,
		}, cfg.Worker)
		if err != nil {
			return err
		}
		log.InfoContext(ctx, "consuming events", "stream", cfg.Stream.EventsStream(), "consumer", cfg.Worker.Durable)
		return c.Run(ctx)
	})
	if cfg.Retention.Enabled() {
		if err := serveRetention(sh.Shell, cfg, authConn, js, writerMetrics); err != nil {
			return err
		}
	} else {
		log.Warn("retention job disabled (AGENTTRACE_WORKER_RETENTION_INTERVAL=0): project retention periods are not enforced")
	}
	if cfg.Rollup.Enabled() {
		if err := serveRollup(sh.Shell, cfg, js); err != nil {
			return err
		}
	} else {
		log.Warn("metrics rollup disabled (AGENTTRACE_WORKER_ROLLUP_INTERVAL=0): metrics are read from the raw rows only")
	}
	return sh.Run(ctx)
}

// authCallTimeout bounds each call the retention job makes to auth.
const authCallTimeout = 10 * time.Second

// serveRetention runs the retention job on its own ClickHouse connection,
// so an hourly job never competes with the consumer's pool.
func serveRetention(sh *service.Shell, cfg Config, authConn grpc.ClientConnInterface, js jetstream.JetStream, wm *chstore.Metrics) error {
	log := sh.Log()
	lse, err := jobLease(cfg, js, lease.BucketName(cfg.Stream), "retention", cfg.Retention.Interval)
	if err != nil {
		return err
	}
	metrics := retention.NewMetrics(sh.Registry(), wm.RetentionDeletions())
	sh.Go("retention", func(ctx context.Context) error {
		conn, err := clickhousedb.OpenRetry(ctx, log, cfg.ClickHouse)
		if err != nil {
			return err
		}
		defer conn.Close()
		if err := waitForSchema(ctx, log, conn, "retention"); err != nil {
			return err
		}
		client := authclient.New(authConn, authCallTimeout)
		job := retention.New(retention.Deps{
			Log:      log,
			Policies: client,
			Auditor:  client,
			Store:    chstore.NewWriter(conn, wm, chstore.WithMutationWait(cfg.MutationWait), chstore.WithLogger(log)),
			Lease:    lse,
			Metrics:  metrics,
		}, cfg.Retention)
		log.InfoContext(ctx, "retention job scheduled", "interval", cfg.Retention.Interval)
		return job.Run(ctx)
	})
	return nil
}

// serveRollup runs the metrics rollup job on its own ClickHouse connection.
// Its lease has a bucket of its own (see jobLease).
func serveRollup(sh *service.Shell, cfg Config, js jetstream.JetStream) error {
	log := sh.Log()
	lse, err := jobLease(cfg, js, lease.BucketName(cfg.Stream)+"_ROLLUP", "rollup", cfg.Rollup.Interval)
	if err != nil {
		return err
	}
	sh.Go("metrics rollup", func(ctx context.Context) error {
		conn, err := clickhousedb.OpenRetry(ctx, log, cfg.ClickHouse)
		if err != nil {
			return err
		}
		defer conn.Close()
		if err := waitForSchema(ctx, log, conn, "metrics rollup"); err != nil {
			return err
		}
		log.InfoContext(ctx, "metrics rollup scheduled", "interval", cfg.Rollup.Interval, "settle", cfg.Rollup.Settle)
		return rollup.New(conn, cfg.Rollup, lse, log).Run(ctx)
	})
	return nil
}

// jobLease is the lease of a periodic job run every interval: it expires a
// little before the next tick, so the replica that ran last can run again
// on time while other replicas skip the interval. A bucket's entries share
// one TTL, so each interval needs its own bucket.
func jobLease(cfg Config, js jetstream.JetStream, bucket, key string, interval time.Duration) (*lease.Lease, error) {
	return lease.New(js, lease.Config{
		Bucket:   bucket,
		Key:      key,
		TTL:      interval * 9 / 10,
		Replicas: cfg.Stream.Replicas,
		Holder:   hostname(),
	})
}

// servePrices keeps the model price table loaded from auth in the
// background and returns what prices the consumer's rows from it, and the
// cache (the consumer waits briefly for its first load; /ready reports it).
func servePrices(sh *service.Shell, cfg pricing.Config, authConn grpc.ClientConnInterface) (consumer.Costs, *pricing.Cache) {
	metrics := pricing.NewMetrics(sh.Registry())
	cache := pricing.NewCache(authclient.NewPrices(authConn, authCallTimeout), sh.Log(), metrics, cfg)
	sh.Go("model prices", cache.Run)
	sh.AddCheck("model prices", cache.Check)
	return pricing.NewEnricher(cache, metrics), cache
}

func hostname() string {
	h, err := os.Hostname()
	if err != nil {
		return "worker"
	}
	return h
}
