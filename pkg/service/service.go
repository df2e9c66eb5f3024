// Package service is the shell every AgentTrace service runs in: logging,
// tracing, a gRPC server with health, reflection and the shared interceptors,
// an admin HTTP server with /health, /ready, /metrics and pprof, background
// runners, and an ordered, graceful drain on shutdown.
//
// A service's main builds its dependencies, registers them on the Shell and
// calls Run:
//
//	func main() { service.Main(run) }
//
//	func run(ctx context.Context, args []string) error {
//		sh, err := service.New(ctx, "query", cfg.Base)
//		...
//		queryv1.RegisterQueryServiceServer(sh.GRPC(), srv)
//		return sh.Run(ctx)
//	}
package service

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"sync"
	"syscall"
	"time"

	grpcprom "github.com/grpc-ecosystem/go-grpc-middleware/providers/prometheus"
	"github.com/grpc-ecosystem/go-grpc-middleware/v2/interceptors/logging"
	"github.com/grpc-ecosystem/go-grpc-middleware/v2/interceptors/recovery"
	"github.com/grpc-ecosystem/go-grpc-middleware/v2/interceptors/selector"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"go.opentelemetry.io/contrib/instrumentation/google.golang.org/grpc/otelgrpc"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/reflection"
	"google.golang.org/grpc/status"

	"github.com/agenttrace/agenttrace/pkg/config"
)

// Main runs fn with a context cancelled on SIGINT or SIGTERM and exits
// non-zero when it fails. It is the whole of every service's main.
func Main(fn func(ctx context.Context, args []string) error) {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := fn(ctx, os.Args[1:])
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "error:", err)
		os.Exit(1)
	}
}

// Option adjusts a Shell before it is built.
type Option func(*options)

type options struct {
	unary      []grpc.UnaryServerInterceptor
	stream     []grpc.StreamServerInterceptor
	serverOpts []grpc.ServerOption
	extra      []extraListener
}

// extraListener is another address the gRPC server is served on.
type extraListener struct {
	name, addr string
}

// WithInterceptors adds interceptors after the shell's own (metrics, logging,
// panic recovery); authentication goes here.
func WithInterceptors(u grpc.UnaryServerInterceptor, s grpc.StreamServerInterceptor) Option {
	return func(o *options) {
		if u != nil {
			o.unary = append(o.unary, u)
		}
		if s != nil {
			o.stream = append(o.stream, s)
		}
	}
}

// WithServerOptions passes options to grpc.NewServer (message size limits, ...).
func WithServerOptions(opts ...grpc.ServerOption) Option {
	return func(o *options) { o.serverOpts = append(o.serverOpts, opts...) }
}

// WithExtraListener serves the gRPC server on addr as well as on GRPCAddr:
// same services, interceptors and drain, for a protocol that has a
// well-known port of its own (OTLP/gRPC's 4317). name labels the listener
// in logs and errors and is the key of ExtraAddr.
func WithExtraListener(name, addr string) Option {
	return func(o *options) { o.extra = append(o.extra, extraListener{name, addr}) }
}

// Check reports whether a dependency is usable; it backs /ready.
type Check func(ctx context.Context) error

type namedCheck struct {
	name string
	fn   Check
}

type runner struct {
	name string
	fn   func(ctx context.Context) error
}

type closer struct {
	name string
	fn   func(ctx context.Context) error
}

// Shell is one running service.
type Shell struct {
	name    string
	cfg     config.Base
	log     *slog.Logger
	grpc    *grpc.Server
	health  *health.Server
	reg     *prometheus.Registry
	metrics *grpcprom.ServerMetrics

	// ready is closed once Run has bound its listeners; the addresses
	// are set before that and never change afterwards.
	ready chan struct{}
	// drainStarted is closed when the drain begins (not-ready from then on).
	drainStarted chan struct{}
	grpcAddr     net.Addr
	adminAddr    net.Addr
	extra        []extraListener
	extraAddrs   map[string]net.Addr

	mu       sync.Mutex
	checks   []namedCheck
	runners  []runner
	closers  []closer
	draining bool
}

