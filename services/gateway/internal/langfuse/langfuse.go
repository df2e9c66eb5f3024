// Package langfuse is the gateway's Langfuse front door: an application
// instrumented with a Langfuse SDK points its base URL at the gateway, uses
// an AgentTrace key pair as its public and secret key, and keeps its code.
//
// It is a front door, not a second pipeline. The legacy batch API (POST
// /api/public/ingestion) is decoded here into native IngestEvents and sent
// through ingest's IngestBatch; Langfuse's OTel endpoint is the gateway's
// OTLP/HTTP receiver under one more path. The few other routes the SDKs
// call on start-up or on the side (the auth check, health, media upload)
// answer in Langfuse's shapes. docs/langfuse.md has the routes and the
// field-by-field mapping.
//
// Like the rest of the gateway it authenticates nothing itself: the
// Authorization header (Basic base64(public:secret), as the SDKs send it)
// goes to the backends, which decide.
package langfuse

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"

	authv1 "github.com/agenttrace/agenttrace/pkg/gen/agenttrace/auth/v1"
	ingestv1 "github.com/agenttrace/agenttrace/pkg/gen/agenttrace/ingest/v1"
)

// Paths of the routes; MediaPrefix is the subtree of /api/public/media/{id}.
const (
	IngestionPath = "/api/public/ingestion"
	ProjectsPath  = "/api/public/projects"
	HealthPath    = "/api/public/health"
	MediaPath     = "/api/public/media"
	MediaPrefix   = "/api/public/media/"
	// OTelTracesPath is where Langfuse's OTel exporters send spans.
	OTelTracesPath = "/api/public/otel/v1/traces"
)

// Defaults of Config.
const (
	// DefaultMaxEvents bounds the events of one batch. The SDKs flush a
	// few dozen at a time and at most ~3.5 MB; the body limit is the
	// tighter bound in practice.
	DefaultMaxEvents = 5000
	// DefaultChunkEvents is how many native events go in one IngestBatch
	// call, below ingest's default limit of 1000 per call.
	DefaultChunkEvents = 500
)

// Config is what the routes need.
type Config struct {
	Ingest ingestv1.IngestServiceClient
	Auth   authv1.AuthServiceClient
	// OTLP is the gateway's OTLP/HTTP trace receiver, served again under
	// OTelTracesPath.
	OTLP http.Handler
	Log  *slog.Logger
	// MaxBodyBytes bounds a request body, as sent and once inflated.
	MaxBodyBytes int64
	// MaxEvents bounds the events of one batch (DefaultMaxEvents when 0).
	MaxEvents int
	// ChunkEvents is the most native events per IngestBatch call
	// (DefaultChunkEvents when 0); a larger batch takes several calls.
	ChunkEvents int
	// Version is reported by the health route.
	Version string
}

// Routes are the handlers by exact path, and the handler of the media
// subtree (paths under MediaPrefix).
type Routes struct {
	Exact  map[string]http.Handler
	Prefix map[string]http.Handler
}

// New builds the routes.
func New(cfg Config) (*Routes, error) {
	if cfg.Ingest == nil || cfg.Auth == nil || cfg.OTLP == nil || cfg.Log == nil {
		return nil, errors.New("langfuse: Ingest, Auth, OTLP and Log are required")
	}
	if cfg.MaxBodyBytes <= 0 {
		return nil, fmt.Errorf("langfuse: MaxBodyBytes must be positive, got %d", cfg.MaxBodyBytes)
	}
	if cfg.MaxEvents <= 0 {
		cfg.MaxEvents = DefaultMaxEvents
	}
	if cfg.ChunkEvents <= 0 {
		cfg.ChunkEvents = DefaultChunkEvents
	}
	if cfg.Version == "" {
		cfg.Version = "dev"
	}
	media := http.HandlerFunc(serveMedia)
	return &Routes{
		Exact: map[string]http.Handler{
			IngestionPath:  &ingestion{cfg: cfg},
			ProjectsPath:   &projects{cfg: cfg},
			HealthPath:     health(cfg.Version),
			MediaPath:      media,
			OTelTracesPath: cfg.OTLP,
		},
		Prefix: map[string]http.Handler{MediaPrefix: media},
	}, nil
}
