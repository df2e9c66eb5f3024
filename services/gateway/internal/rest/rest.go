// Package rest is the gateway's HTTP API: grpc-gateway handlers for the
// public RPCs of ingest, query and auth, with the REST conventions of
// docs/ARCHITECTURE.md applied once for every route — JSON with proto field
// names, one error shape, body limits, request ids and trace propagation,
// metrics and access logs.
//
// The gateway authenticates nothing itself: the Authorization header goes
// to the backends as "authorization" metadata and they decide.
package rest

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/grpc-ecosystem/grpc-gateway/v2/runtime"
	"github.com/prometheus/client_golang/prometheus"
	"google.golang.org/grpc"

	"github.com/agenttrace/agenttrace/pkg/authn"
	authv1 "github.com/agenttrace/agenttrace/pkg/gen/agenttrace/auth/v1"
	ingestv1 "github.com/agenttrace/agenttrace/pkg/gen/agenttrace/ingest/v1"
	queryv1 "github.com/agenttrace/agenttrace/pkg/gen/agenttrace/query/v1"
	"github.com/agenttrace/agenttrace/pkg/gen/openapi"
)

// Config is what the API needs: where to send calls and how to report.
type Config struct {
	Log      *slog.Logger
	Registry prometheus.Registerer
	// Connections to the backends; the API does not own or close them.
	Ingest grpc.ClientConnInterface
	Query  grpc.ClientConnInterface
	Auth   grpc.ClientConnInterface
	// MaxBodyBytes bounds a request body, before and after decompression.
	MaxBodyBytes int64
	// RequestTimeout bounds a request's backend call (0: no bound). The
	// HTTP server's WriteTimeout does not cancel a handler, this does.
	RequestTimeout time.Duration
	// Raw serves these exact paths ahead of the REST routes, with the
	// request body unread: their handlers apply their own limits,
	// encodings and error format (OTLP/HTTP). They are instrumented like
	// every route, with the path as the route label. A key ending in "/"
	// serves the paths beneath it, labelled with the key.
	Raw map[string]http.Handler
}

