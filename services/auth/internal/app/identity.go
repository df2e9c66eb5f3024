package app

import (
	"fmt"
	"time"

	authv1 "github.com/agenttrace/agenttrace/pkg/gen/agenttrace/auth/v1"
	"github.com/agenttrace/agenttrace/pkg/jwtkeys"
	"github.com/agenttrace/agenttrace/pkg/ratelimit"
	"github.com/agenttrace/agenttrace/pkg/service"
	"github.com/agenttrace/agenttrace/services/auth/internal/identity"
	"github.com/agenttrace/agenttrace/services/auth/internal/identityapi"
	"github.com/agenttrace/agenttrace/services/auth/internal/password"
)

// IdentityConfig configures users' sessions and login limits.
type IdentityConfig struct {
	// AccessTokenTTL is the life of a user's JWT: short, because it cannot
	// be revoked; roles are looked up on each use anyway.
	AccessTokenTTL time.Duration `env:"ACCESS_TOKEN_TTL" envDefault:"15m"`
	// RefreshTokenTTL is how long a refresh token may go unused before the
	// user must log in again; each refresh starts it anew.
	RefreshTokenTTL time.Duration `env:"REFRESH_TOKEN_TTL" envDefault:"720h"`
	// Login limits attempts per account and per client address, in Redis.
	Login identity.LimitConfig
	// RateLimit is where the login limits are kept (AGENTTRACE_REDIS_*).
	RateLimit ratelimit.Config
}

// registerIdentity serves IdentityService on sh. Its Redis limiter is
// closed with the shell.
func registerIdentity(sh *service.Shell, cfg IdentityConfig, ring *jwtkeys.Ring, store identity.Store, audit identity.Auditor) error {
	hasher, err := password.New()
	if err != nil {
		return err
	}
	lim, err := ratelimit.New(cfg.RateLimit, sh.Log())
	if err != nil {
		return fmt.Errorf("login limits: %w", err)
	}
	sh.OnClose("login-limits", lim.Close)
	if err := sh.Registry().Register(lim); err != nil {
		return fmt.Errorf("login limit metrics: %w", err)
	}
	account, address := cfg.Login.Limits()
	svc, err := identity.NewService(identity.Config{
		Store:          store,
		Hasher:         hasher,
		Keys:           ring,
		AccessTTL:      cfg.AccessTokenTTL,
		RefreshTTL:     cfg.RefreshTokenTTL,
		AccountLimiter: identity.RedisLimiter{Limiter: lim, Limit: account},
		AddressLimiter: identity.RedisLimiter{Limiter: lim, Limit: address},
		Audit:          audit,
		Log:            sh.Log(),
	})
	if err != nil {
		return err
	}
	authv1.RegisterIdentityServiceServer(sh.GRPC(), identityapi.New(svc, sh.Log()))
	return nil
}
