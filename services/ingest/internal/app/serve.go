package app

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"google.golang.org/grpc"

	"github.com/agenttrace/agenttrace/pkg/edge"
	authv1 "github.com/agenttrace/agenttrace/pkg/gen/agenttrace/auth/v1"
	ingestv1 "github.com/agenttrace/agenttrace/pkg/gen/agenttrace/ingest/v1"
	"github.com/agenttrace/agenttrace/pkg/jwtkeys"
	"github.com/agenttrace/agenttrace/pkg/retry"
	"github.com/agenttrace/agenttrace/pkg/service"
	"github.com/agenttrace/agenttrace/pkg/stream"
	"github.com/agenttrace/agenttrace/services/ingest/internal/auditclient"
	"github.com/agenttrace/agenttrace/services/ingest/internal/ingestapi"
	"github.com/agenttrace/agenttrace/services/ingest/internal/ingestion"
	"github.com/agenttrace/agenttrace/services/ingest/internal/otlpapi"
	"github.com/agenttrace/agenttrace/services/ingest/internal/otlpingest"
	"github.com/agenttrace/agenttrace/services/ingest/internal/publisher"
)

// serve runs ingest until ctx is cancelled. It starts even when NATS or
// auth are down: calls then fail with Unavailable and /ready says why,
// until they come back.
func serve(ctx context.Context, cfg Config, _ []string, _ service.Output) error {
	sh, err := edge.New(ctx, "ingest", cfg.Base, edge.Config{Auth: cfg.Auth, RateLimit: &cfg.RateLimit},
		service.WithServerOptions(grpc.MaxRecvMsgSize(cfg.MaxRequestBytes), otlpapi.ServerOption()),
		service.WithExtraListener("otlp_grpc", cfg.OTLPGRPCAddr),
	)
	if err != nil {
		return err
	}
	// Connected early, so it closes last: after every other closer.
	nc, js, err := sh.ConnectNATS(ctx, cfg.Config)
	if err != nil {
		return err
	}
	pub, err := publisher.New(nc, cfg.Config, cfg.PublishTimeout)
	if err != nil {
		return err
	}
	metrics, err := ingestion.NewMetrics(sh.Registry())
	if err != nil {
		return err
	}
	auditor, err := newAuditor(sh.Shell, cfg)
	if err != nil {
		return err
	}
	svc := ingestion.NewService(ingestion.Config{
		Auditor:   auditor,
		Publisher: pub,
		Limits:    cfg.Limits(),
		MaxBatch:  cfg.MaxBatch,
		Metrics:   metrics,
		Log:       sh.Log(),
	})
	ingestv1.RegisterIngestServiceServer(sh.GRPC(), ingestapi.NewServer(svc, sh.Log()))
	otlpMetrics, err := otlpingest.NewMetrics(sh.Registry())
	if err != nil {
		return err
	}
	otlpSvc := otlpingest.NewService(otlpingest.Config{
		Publisher: pub,
		Limits:    cfg.OTLPLimits(),
		Metrics:   otlpMetrics,
		Log:       sh.Log(),
	})
	// On the service port and on the OTLP port alike (one server).
	otlpapi.Register(sh.GRPC(), otlpapi.NewServer(otlpSvc, sh.Log()))
	sh.AddCheck("nats", stream.Check(js, cfg.Config))
	sh.Go("declare streams", func(ctx context.Context) error {
		return declareStreams(ctx, sh.Log(), nc, js, cfg)
	})
	return sh.Run(ctx)
}

// newAuditor connects to auth's audit log with service tokens, or returns
// nil (deletion disabled) when no JWT secret is configured.
func newAuditor(sh *service.Shell, cfg Config) (ingestion.Auditor, error) {
	if cfg.JWT.Secret.Value() == "" {
		sh.Log().Warn("AGENTTRACE_JWT_SECRET is not set: DeleteTrace is disabled, as deletions could not be audited")
		return nil, nil
	}
	ring, err := jwtkeys.NewRing(cfg.JWT)
	if err != nil {
		return nil, err
	}
	conn, err := auditclient.Dial(cfg.Auth.Addr, ring)
	if err != nil {
		return nil, err
	}
	sh.OnClose("audit connection", func(context.Context) error { return conn.Close() })
	return auditclient.New(authv1.NewAuditServiceClient(conn), cfg.AuditTimeout), nil
}

// declareStreams declares the streams, retrying until NATS answers, so that
// ingest can start (not ready) before NATS does.
func declareStreams(ctx context.Context, log *slog.Logger, nc *nats.Conn, js jetstream.JetStream, cfg Config) error {
	p := retry.Policy{First: 500 * time.Millisecond, Max: 30 * time.Second, OnRetry: func(attempt int, err error, pause time.Duration) {
		log.WarnContext(ctx, "cannot declare streams yet; retrying", "url", cfg.URL, "attempt", attempt, "retry_in", pause, "err", err)
	}}
	err := p.Do(ctx, func(ctx context.Context) error {
		attempt, cancel := context.WithTimeout(ctx, 10*time.Second)
		defer cancel()
		return stream.EnsureStreams(attempt, js, cfg.Config)
	})
	if err != nil {
		if ctx.Err() != nil {
			return nil //nolint:nilerr // shutting down before NATS answered is not a failure
		}
		return err
	}
	log.InfoContext(ctx, "streams declared", "stream", cfg.EventsStream(), "dead_letter_stream", cfg.DeadLetterStream())
	warnPayloadLimit(log, nc, cfg)
	return nil
}

// warnPayloadLimit flags a server whose max_payload is below the event size
// limit: such events would pass validation yet never publish.
func warnPayloadLimit(log *slog.Logger, nc *nats.Conn, cfg Config) {
	const headroom = 4 << 10 // envelope fields and message headers
	if mp := nc.MaxPayload(); mp > 0 && int64(cfg.MaxEventBytes)+headroom > mp {
		log.Warn("event size limit exceeds the NATS max_payload; lower it",
			"max_event_bytes", cfg.MaxEventBytes, "nats_max_payload", mp,
			"setting", fmt.Sprintf("AGENTTRACE_INGEST_MAX_EVENT_BYTES <= %d", mp-headroom))
	}
}
