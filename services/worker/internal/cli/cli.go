// Package cli is the agenttrace-worker command line: it loads the
// configuration and runs the service (serve, the default), the ClickHouse
// migrations (migrate) or the dead-letter tools (dlq).
package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"time"

	"github.com/agenttrace/agenttrace/pkg/authn"
	"github.com/agenttrace/agenttrace/pkg/clickhousedb"
	"github.com/agenttrace/agenttrace/pkg/config"
	"github.com/agenttrace/agenttrace/pkg/jwtkeys"
	"github.com/agenttrace/agenttrace/pkg/service"
	"github.com/agenttrace/agenttrace/pkg/stream"
	"github.com/agenttrace/agenttrace/services/worker/internal/consumer"
	"github.com/agenttrace/agenttrace/services/worker/internal/pricing"
	"github.com/agenttrace/agenttrace/services/worker/internal/retention"
)

// Usage is printed for unknown commands.
const Usage = `usage:
  agenttrace-worker [serve]                      run the worker
  agenttrace-worker migrate up                   apply the ClickHouse migrations (waits
                                                 AGENTTRACE_MIGRATE_WAIT for ClickHouse; a
                                                 schema newer than this binary is left alone)
  agenttrace-worker migrate down [N | --all]     revert the newest N migrations (default 1)
  agenttrace-worker migrate version              print the schema version
  agenttrace-worker dlq list [--limit N]         print dead letters, oldest first
  agenttrace-worker dlq replay (--all | SEQ...)  republish dead letters to the events stream
  agenttrace-worker config                       print the AGENTTRACE_* variables the worker reads, as JSON`

// ErrUsage: the command line is not one of Usage's.
var ErrUsage = errors.New("invalid command line")

// Config is the worker's whole configuration, read from AGENTTRACE_* variables.
type Config struct {
	config.Base
	Stream     stream.Config
	ClickHouse clickhousedb.Config
	// Auth is how API keys are validated on the worker's gRPC server.
	Auth   authn.ClientConfig
	Worker consumer.Config
	// Retention schedules the retention job.
	Retention retention.Config
	// Prices schedules the reloads of the model price table from which
	// the worker computes costs.
	Prices pricing.Config
	// JWT signs the service tokens with which the retention job and the
	// price table loads call auth. Required by serve while either is
	// enabled.
	JWT jwtkeys.Config
	// MutationWait bounds how long a deletion (request or retention) waits
	// for ClickHouse to finish applying it before the worker moves on; the
	// deletion completes in the background regardless. 0: do not wait.
	MutationWait time.Duration `env:"WORKER_MUTATION_WAIT" envDefault:"10s"`
	// MigrateWait is how long `migrate up` waits for ClickHouse to answer,
	// retrying only failures that waiting can cure (nothing listening yet,
	// timeouts); 0 tries once. In a cluster the migration Job starts
	// together with ClickHouse.
	MigrateWait time.Duration `env:"MIGRATE_WAIT" envDefault:"0s"`
}

// DefaultConfig is the configuration before the environment is applied:
// the worker's port defaults (the rest come from envDefault tags).
func DefaultConfig() Config {
	return Config{Base: config.Base{GRPCAddr: ":9084", AdminAddr: ":9184"}}
}

// LoadConfig reads the environment over the worker's defaults.
func LoadConfig() (Config, error) {
	cfg := DefaultConfig()
	if err := config.Load(&cfg); err != nil {
		return Config{}, err
	}
	if err := errors.Join(cfg.Worker.Validate(), cfg.Retention.Validate(), cfg.Prices.Validate(), cfg.validateMutationWait()); err != nil {
		return Config{}, fmt.Errorf("config: %w", err)
	}
	return cfg, nil
}

// validateMutationWait keeps the wait inside the consumer's ack wait, so
// that waiting never causes a redelivery.
func (c Config) validateMutationWait() error {
	if c.MutationWait < 0 || c.MutationWait >= c.Worker.AckWait/2 {
		return fmt.Errorf("WORKER_MUTATION_WAIT must be between 0 and half of WORKER_ACK_WAIT (%s), got %s", c.Worker.AckWait, c.MutationWait)
	}
	return nil
}

// App runs commands, writing their output to Stdout.
type App struct {
	Stdout io.Writer
	// Stderr receives the logs of the one-shot commands (migrate); nil
	// means os.Stderr. serve logs to os.Stderr through the service shell.
	Stderr io.Writer
}

// logger is the one-shot commands' logger.
func (a *App) logger(cfg Config) *slog.Logger {
	w := a.Stderr
	if w == nil {
		w = os.Stderr
	}
	return service.NewLogger(w, "worker", cfg.LogLevel, cfg.LogFormat)
}

// Run dispatches args (without the program name).
func (a *App) Run(ctx context.Context, args []string) error {
	cmd, rest := "serve", args
	if len(args) > 0 {
		cmd, rest = args[0], args[1:]
	}
	if cmd == "config" {
		// Before LoadConfig: describing needs no valid environment.
		return config.PrintVars(a.Stdout, DefaultConfig())
	}
	run, ok := map[string]func(context.Context, Config, []string) error{
		"serve":   a.serve,
		"migrate": a.migrate,
		"dlq":     a.dlq,
	}[cmd]
	if !ok {
		return usageError("unknown command %q", cmd)
	}
	cfg, err := LoadConfig()
	if err != nil {
		return err
	}
	return run(ctx, cfg, rest)
}

func usageError(format string, args ...any) error {
	return fmt.Errorf("%w: %s\n%s", ErrUsage, fmt.Sprintf(format, args...), Usage)
}
