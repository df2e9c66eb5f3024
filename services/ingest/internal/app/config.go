package app

import (
	"fmt"
	"time"

	"github.com/agenttrace/agenttrace/pkg/authn"
	"github.com/agenttrace/agenttrace/pkg/config"
	"github.com/agenttrace/agenttrace/pkg/jwtkeys"
	"github.com/agenttrace/agenttrace/pkg/ratelimit"
	"github.com/agenttrace/agenttrace/pkg/stream"
	"github.com/agenttrace/agenttrace/services/ingest/internal/otlpingest"
	"github.com/agenttrace/agenttrace/services/ingest/internal/validation"
)

// Config is ingest's configuration, read from AGENTTRACE_* variables.
type Config struct {
	config.Base
	stream.Config

	// Auth is how API keys are validated.
	Auth authn.ClientConfig
	// RateLimit limits calls per project and per key (in Redis).
	RateLimit ratelimit.Config
	// JWT signs the service tokens with which ingest records trace
	// deletions in auth's audit log. Optional: without a secret ingest
	// serves everything but DeleteTrace, which answers Unimplemented
	// (a deletion that cannot be audited is never carried out).
	JWT jwtkeys.Config
	// AuditTimeout bounds the call to auth that records a deletion.
	AuditTimeout time.Duration `env:"INGEST_AUDIT_TIMEOUT" envDefault:"5s"`
	// MaxBatch is the most events one IngestBatch call may carry.
	MaxBatch int `env:"INGEST_MAX_BATCH" envDefault:"1000"`
	// OTLPGRPCAddr is where OTLP/gRPC exporters reach the TraceService
	// (OTLP's well-known port); the service port serves it too.
	OTLPGRPCAddr string `env:"OTLP_GRPC_ADDR"`
	// MaxRequestBytes caps an encoded request, an IngestBatch or an OTLP
	// export (gRPC max receive message size, after decompression); larger
	// requests fail with ResourceExhausted. OTLP exporters send a few MiB
	// at most; the gateway's body limit (5 MiB) stays below it.
	MaxRequestBytes int `env:"INGEST_MAX_REQUEST_BYTES" envDefault:"16777216"`
	// PublishTimeout bounds the wait for the stream's acknowledgements of
	// one call; past it the call fails with Unavailable.
	PublishTimeout time.Duration `env:"INGEST_PUBLISH_TIMEOUT" envDefault:"5s"`
	// MaxEventBytes caps one encoded event, and one OTLP span with its
	// resource and scope; keep it below the NATS server's max_payload
	// (1 MiB by default) minus a few KiB.
	MaxEventBytes int `env:"INGEST_MAX_EVENT_BYTES" envDefault:"983040"`
}

// DefaultConfig is the configuration before the environment is applied:
// the port defaults of ingest (the rest come from envDefault tags).
func DefaultConfig() Config {
	return Config{Base: config.Base{GRPCAddr: ":9081", AdminAddr: ":9181"}, OTLPGRPCAddr: ":4317"}
}

// OTLPLimits are the OTLP span limits this configuration implies.
func (c Config) OTLPLimits() otlpingest.Limits {
	lim := otlpingest.DefaultLimits()
	lim.MaxSpanBytes = c.MaxEventBytes
	return lim
}

// Limits are the validation limits this configuration implies.
func (c Config) Limits() validation.Limits {
	lim := validation.DefaultLimits()
	lim.MaxEventBytes = c.MaxEventBytes
	return lim
}

// Validate rejects settings the service cannot run with.
func (c Config) Validate() error {
	switch {
	case c.OTLPGRPCAddr == "":
		return fmt.Errorf("AGENTTRACE_OTLP_GRPC_ADDR must not be empty")
	case c.MaxBatch < 1:
		return fmt.Errorf("AGENTTRACE_INGEST_MAX_BATCH must be at least 1, got %d", c.MaxBatch)
	case c.MaxRequestBytes < 1024:
		return fmt.Errorf("AGENTTRACE_INGEST_MAX_REQUEST_BYTES must be at least 1024, got %d", c.MaxRequestBytes)
	case c.MaxEventBytes < 1024:
		return fmt.Errorf("AGENTTRACE_INGEST_MAX_EVENT_BYTES must be at least 1024, got %d", c.MaxEventBytes)
	case c.PublishTimeout <= 0:
		return fmt.Errorf("AGENTTRACE_INGEST_PUBLISH_TIMEOUT must be positive, got %v", c.PublishTimeout)
	case c.AuditTimeout <= 0:
		return fmt.Errorf("AGENTTRACE_INGEST_AUDIT_TIMEOUT must be positive, got %v", c.AuditTimeout)
	case c.Auth.CacheTTL < 0:
		return fmt.Errorf("AGENTTRACE_AUTH_CACHE_TTL must not be negative, got %v", c.Auth.CacheTTL)
	}
	return nil
}
