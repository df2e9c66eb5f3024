// Command agenttrace-ingest runs the ingest service: it accepts batches of
// trace, observation and score events, validates them and publishes the
// accepted ones to JetStream.
package main

import (
	"context"
	"fmt"
	"os"

	"github.com/agenttrace/agenttrace/pkg/config"
	"github.com/agenttrace/agenttrace/pkg/service"
	"github.com/agenttrace/agenttrace/services/ingest/internal/app"
)

func main() { service.Main(run) }

func run(ctx context.Context, args []string) error {
	if len(args) == 1 && args[0] == "config" {
		// Prints the AGENTTRACE_* variables ingest reads, as JSON.
		return config.PrintVars(os.Stdout, app.DefaultConfig())
	}
	if len(args) > 0 && args[0] != "serve" {
		return fmt.Errorf("unknown command %q: agenttrace-ingest has \"serve\" (the default) and \"config\"", args[0])
	}
	cfg := app.DefaultConfig()
	if err := config.Load(&cfg); err != nil {
		return err
	}
	return app.Run(ctx, cfg)
}
