// Package app is the query service's command line and wiring: Program
// dispatches `serve` (the default) and `config`; serve.go builds the service.
package app

import (
	"github.com/agenttrace/agenttrace/pkg/service"
)

const usage = `usage: agenttrace-query [command]

commands:
  serve (default)   serve agenttrace.query.v1.QueryService from ClickHouse
  config            print the AGENTTRACE_* variables query reads, as JSON
  help              print this text

configuration comes from AGENTTRACE_* environment variables (AGENTTRACE_CLICKHOUSE_ADDR,
AGENTTRACE_AUTH_ADDR, ...).
`

// Program is agenttrace-query.
func Program() service.Program[Config] {
	return service.Program[Config]{
		Usage:    usage,
		Defaults: DefaultConfig,
		Commands: map[string]service.Command[Config]{"serve": serve},
	}
}
