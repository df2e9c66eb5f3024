package app

import (
	"time"

	"github.com/agenttrace/agenttrace/pkg/config"
)

// Config is the gateway's configuration (AGENTTRACE_* environment).
type Config struct {
	config.Base
	// HTTPAddr serves the REST API, OpenAPI and /health.
	HTTPAddr string `env:"HTTP_ADDR" envDefault:":8080"`
	// Backends, reached over gRPC.
	IngestAddr string `env:"INGEST_ADDR" envDefault:"127.0.0.1:9081"`
	QueryAddr  string `env:"QUERY_ADDR" envDefault:"127.0.0.1:9082"`
	AuthAddr   string `env:"AUTH_ADDR" envDefault:"127.0.0.1:9083"`
	// MaxBodyBytes bounds a request body, compressed and decompressed.
	MaxBodyBytes int64 `env:"GATEWAY_MAX_BODY_BYTES" envDefault:"5242880"`
	// MaxResponseBytes bounds a backend's answer; a large trace exceeds
	// gRPC's default of 4 MiB.
	MaxResponseBytes int `env:"GATEWAY_MAX_RESPONSE_BYTES" envDefault:"67108864"`
	// RequestTimeout bounds one request's backend call; keep it below WriteTimeout.
	RequestTimeout time.Duration `env:"GATEWAY_REQUEST_TIMEOUT" envDefault:"30s"`
	// Timeouts of the HTTP server.
	ReadHeaderTimeout time.Duration `env:"HTTP_READ_HEADER_TIMEOUT" envDefault:"10s"`
	ReadTimeout       time.Duration `env:"HTTP_READ_TIMEOUT" envDefault:"30s"`
	WriteTimeout      time.Duration `env:"HTTP_WRITE_TIMEOUT" envDefault:"60s"`
	IdleTimeout       time.Duration `env:"HTTP_IDLE_TIMEOUT" envDefault:"120s"`
}

// DefaultConfig is the configuration before the environment is applied:
// the gateway's port defaults (the rest come from envDefault tags).
func DefaultConfig() Config {
	return Config{Base: config.Base{GRPCAddr: ":9080", AdminAddr: ":9180"}}
}
