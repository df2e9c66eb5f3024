// Command agenttrace-worker stores ingested events in ClickHouse and carries
// the worker's operational commands (migrate, dlq); see internal/cli.
package main

import (
	"os"

	"github.com/agenttrace/agenttrace/pkg/service"
	"github.com/agenttrace/agenttrace/services/worker/internal/cli"
)

func main() { service.Main((&cli.App{Stdout: os.Stdout}).Run) }