// New builds the shell: logger, tracing, metrics registry and gRPC server.
// Nothing listens until Run.
func New(ctx context.Context, name string, cfg config.Base, opts ...Option) (*Shell, error) {
	var o options
	for _, opt := range opts {
		opt(&o)
	}
	log := NewLogger(os.Stderr, name, cfg.LogLevel, cfg.LogFormat)
	slog.SetDefault(log)

	shutdownTracing, err := setupTracing(ctx, name, cfg.OTLPEndpoint)
	if err != nil {
		return nil, err
	}

	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	metrics := grpcprom.NewServerMetrics(grpcprom.WithServerHandlingTimeHistogram(
		grpcprom.WithHistogramBuckets([]float64{.001, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10}),
	))
	reg.MustRegister(metrics)

	recoveryOpt := recovery.WithRecoveryHandlerContext(func(ctx context.Context, p any) error {
		log.ErrorContext(ctx, "panic in handler", "panic", fmt.Sprint(p))
		return status.Error(codes.Internal, "internal error")
	})
	logOpts := []logging.Option{logging.WithLogOnEvents(logging.FinishCall), logging.WithLevels(callLevel)}
	unary := append([]grpc.UnaryServerInterceptor{
		metrics.UnaryServerInterceptor(),
		selector.UnaryServerInterceptor(logging.UnaryServerInterceptor(interceptorLogger(log), logOpts...), selector.MatchFunc(worthLogging)),
		recovery.UnaryServerInterceptor(recoveryOpt),
	}, o.unary...)
	stream := append([]grpc.StreamServerInterceptor{
		metrics.StreamServerInterceptor(),
		selector.StreamServerInterceptor(logging.StreamServerInterceptor(interceptorLogger(log), logOpts...), selector.MatchFunc(worthLogging)),
		recovery.StreamServerInterceptor(recoveryOpt),
	}, o.stream...)
	serverOpts := append([]grpc.ServerOption{
		grpc.StatsHandler(otelgrpc.NewServerHandler()),
		grpc.ChainUnaryInterceptor(unary...),
		grpc.ChainStreamInterceptor(stream...),
	}, o.serverOpts...)

	s := &Shell{
		name:         name,
		cfg:          cfg,
		log:          log,
		grpc:         grpc.NewServer(serverOpts...),
		health:       health.NewServer(),
		reg:          reg,
		metrics:      metrics,
		ready:        make(chan struct{}),
		drainStarted: make(chan struct{}),
		extra:        o.extra,
	}
	healthpb.RegisterHealthServer(s.grpc, s.health)
	reflection.Register(s.grpc)
	s.health.SetServingStatus("", healthpb.HealthCheckResponse_NOT_SERVING)
	s.OnClose("tracing", shutdownTracing)
	return s, nil
}

// Log is the service's logger.
func (s *Shell) Log() *slog.Logger { return s.log }

// Name is the service's name ("ingest"), as in its logs.
func (s *Shell) Name() string { return s.name }

// GRPC is the server to register services on, before Run.
func (s *Shell) GRPC() *grpc.Server { return s.grpc }

// Registry is where the service registers its own Prometheus metrics.
func (s *Shell) Registry() *prometheus.Registry { return s.reg }

// Ready is closed once Run is listening. It lets callers that configured
// port 0 (tests, mostly) learn the bound addresses without polling.
func (s *Shell) Ready() <-chan struct{} { return s.ready }

// GRPCAddr is the address the gRPC server is bound to; nil before Ready.
func (s *Shell) GRPCAddr() net.Addr {
	select {
	case <-s.ready:
		return s.grpcAddr
	default:
		return nil
	}
}

// AdminAddr is the address the admin HTTP server is bound to; nil before Ready.
func (s *Shell) AdminAddr() net.Addr {
	select {
	case <-s.ready:
		return s.adminAddr
	default:
		return nil
	}
}

// ExtraAddr is the address the listener added by WithExtraListener under
// name is bound to; nil before Ready or for an unknown name.
func (s *Shell) ExtraAddr(name string) net.Addr {
	select {
	case <-s.ready:
		return s.extraAddrs[name]
	default:
		return nil
	}
}

// AddCheck adds a readiness check (a database ping, a stream lookup, ...).
func (s *Shell) AddCheck(name string, fn Check) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.checks = append(s.checks, namedCheck{name, fn})
}

// Go runs fn for the life of the service. Its context is cancelled at
// shutdown after the gRPC server has drained; fn must return then. An error
// from fn stops the service.
func (s *Shell) Go(name string, fn func(ctx context.Context) error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.runners = append(s.runners, runner{name, fn})
}

// OnClose registers a release step (close a pool, flush a buffer). Steps run
// after the runners have stopped, in reverse order of registration.
func (s *Shell) OnClose(name string, fn func(ctx context.Context) error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.closers = append(s.closers, closer{name, fn})
}

