package app

import (
	"context"
	"fmt"
	"time"

	"github.com/agenttrace/agenttrace/pkg/authn"
	authv1 "github.com/agenttrace/agenttrace/pkg/gen/agenttrace/auth/v1"
	"github.com/agenttrace/agenttrace/pkg/jwtkeys"
	"github.com/agenttrace/agenttrace/pkg/secretbox"
	"github.com/agenttrace/agenttrace/pkg/service"
	"github.com/agenttrace/agenttrace/pkg/stream"
	"github.com/agenttrace/agenttrace/services/auth/internal/audit"
	"github.com/agenttrace/agenttrace/services/auth/internal/auditapi"
	"github.com/agenttrace/agenttrace/services/auth/internal/grpcapi"
	"github.com/agenttrace/agenttrace/services/auth/internal/lastused"
	"github.com/agenttrace/agenttrace/services/auth/internal/orgs"
	"github.com/agenttrace/agenttrace/services/auth/internal/orgsapi"
	"github.com/agenttrace/agenttrace/services/auth/internal/pgstore"
	"github.com/agenttrace/agenttrace/services/auth/internal/pricing"
	"github.com/agenttrace/agenttrace/services/auth/internal/pricingapi"
	"github.com/agenttrace/agenttrace/services/auth/internal/principal"
	"github.com/agenttrace/agenttrace/services/auth/internal/revocation"
	"github.com/agenttrace/agenttrace/services/auth/internal/settings"
	"github.com/agenttrace/agenttrace/services/auth/internal/settingsapi"
	"github.com/agenttrace/agenttrace/services/auth/internal/tenancy"
)

// schemaCheckTTL is how long a passing schema check is trusted before the
// version table is read again; probes come every few seconds.
const schemaCheckTTL = 30 * time.Second

// serve runs the auth service until ctx ends.
func serve(ctx context.Context, cfg Config, _ []string, _ service.Output) error {
	sh, err := newShell(ctx, cfg)
	if err != nil {
		return err
	}
	return sh.Run(ctx)
}

// newShell builds the service, ready to Run. Once it returns, the shell owns
// (and at shutdown releases) the pool and the NATS connection.
func newShell(ctx context.Context, cfg Config) (_ *service.Shell, err error) {
	// Resources are released by the shell once it runs; until then, by us.
	var cleanup []func()
	defer func() {
		if err != nil {
			for i := len(cleanup) - 1; i >= 0; i-- {
				cleanup[i]()
			}
		}
	}()

	// Checked first: without the key, stored secrets can be neither
	// written nor read, so the service must not start.
	box, err := secretbox.New(cfg.Encryption)
	if err != nil {
		return nil, fmt.Errorf("serve: %w", err)
	}

	pool, err := pgstore.Open(ctx, cfg.Postgres)
	if err != nil {
		return nil, err
	}
	cleanup = append(cleanup, pool.Close)
	store := pgstore.New(pool)

	// NATS carries revocation notices only. Connect retries in the
	// background, so auth serves (and validates keys) while NATS is down;
	// only RevokeAPIKey fails then, asking the caller to retry.
	nc, _, err := stream.Connect(ctx, cfg.Config, "auth")
	if err != nil {
		return nil, err
	}
	cleanup = append(cleanup, nc.Close)

	tracker := lastused.New(lastused.Config{Write: store.TouchAPIKeys, FlushEvery: cfg.LastUsedFlushInterval})
	// The cache serves this service's own interceptor and wraps the Service,
	// which announces revocations that must evict from the cache: the
	// announcer reaches the cache through a closure, set just below.
	var cache *authn.Cache
	announcer := revocation.NewAnnouncer(nc, func(n authn.Notice) { cache.Evict(n) })
	auditStore := pgstore.NewAuditStore(pool)
	recorder := audit.NewRecorder(audit.Config{Store: auditStore})
	svc := tenancy.NewService(tenancy.Config{Store: store, Usage: tracker, Announcer: announcer, Audit: recorder})
	// Auth resolves its own callers in process, through the same cache and
	// interceptors as every other service.
	ring, err := jwtkeys.NewRing(cfg.JWT)
	if err != nil {
		return nil, err
	}
	resolver := principal.New(principal.Config{Keys: svc, Tokens: ring, Roles: store})
	cache = authn.NewCache(resolver, cfg.AuthCacheTTL)
	if _, err := authn.SubscribeInvalidations(nc, cache); err != nil {
		return nil, err
	}

	sh, err := service.New(ctx, "auth", cfg.Base, service.WithInterceptors(
		authn.UnaryServerInterceptor(cache), authn.StreamServerInterceptor(cache)))
	if err != nil {
		return nil, err
	}
	authv1.RegisterAuthServiceServer(sh.GRPC(), grpcapi.New(svc, sh.Log()).WithAuthenticator(resolver))
	settingsSvc := settings.NewService(settings.Config{Store: pgstore.NewSettingsStore(pool), Box: box, Audit: recorder})
	authv1.RegisterSettingsServiceServer(sh.GRPC(), settingsapi.New(settingsSvc, sh.Log()))
	pricingSvc := pricing.NewService(pricing.Config{Store: pgstore.NewPriceStore(pool), Audit: recorder})
	authv1.RegisterPricingServiceServer(sh.GRPC(), pricingapi.New(pricingSvc, sh.Log()))
	authv1.RegisterAuditServiceServer(sh.GRPC(), auditapi.New(audit.NewLister(auditStore), recorder, sh.Log()))
	orgsSvc := orgs.NewService(orgs.Config{
		Store:         pgstore.NewOrgStore(pool, recorder),
		Invalidator:   announcer,
		InvitationTTL: cfg.InvitationTTL,
	})
	authv1.RegisterOrganizationServiceServer(sh.GRPC(), orgsapi.New(orgsSvc, sh.Log()))
	if err := registerIdentity(sh, cfg.Identity, ring, store, recorder); err != nil {
		return nil, err
	}
	sh.AddCheck("postgres", store.Ping)
	// Migrations run beside the service (a Job in a cluster): until the
	// schema is there, auth is up but not ready.
	sh.AddCheck("schema", service.CachePassing(func(ctx context.Context) error {
		return pgstore.CheckSchema(ctx, pool)
	}, schemaCheckTTL))
	if err := sh.Registry().Register(pgstore.NewPoolCollector(pool)); err != nil {
		return nil, fmt.Errorf("serve: pool metrics: %w", err)
	}
	sh.Go("api-key-last-used", tracker.Run)
	// Closers run in reverse: NATS first, then the pool, after the last-use
	// tracker has written its final batch.
	sh.OnClose("postgres", func(context.Context) error { pool.Close(); return nil })
	sh.OnClose("nats", func(context.Context) error { nc.Close(); return nil })
	cleanup = nil
	return sh, nil
}
