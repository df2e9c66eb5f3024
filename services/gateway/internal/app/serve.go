package app

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"runtime/debug"
	"time"

	"google.golang.org/grpc"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"

	authv1 "github.com/agenttrace/agenttrace/pkg/gen/agenttrace/auth/v1"
	ingestv1 "github.com/agenttrace/agenttrace/pkg/gen/agenttrace/ingest/v1"

	"github.com/agenttrace/agenttrace/pkg/service"
	"github.com/agenttrace/agenttrace/services/gateway/internal/langfuse"
	"github.com/agenttrace/agenttrace/services/gateway/internal/otlphttp"
	"github.com/agenttrace/agenttrace/services/gateway/internal/rest"
	"github.com/agenttrace/agenttrace/services/gateway/internal/webui"
)

// serve runs the gateway until ctx is cancelled.
func serve(ctx context.Context, cfg Config, _ []string, _ service.Output) error {
	g, err := New(ctx, cfg)
	if err != nil {
		return err
	}
	return g.Run(ctx)
}

// Gateway is a built gateway, listening on its API address but not yet serving.
type Gateway struct {
	shell *service.Shell
	lis   net.Listener
}

// New builds the gateway and binds the API listener, so its address is
// known (port 0 in tests) before Run.
func New(ctx context.Context, cfg Config) (*Gateway, error) {
	sh, err := service.New(ctx, "gateway", cfg.Base)
	if err != nil {
		return nil, err
	}
	backends := []struct{ name, addr string }{
		{"ingest", cfg.IngestAddr},
		{"query", cfg.QueryAddr},
		{"auth", cfg.AuthAddr},
	}
	conns := make(map[string]*grpc.ClientConn, len(backends))
	for _, b := range backends {
		conn, err := service.Dial(b.addr, grpc.WithDefaultCallOptions(grpc.MaxCallRecvMsgSize(cfg.MaxResponseBytes)))
		if err != nil {
			closeAll(conns)
			return nil, fmt.Errorf("%s: %w", b.name, err)
		}
		conns[b.name] = conn
		// Closed after the HTTP server has finished its requests.
		sh.OnClose(b.name+" connection", func(context.Context) error { return conn.Close() })
		sh.AddCheck(b.name, servingCheck(conn))
	}
	otlp, err := otlphttp.New(otlphttp.Config{
		Conn:         conns["ingest"],
		MaxBodyBytes: cfg.MaxBodyBytes,
		Log:          sh.Log(),
	})
	if err != nil {
		closeAll(conns)
		return nil, err
	}
	raw, err := rawRoutes(conns, otlp, cfg, sh.Log())
	if err != nil {
		closeAll(conns)
		return nil, err
	}
	api, err := rest.New(ctx, rest.Config{
		Log:            sh.Log(),
		Registry:       sh.Registry(),
		Ingest:         conns["ingest"],
		Query:          conns["query"],
		Auth:           conns["auth"],
		MaxBodyBytes:   cfg.MaxBodyBytes,
		RequestTimeout: cfg.RequestTimeout,
		Raw:            raw,
	})
	if err != nil {
		closeAll(conns)
		return nil, err
	}
	ui, err := webui.New()
	if err != nil {
		closeAll(conns)
		return nil, fmt.Errorf("web ui: %w", err)
	}
	lis, err := net.Listen("tcp", cfg.HTTPAddr)
	if err != nil {
		closeAll(conns)
		return nil, fmt.Errorf("listen http %s: %w", cfg.HTTPAddr, err)
	}
	srv := &http.Server{
		Handler:           closeWhenDraining(ui.Handler(api), sh.Draining()),
		ReadHeaderTimeout: cfg.ReadHeaderTimeout,
		ReadTimeout:       cfg.ReadTimeout,
		WriteTimeout:      cfg.WriteTimeout,
		IdleTimeout:       cfg.IdleTimeout,
	}
	sh.Go("http", func(ctx context.Context) error {
		return serveHTTP(ctx, srv, lis, cfg.ShutdownTimeout)
	})
	sh.Log().Info("http api listening", "http_addr", lis.Addr().String(), "web_ui_built", ui.Built())
	return &Gateway{shell: sh, lis: lis}, nil
}

