// Package app is the agenttrace-worker command line and wiring: Program
// loads the configuration and runs the service (serve, the default; wired in
// serve.go), the ClickHouse migrations (migrate) or the dead-letter tools
// (dlq).
package app

import (
	"errors"
	"fmt"
	"io"
	"log/slog"

	"github.com/agenttrace/agenttrace/pkg/service"
)

const usage = `usage:
  agenttrace-worker [serve]                      run the worker
  agenttrace-worker migrate up                   apply the ClickHouse migrations (waits
                                                 AGENTTRACE_MIGRATE_WAIT for ClickHouse; a
                                                 schema newer than this binary is left alone)
  agenttrace-worker migrate down [N | --all]     revert the newest N migrations (default 1)
  agenttrace-worker migrate version              print the schema version
  agenttrace-worker dlq list [--limit N]         print dead letters, oldest first
  agenttrace-worker dlq replay (--all | SEQ...)  republish dead letters to the events stream
  agenttrace-worker config                       print the AGENTTRACE_* variables the worker reads, as JSON
  agenttrace-worker help                         print this text
`

// Program is agenttrace-worker.
func Program() service.Program[Config] {
	return service.Program[Config]{
		Usage:    usage,
		Defaults: DefaultConfig,
		Validate: func(c *Config) error {
			return errors.Join(c.Worker.Validate(), c.Retention.Validate(), c.Rollup.Validate(), c.Prices.Validate(), c.validateMutationWait())
		},
		Commands: map[string]service.Command[Config]{
			"serve":   serve,
			"migrate": migrate,
			"dlq":     dlq,
		},
	}
}

// commandLogger is the one-shot commands' logger, on stderr.
func commandLogger(stderr io.Writer, cfg Config) *slog.Logger {
	return service.NewLogger(stderr, "worker", cfg.LogLevel, cfg.LogFormat)
}

func usageError(format string, args ...any) error {
	return fmt.Errorf("%w: %s\n%s", service.ErrUsage, fmt.Sprintf(format, args...), usage)
}
