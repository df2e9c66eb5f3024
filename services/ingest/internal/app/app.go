// Package app is the ingest service's command line and wiring: Program
// dispatches `serve` (the default) and `config`; serve.go builds the
// service (the auth client and cache, the NATS connection and streams, the
// publisher, the domain services and the gRPC transport, all inside the
// shared service shell).
package app

import (
	"github.com/agenttrace/agenttrace/pkg/service"
)

const usage = `usage: agenttrace-ingest [command]

commands:
  serve (default)   accept events (IngestBatch, OTLP/gRPC), validate them and
                    publish the accepted ones to JetStream
  config            print the AGENTTRACE_* variables ingest reads, as JSON
  help              print this text

configuration comes from AGENTTRACE_* environment variables (AGENTTRACE_NATS_URL,
AGENTTRACE_AUTH_ADDR, ...).
`

// Program is agenttrace-ingest.
func Program() service.Program[Config] {
	return service.Program[Config]{
		Usage:    usage,
		Defaults: DefaultConfig,
		Validate: func(c *Config) error { return c.Validate() },
		Commands: map[string]service.Command[Config]{"serve": serve},
	}
}