// New builds the API handler.
func New(ctx context.Context, cfg Config) (http.Handler, error) {
	if cfg.Log == nil || cfg.Registry == nil || cfg.Ingest == nil || cfg.Query == nil || cfg.Auth == nil {
		return nil, errors.New("rest: Log, Registry and the Ingest, Query and Auth connections are required")
	}
	if cfg.MaxBodyBytes <= 0 {
		return nil, fmt.Errorf("rest: MaxBodyBytes must be positive, got %d", cfg.MaxBodyBytes)
	}
	m, err := newMetrics(cfg.Registry)
	if err != nil {
		return nil, err
	}
	marshaler := newJSONMarshaler()
	mux := runtime.NewServeMux(
		runtime.WithMarshalerOption(runtime.MIMEWildcard, marshaler),
		runtime.WithErrorHandler(errorHandler(cfg.Log)),
		runtime.WithRoutingErrorHandler(routingErrorHandler),
		runtime.WithIncomingHeaderMatcher(headerMatcher),
		runtime.WithOutgoingHeaderMatcher(outgoingHeaderMatcher),
		runtime.WithForwardResponseOption(ingestStatus),
		runtime.WithMiddlewares(recordRoute),
		runtime.SetQueryParameterParser(queryParser{}),
		// A form-encoded POST would otherwise be served as the GET of the
		// same path; the API has no such routes, so it gets a plain 405.
		runtime.WithDisablePathLengthFallback(),
	)
	ingest := ingestv1.NewIngestServiceClient(cfg.Ingest)
	if err := ingestv1.RegisterIngestServiceHandlerClient(ctx, mux, ingest); err != nil {
		return nil, fmt.Errorf("register ingest routes: %w", err)
	}
	// Replaces the generated batch route: events are decoded one by one.
	if err := registerIngestBatch(mux, ingest, marshaler); err != nil {
		return nil, fmt.Errorf("register ingest batch route: %w", err)
	}
	if err := queryv1.RegisterQueryServiceHandlerClient(ctx, mux, queryv1.NewQueryServiceClient(cfg.Query)); err != nil {
		return nil, fmt.Errorf("register query routes: %w", err)
	}
	// Every service the auth process serves shares its connection.
	authRoutes := []struct {
		name     string
		register func(context.Context, *runtime.ServeMux) error
	}{
		{"auth", func(ctx context.Context, mux *runtime.ServeMux) error {
			return authv1.RegisterAuthServiceHandlerClient(ctx, mux, authv1.NewAuthServiceClient(cfg.Auth))
		}},
		{"identity", func(ctx context.Context, mux *runtime.ServeMux) error {
			return authv1.RegisterIdentityServiceHandlerClient(ctx, mux, authv1.NewIdentityServiceClient(cfg.Auth))
		}},
		{"organization", func(ctx context.Context, mux *runtime.ServeMux) error {
			return authv1.RegisterOrganizationServiceHandlerClient(ctx, mux, authv1.NewOrganizationServiceClient(cfg.Auth))
		}},
		{"settings", func(ctx context.Context, mux *runtime.ServeMux) error {
			return authv1.RegisterSettingsServiceHandlerClient(ctx, mux, authv1.NewSettingsServiceClient(cfg.Auth))
		}},
		{"audit", func(ctx context.Context, mux *runtime.ServeMux) error {
			return authv1.RegisterAuditServiceHandlerClient(ctx, mux, authv1.NewAuditServiceClient(cfg.Auth))
		}},
		{"pricing", func(ctx context.Context, mux *runtime.ServeMux) error {
			return authv1.RegisterPricingServiceHandlerClient(ctx, mux, authv1.NewPricingServiceClient(cfg.Auth))
		}},
	}
	for _, r := range authRoutes {
		if err := r.register(ctx, mux); err != nil {
			return nil, fmt.Errorf("register %s routes: %w", r.name, err)
		}
	}
	if err := mux.HandlePath(http.MethodGet, "/api/v1/openapi.json", serveOpenAPI); err != nil {
		return nil, fmt.Errorf("register openapi route: %w", err)
	}
	if err := mux.HandlePath(http.MethodGet, "/health", serveHealth); err != nil {
		return nil, fmt.Errorf("register health route: %w", err)
	}
	return instrument(cfg.Log, m, cfg.RequestTimeout, withRaw(cfg.Raw, limitBody(cfg.MaxBodyBytes, withSessionCookie(mux)))), nil
}

// headerMatcher decides which request headers reach the backends as gRPC
// metadata. Authorization always goes through as "authorization" (grpc-
// gateway does that itself) and the trace context travels via OTel
// propagation; the request id and the project a user names
// (X-AgentTrace-Project, see authn.ProjectHeader) go under their own names
// and standard headers with the "grpcgateway-" prefix. Grpc-Metadata-*
// headers, which
// grpc-gateway would pass on as arbitrary metadata, are dropped: the gateway
// is the public edge, and backends should only see metadata it vouches for.
// projectHeader is authn.ProjectHeader as net/http canonicalizes it.
var projectHeader = http.CanonicalHeaderKey(authn.ProjectHeader)

func headerMatcher(key string) (string, bool) {
	switch key {
	case requestIDHeader:
		return "x-request-id", true
	case projectHeader:
		return authn.ProjectHeader, true
	}
	if strings.HasPrefix(key, runtime.MetadataHeaderPrefix) {
		return "", false
	}
	return runtime.DefaultHeaderMatcher(key)
}

func serveOpenAPI(w http.ResponseWriter, _ *http.Request, _ map[string]string) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "public, max-age=300")
	_, _ = w.Write(openapi.Spec)
}

// serveHealth is liveness on the API port (for probes and `helm test`); it
// checks nothing behind the gateway, /ready on the admin port does.
func serveHealth(w http.ResponseWriter, _ *http.Request, _ map[string]string) {
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write([]byte(`{"status":"ok"}` + "\n"))
}
