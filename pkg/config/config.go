// Package config loads a service's configuration from environment variables.
//
// Every service describes its settings as a struct with `env` tags; Load fills
// it from AGENTTRACE_-prefixed variables over the defaults already in the
// struct or in `envDefault` tags. Secrets use the Secret type so that printing
// or logging a config never shows them.
package config

import (
	"fmt"
	"log/slog"
	"time"

	"github.com/caarlos0/env/v11"
)

// Prefix is put before every variable name a service reads.
const Prefix = "AGENTTRACE_"

// Secret is a string that never prints itself.
type Secret string

// String masks the secret.
func (s Secret) String() string {
	if s == "" {
		return ""
	}
	return "***"
}

// LogValue masks the secret in structured logs.
func (s Secret) LogValue() slog.Value { return slog.StringValue(s.String()) }

// GoString masks the secret for %#v.
func (s Secret) GoString() string { return s.String() }

// Value returns the secret itself, for the one place that needs it.
func (s Secret) Value() string { return string(s) }

// Base holds the settings every service has. Services embed it and set their
// own port defaults before calling Load.
type Base struct {
	// LogLevel is debug, info, warn or error.
	LogLevel string `env:"LOG_LEVEL" envDefault:"info"`
	// LogFormat is json or text.
	LogFormat string `env:"LOG_FORMAT" envDefault:"json"`
	// GRPCAddr is where the service's gRPC server listens.
	GRPCAddr string `env:"GRPC_ADDR"`
	// AdminAddr serves /health, /ready, /metrics and /debug/pprof.
	AdminAddr string `env:"ADMIN_ADDR"`
	// DrainDelay is how long the service reports not-ready before it stops
	// accepting calls, so load balancers take it out of rotation first.
	DrainDelay time.Duration `env:"DRAIN_DELAY" envDefault:"2s"`
	// ShutdownTimeout bounds the graceful drain of in-flight work.
	ShutdownTimeout time.Duration `env:"SHUTDOWN_TIMEOUT" envDefault:"25s"`
	// OTLPEndpoint, when set, receives the service's own traces (host:port, gRPC).
	OTLPEndpoint string `env:"OTEL_EXPORTER_OTLP_ENDPOINT"`
}

// Load fills cfg (a pointer to a struct) from the environment.
func Load(cfg any) error {
	if err := env.ParseWithOptions(cfg, env.Options{Prefix: Prefix}); err != nil {
		return fmt.Errorf("config: %w", err)
	}
	return nil
}
