package app

import (
	"time"

	"github.com/agenttrace/agenttrace/pkg/config"
)

// Config is the gateway's configuration (AGENTTRACE_* environment).
type Config struct {
	config.Base
	// HTTPAddr serves the REST API, OpenAPI and /health.
	HTTPAddr string `env:"HTTP_ADDR"`
	// Backends, reached over gRPC.
	IngestAddr string `env:"INGEST_ADDR"`
	QueryAddr  string `env:"QUERY_ADDR"`
	AuthAddr   string `env:"AUTH_ADDR"`
	// MaxBodyBytes bounds a request body, compressed and decompressed.
	MaxBodyBytes int64 `env:"GATEWAY_MAX_BODY_BYTES"`
	// MaxResponseBytes bounds a backend's answer; a large trace exceeds
	// gRPC's default of 4 MiB.
	MaxResponseBytes int `env:"GATEWAY_MAX_RESPONSE_BYTES"`
	// RequestTimeout bounds one request's backend call; keep it below WriteTimeout.
	RequestTimeout time.Duration `env:"GATEWAY_REQUEST_TIMEOUT"`
	// Timeouts of the HTTP server.
	ReadHeaderTimeout time.Duration `env:"HTTP_READ_HEADER_TIMEOUT"`
	ReadTimeout       time.Duration `env:"HTTP_READ_TIMEOUT"`
	WriteTimeout      time.Duration `env:"HTTP_WRITE_TIMEOUT"`
	IdleTimeout       time.Duration `env:"HTTP_IDLE_TIMEOUT"`
}

// DefaultConfig is the configuration before the environment is applied.
func DefaultConfig() Config {
	return Config{
		Base:              config.Base{GRPCAddr: ":9080", AdminAddr: ":9180"},
		HTTPAddr:          ":8080",
		IngestAddr:        "127.0.0.1:9081",
		QueryAddr:         "127.0.0.1:9082",
		AuthAddr:          "127.0.0.1:9083",
		MaxBodyBytes:      5 << 20,
		MaxResponseBytes:  64 << 20,
		RequestTimeout:    30 * time.Second,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      60 * time.Second,
		IdleTimeout:       120 * time.Second,
	}
}

// LoadConfig reads the configuration from the environment over the defaults.
func LoadConfig() (Config, error) {
	cfg := DefaultConfig()
	if err := config.Load(&cfg); err != nil {
		return Config{}, err
	}
	return cfg, nil
}