// HTTPAddr is where the REST API listens.
func (g *Gateway) HTTPAddr() net.Addr { return g.lis.Addr() }

// Shell is the service shell, for its admin and gRPC addresses.
func (g *Gateway) Shell() *service.Shell { return g.shell }

// Run serves until ctx is cancelled, then drains.
func (g *Gateway) Run(ctx context.Context) error {
	err := g.shell.Run(ctx)
	// Run did not start the HTTP runner when the shell failed to listen.
	if cerr := g.lis.Close(); cerr != nil && !errors.Is(cerr, net.ErrClosed) {
		g.shell.Log().Warn("close http listener", "err", cerr)
	}
	return err
}

// closeWhenDraining answers with "Connection: close" once the gateway is
// draining, so a client's kept-alive connection ends with the response it
// is waiting for and its next request opens a connection to another
// replica. Closing idle connections only at shutdown would race with a
// client reusing one, which a non-idempotent POST sees as an EOF.
func closeWhenDraining(next http.Handler, draining <-chan struct{}) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-draining:
			w.Header().Set("Connection", "close")
		default:
		}
		next.ServeHTTP(w, r)
	})
}

// serveHTTP runs srv until ctx is cancelled, then shuts it down gracefully:
// in-flight requests finish (bounded by timeout), idle connections close.
func serveHTTP(ctx context.Context, srv *http.Server, lis net.Listener, timeout time.Duration) error {
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(lis) }()
	select {
	case err := <-errc:
		return fmt.Errorf("http: %w", err)
	case <-ctx.Done():
	}
	shutdownCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), timeout)
	defer cancel()
	err := srv.Shutdown(shutdownCtx)
	// Serve returns ErrServerClosed once Shutdown has begun; anything else
	// it says is news.
	if serveErr := <-errc; !errors.Is(serveErr, http.ErrServerClosed) {
		err = errors.Join(err, serveErr)
	}
	if err != nil {
		srv.Close()
		return fmt.Errorf("http shutdown: %w", err)
	}
	return nil
}

// rawRoutes are the paths served ahead of the REST routes, each reading
// its body itself: the OTLP/HTTP receiver and the Langfuse front door
// (whose OTel endpoint is the same receiver).
func rawRoutes(conns map[string]*grpc.ClientConn, otlp http.Handler, cfg Config, log *slog.Logger) (map[string]http.Handler, error) {
	lf, err := langfuse.New(langfuse.Config{
		Ingest:       ingestv1.NewIngestServiceClient(conns["ingest"]),
		Auth:         authv1.NewAuthServiceClient(conns["auth"]),
		OTLP:         otlp,
		Log:          log,
		MaxBodyBytes: cfg.MaxBodyBytes,
		Version:      buildVersion(),
	})
	if err != nil {
		return nil, err
	}
	raw := make(map[string]http.Handler)
	for _, p := range otlphttp.Paths {
		raw[p] = otlp
	}
	for _, routes := range []map[string]http.Handler{lf.Exact, lf.Prefix} {
		for p, h := range routes {
			raw[p] = h
		}
	}
	return raw, nil
}

// buildVersion is the gateway module's version as the Go toolchain
// recorded it ("(devel)" for a build from a checkout).
func buildVersion() string {
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" {
		return bi.Main.Version
	}
	return "dev"
}

// servingCheck reports a backend ready when its gRPC health says SERVING.
func servingCheck(conn *grpc.ClientConn) service.Check {
	client := healthpb.NewHealthClient(conn)
	return func(ctx context.Context) error {
		resp, err := client.Check(ctx, &healthpb.HealthCheckRequest{})
		if err != nil {
			return err
		}
		if s := resp.GetStatus(); s != healthpb.HealthCheckResponse_SERVING {
			return fmt.Errorf("health status %s", s)
		}
		return nil
	}
}

func closeAll(conns map[string]*grpc.ClientConn) {
	for _, c := range conns {
		c.Close()
	}
}
