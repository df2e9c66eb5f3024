package app

import (
	"time"

	"github.com/agenttrace/agenttrace/pkg/config"
	"github.com/agenttrace/agenttrace/pkg/jwtkeys"
	"github.com/agenttrace/agenttrace/pkg/secretbox"
	"github.com/agenttrace/agenttrace/pkg/stream"
	"github.com/agenttrace/agenttrace/services/auth/internal/pgstore"
)

// Config is the auth service's configuration (AGENTTRACE_* variables).
type Config struct {
	config.Base
	// Stream is only used to announce revocations over core NATS.
	stream.Config
	Postgres pgstore.Config
	// Encryption seals stored secrets (LLM connection keys); serve needs
	// AGENTTRACE_ENCRYPTION_KEY.
	Encryption secretbox.Config
	// JWT verifies user and service tokens (and signs user tokens); serve
	// needs AGENTTRACE_JWT_SECRET.
	JWT jwtkeys.Config
	// AuthCacheTTL bounds how long the service trusts a validation it made
	// for its own callers; revocations evict at once anyway.
	AuthCacheTTL time.Duration `env:"AUTH_CACHE_TTL" envDefault:"10s"`
	// LastUsedFlushInterval is how often key last-use times are written.
	LastUsedFlushInterval time.Duration `env:"AUTH_LAST_USED_FLUSH_INTERVAL" envDefault:"5s"`
	// InvitationTTL is how long an organization invitation can be accepted.
	InvitationTTL time.Duration `env:"INVITATION_TTL" envDefault:"168h"`
	// Identity sets token lifetimes and login limits (identity.go).
	Identity IdentityConfig
	// MigrateWait is how long `migrate up` waits for PostgreSQL to answer,
	// retrying only failures that waiting can cure (nothing listening yet,
	// the database system starting up); 0 tries once. In a cluster the
	// migration Job starts together with the database.
	MigrateWait time.Duration `env:"MIGRATE_WAIT" envDefault:"0s"`
}

// DefaultConfig is the configuration before the environment is applied:
// auth's port defaults (the rest come from envDefault tags).
func DefaultConfig() Config {
	return Config{Base: config.Base{GRPCAddr: ":9083", AdminAddr: ":9183"}}
}