// Run serves until ctx is cancelled or a runner fails, then drains: it turns
// not-ready, waits DrainDelay, stops the gRPC server gracefully (bounded by
// ShutdownTimeout), stops the runners and closes resources. Run is called
// once; the closers run even when it fails to start.
func (s *Shell) Run(ctx context.Context) error {
	grpcLis, err := net.Listen("tcp", s.cfg.GRPCAddr)
	if err != nil {
		s.close(context.Background())
		return fmt.Errorf("listen grpc %s: %w", s.cfg.GRPCAddr, err)
	}
	grpcLiss := []net.Listener{grpcLis}
	closeListeners := func() {
		for _, l := range grpcLiss {
			l.Close()
		}
	}
	extraAddrs := make(map[string]net.Addr, len(s.extra))
	for _, e := range s.extra {
		lis, err := net.Listen("tcp", e.addr)
		if err != nil {
			closeListeners()
			s.close(context.Background())
			return fmt.Errorf("listen %s %s: %w", e.name, e.addr, err)
		}
		grpcLiss = append(grpcLiss, lis)
		extraAddrs[e.name] = lis.Addr()
	}
	adminLis, err := net.Listen("tcp", s.cfg.AdminAddr)
	if err != nil {
		closeListeners()
		s.close(context.Background())
		return fmt.Errorf("listen admin %s: %w", s.cfg.AdminAddr, err)
	}
	s.metrics.InitializeMetrics(s.grpc)
	admin := &http.Server{Handler: s.adminHandler(), ReadHeaderTimeout: 5 * time.Second}

	runCtx, cancelRunners := context.WithCancel(context.WithoutCancel(ctx))
	defer cancelRunners()
	s.mu.Lock()
	runners := s.runners
	s.mu.Unlock()
	errc := make(chan error, len(runners)+len(grpcLiss)+1)
	// runners holds the service's own work, which must stop before the
	// closers release what it uses; servers holds the shell's goroutines,
	// which Run waits for so that nothing outlives it.
	var runnersWG, servers sync.WaitGroup
	for _, r := range runners {
		runnersWG.Go(func() {
			if err := r.fn(runCtx); err != nil && !errors.Is(err, context.Canceled) {
				errc <- fmt.Errorf("%s: %w", r.name, err)
			}
		})
	}
	// One server on every gRPC listener: GracefulStop drains them all.
	for i, lis := range grpcLiss {
		label := "grpc"
		if i > 0 {
			label = s.extra[i-1].name
		}
		servers.Go(func() {
			if err := s.grpc.Serve(lis); err != nil {
				errc <- fmt.Errorf("%s: %w", label, err)
			}
		})
	}
	servers.Go(func() {
		if err := admin.Serve(adminLis); err != nil && !errors.Is(err, http.ErrServerClosed) {
			errc <- fmt.Errorf("admin http: %w", err)
		}
	})
	servers.Go(func() { s.watchReadiness(runCtx) })
	s.grpcAddr, s.adminAddr, s.extraAddrs = grpcLis.Addr(), adminLis.Addr(), extraAddrs
	close(s.ready)
	attrs := []any{"grpc_addr", s.grpcAddr.String(), "admin_addr", s.adminAddr.String()}
	for _, e := range s.extra {
		attrs = append(attrs, e.name+"_addr", extraAddrs[e.name].String())
	}
	s.log.Info("service started", attrs...)

	var runErr error
	select {
	case <-ctx.Done():
		s.log.Info("shutdown requested")
	case runErr = <-errc:
		s.log.Error("service failed", "err", runErr)
	}
	s.drain(admin, cancelRunners, &runnersWG)
	servers.Wait()
	return runErr
}

func (s *Shell) drain(admin *http.Server, cancelRunners context.CancelFunc, wg *sync.WaitGroup) {
	s.mu.Lock()
	s.draining = true
	s.mu.Unlock()
	close(s.drainStarted)
	s.health.Shutdown() // every gRPC health status becomes NOT_SERVING
	time.Sleep(s.cfg.DrainDelay)

	deadline, cancel := context.WithTimeout(context.Background(), s.cfg.ShutdownTimeout)
	defer cancel()
	stopped := make(chan struct{})
	go func() { s.grpc.GracefulStop(); close(stopped) }()
	select {
	case <-stopped:
	case <-deadline.Done():
		s.log.Warn("graceful stop timed out; closing open calls")
		s.grpc.Stop()
	}
	cancelRunners()
	waited := make(chan struct{})
	go func() { wg.Wait(); close(waited) }()
	select {
	case <-waited:
	case <-deadline.Done():
		s.log.Warn("background work did not stop in time")
	}
	s.close(deadline)
	_ = admin.Shutdown(deadline)
	s.log.Info("service stopped")
}

// Draining is closed when the shell starts to drain: it reports not-ready
// and, DrainDelay later, stops its servers and runners. An HTTP server the
// service runs itself can stop keeping connections alive from then on, so
// its clients move to other replicas before it closes their connections.
func (s *Shell) Draining() <-chan struct{} { return s.drainStarted }

// close runs the release steps in reverse order of registration, so a
// resource is released after everything registered later that may use it.
func (s *Shell) close(ctx context.Context) {
	s.mu.Lock()
	closers := s.closers
	s.mu.Unlock()
	for i := len(closers) - 1; i >= 0; i-- {
		c := closers[i]
		if err := c.fn(ctx); err != nil {
			s.log.Warn("close failed", "resource", c.name, "err", err)
		}
	}
}
