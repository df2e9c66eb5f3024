// Package app is the auth binary's command line and wiring: Program reads
// the configuration and runs the service (serve.go) or one of its
// maintenance commands (migrate, bootstrap, secrets).
package app

import (
	"github.com/agenttrace/agenttrace/pkg/service"
)

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
  help                                   print this text
  secrets reencrypt                      seal every stored secret again with the current
                                         encryption key (after a rotation); prints the count

configuration comes from AGENTTRACE_* environment variables (AGENTTRACE_POSTGRES_URL,
AGENTTRACE_POSTGRES_PASSWORD, ...).
`

// Program is agenttrace-auth. Only command output goes to stdout
// (bootstrap's JSON, migrate version); logs and usage go to stderr.
func Program() service.Program[Config] {
	return service.Program[Config]{
		Usage:    usage,
		Defaults: DefaultConfig,
		Commands: map[string]service.Command[Config]{
			"serve":     serve,
			"migrate":   runMigrate,
			"bootstrap": runBootstrap,
			"secrets":   runSecrets,
		},
	}
}
