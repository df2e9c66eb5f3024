// Package app is the gateway's command line and wiring: Program dispatches
// `serve` (the default) and `config`; serve.go assembles the gateway: the service shell (admin HTTP, its own
// gRPC health and reflection), connections to ingest, query and auth, the
// REST API, the OTLP/HTTP receiver, the Langfuse front door and the web UI
// on their own HTTP server, and readiness that follows the backends.
package app

import (
	"github.com/agenttrace/agenttrace/pkg/service"
)

const usage = `usage: agenttrace-gateway [command]

commands:
  serve (default)   serve the REST API, the OTLP/HTTP receiver and the Langfuse
                    API in front of the ingest, query and auth gRPC services
  config            print the AGENTTRACE_* variables the gateway reads, as JSON
  help              print this text

configuration comes from AGENTTRACE_* environment variables (AGENTTRACE_HTTP_ADDR,
AGENTTRACE_INGEST_ADDR, ...).
`

// Program is agenttrace-gateway.
func Program() service.Program[Config] {
	return service.Program[Config]{
		Usage:    usage,
		Defaults: DefaultConfig,
		Commands: map[string]service.Command[Config]{"serve": serve},
	}
}
