// Command agenttrace-auth runs the auth service (organizations, projects and
// API keys in PostgreSQL) and its maintenance commands: see `help`.
package main

import (
	"context"
	"os"

	"github.com/agenttrace/agenttrace/pkg/service"
	"github.com/agenttrace/agenttrace/services/auth/internal/command"
)

func main() { service.Main(run) }

func run(ctx context.Context, args []string) error {
	return command.Run(ctx, args, os.Stdout, os.Stderr)
}
