// Package command is the auth binary's command line: it reads the
// configuration and runs the service or one of its maintenance commands
// (migrate, bootstrap, secrets).
package command

import (
	"context"
	"fmt"
	"io"
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

// LoadConfig reads the configuration over the service's defaults.
func LoadConfig() (Config, error) {
	cfg := DefaultConfig()
	if err := config.Load(&cfg); err != nil {
		return Config{}, err
	}
	return cfg, nil
}

const usage = `usage: agenttrace-auth [command]

commands:
  serve (default)                        run the auth service
  migrate up                             create the database if missing, apply migrations
                                         (waits AGENTTRACE_MIGRATE_WAIT for PostgreSQL; a
                                         schema newer than this binary is left alone)
  migrate down [N]                       revert the last N migrations (default 1)
  migrate version                        print the applied schema version
  migrate force VERSION                  mark VERSION applied and clean (after a manual repair)
  bootstrap --org NAME --project NAME [--note TEXT]
                                         create or reuse an organization and project, make a
                                         new API key and print it as JSON on stdout
  config                                 print the AGENTTRACE_* variables auth reads, as JSON
  secrets reencrypt                      seal every stored secret again with the current
                                         encryption key (after a rotation); prints the count

configuration comes from AGENTTRACE_* environment variables (AGENTTRACE_POSTGRES_URL,
AGENTTRACE_POSTGRES_PASSWORD, ...).
`

// Run executes the command in args. Only command output goes to stdout
// (bootstrap's JSON, migrate version); logs and usage go to stderr.
func Run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	cmd, rest := "serve", args
	if len(args) > 0 {
		cmd, rest = args[0], args[1:]
	}
	if cmd == "help" || cmd == "-h" || cmd == "--help" {
		fmt.Fprint(stderr, usage)
		return nil
	}
	if cmd == "config" {
		// Before LoadConfig: describing needs no valid environment.
		return config.PrintVars(stdout, DefaultConfig())
	}
	cfg, err := LoadConfig()
	if err != nil {
		return err
	}
	switch cmd {
	case "serve":
		if len(rest) > 0 {
			return fmt.Errorf("serve takes no arguments\n\n%s", usage)
		}
		return serve(ctx, cfg)
	case "migrate":
		return runMigrate(ctx, cfg, rest, stdout, stderr)
	case "bootstrap":
		return runBootstrap(ctx, cfg, rest, stdout, stderr)
	case "secrets":
		return runSecrets(ctx, cfg, rest, stdout, stderr)
	}
	return fmt.Errorf("unknown command %q\n\n%s", cmd, usage)
}
