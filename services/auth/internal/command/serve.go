package command

import (
	"context"
	"fmt"

	"github.com/nats-io/nats.go"

	"github.com/agenttrace/agenttrace/pkg/authn"
	authv1 "github.com/agenttrace/agenttrace/pkg/gen/agenttrace/auth/v1"
	"github.com/agenttrace/agenttrace/pkg/service"
	"github.com/agenttrace/agenttrace/pkg/stream"
	"github.com/agenttrace/agenttrace/services/auth/internal/grpcapi"
	"github.com/agenttrace/agenttrace/services/auth/internal/lastused"
	"github.com/agenttrace/agenttrace/services/auth/internal/pgstore"
	"github.com/agenttrace/agenttrace/services/auth/internal/tenancy"
)

// serve runs the auth service until ctx ends.
func serve(ctx context.Context, cfg Config) (err error) {
	// Resources are released by the shell once it runs; until then, by us.
	var cleanup []func()
	defer func() {
		if err != nil {
			for i := len(cleanup) - 1; i >= 0; i-- {
				cleanup[i]()
			}
		}
	}()

	pool, err := pgstore.Open(ctx, cfg.Postgres)
	if err != nil {
		return err
	}
	cleanup = append(cleanup, pool.Close)
	store := pgstore.New(pool)

	// NATS carries revocation notices only. Connect retries in the
	// background, so auth serves (and validates keys) while NATS is down;
	// only RevokeAPIKey fails then, asking the caller to retry.
	nc, _, err := stream.Connect(ctx, cfg.Config, "auth")
	if err != nil {
		return err
	}
	cleanup = append(cleanup, nc.Close)

	announcer := &revocationAnnouncer{nc: nc}
	tracker := lastused.New(lastused.Config{Write: store.TouchAPIKeys, FlushEvery: cfg.LastUsedFlushInterval})
	svc := tenancy.NewService(tenancy.Config{Store: store, Usage: tracker, Announcer: announcer})
	cache := authn.NewCache(svc, cfg.AuthCacheTTL)
	announcer.local = cache
	if _, err := authn.SubscribeRevocations(nc, cache); err != nil {
		return err
	}

	sh, err := service.New(ctx, "auth", cfg.Base, service.WithInterceptors(
		authn.UnaryServerInterceptor(cache), authn.StreamServerInterceptor(cache)))
	if err != nil {
		return err
	}
	authv1.RegisterAuthServiceServer(sh.GRPC(), grpcapi.New(svc, sh.Log()))
	sh.AddCheck("postgres", store.Ping)
	sh.Go("api-key-last-used", tracker.Run)
	// Closers run in reverse: NATS first, then the pool, after the last-use
	// tracker has written its final batch.
	sh.OnClose("postgres", func(context.Context) error { pool.Close(); return nil })
	sh.OnClose("nats", func(context.Context) error { nc.Close(); return nil })
	cleanup = nil
	return sh.Run(ctx)
}

// revocationAnnouncer evicts a revoked key from this replica's own cache,
// then tells every other service (and auth replica) over NATS.
type revocationAnnouncer struct {
	nc    *nats.Conn
	local *authn.Cache
}

func (a *revocationAnnouncer) AnnounceRevocation(_ context.Context, publicKey string) error {
	a.local.Evict(publicKey)
	if err := authn.PublishRevocation(a.nc, publicKey); err != nil {
		return fmt.Errorf("announce revocation: %w", err)
	}
	return nil
}
