package service

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/pprof"
	"strings"
	"time"

	"log/slog"

	"github.com/grpc-ecosystem/go-grpc-middleware/v2/interceptors"
	"github.com/grpc-ecosystem/go-grpc-middleware/v2/interceptors/logging"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"google.golang.org/grpc/codes"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
)

const checkTimeout = 2 * time.Second

func (s *Shell) adminHandler() http.Handler {
	mux := http.NewServeMux()
	// /health: the process is alive and not wedged; no dependency is checked,
	// so a database outage does not get pods restarted.
	mux.HandleFunc("GET /health", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, map[string]any{"status": "ok", "service": s.name})
	})
	mux.HandleFunc("GET /ready", func(w http.ResponseWriter, r *http.Request) {
		failures := s.runChecks(r.Context())
		s.setServing(len(failures) == 0)
		code, state := http.StatusOK, "ready"
		if len(failures) > 0 {
			code, state = http.StatusServiceUnavailable, "not ready"
		}
		writeJSON(w, code, map[string]any{"status": state, "service": s.name, "failures": failures})
	})
	mux.Handle("GET /metrics", promhttp.HandlerFor(s.reg, promhttp.HandlerOpts{Registry: s.reg}))
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	return mux
}

// runChecks returns the failing checks by name; draining counts as a failure.
func (s *Shell) runChecks(ctx context.Context) map[string]string {
	ctx, cancel := context.WithTimeout(ctx, checkTimeout)
	defer cancel()
	s.mu.Lock()
	checks, draining := s.checks, s.draining
	s.mu.Unlock()
	failures := map[string]string{}
	if draining {
		failures["shutdown"] = "draining"
	}
	for _, c := range checks {
		if err := c.fn(ctx); err != nil {
			failures[c.name] = err.Error()
		}
	}
	return failures
}

// readinessInterval is how often the gRPC health status is refreshed from
// the readiness checks when nobody asks /ready.
const readinessInterval = time.Second

// watchReadiness mirrors /ready into the gRPC health service so gRPC probes
// and load balancers see the same answer; every /ready call refreshes it too.
func (s *Shell) watchReadiness(ctx context.Context) {
	t := time.NewTicker(readinessInterval)
	defer t.Stop()
	for {
		s.setServing(len(s.runChecks(ctx)) == 0)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// setServing publishes the readiness verdict as the gRPC health status,
// unless the shell is draining (then it stays NOT_SERVING).
func (s *Shell) setServing(ok bool) {
	st := healthpb.HealthCheckResponse_NOT_SERVING
	if ok {
		st = healthpb.HealthCheckResponse_SERVING
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.draining {
		s.health.SetServingStatus("", st)
	}
}

// worthLogging leaves probes and reflection out of the call log: load
// balancers and the gateway's readiness checks call them constantly.
func worthLogging(_ context.Context, c interceptors.CallMeta) bool {
	return !strings.HasPrefix(c.FullMethod(), "/grpc.health.v1.Health/") &&
		!strings.HasPrefix(c.FullMethod(), "/grpc.reflection.")
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
}

// interceptorLogger adapts slog to go-grpc-middleware's logging interface.
func interceptorLogger(l *slog.Logger) logging.Logger {
	return logging.LoggerFunc(func(ctx context.Context, lvl logging.Level, msg string, fields ...any) {
		l.Log(ctx, slog.Level(lvl), msg, fields...)
	})
}

// callLevel logs client mistakes at info and server faults at error.
func callLevel(c codes.Code) logging.Level {
	switch c {
	case codes.OK, codes.Canceled, codes.InvalidArgument, codes.NotFound, codes.AlreadyExists,
		codes.Unauthenticated, codes.PermissionDenied, codes.ResourceExhausted, codes.FailedPrecondition, codes.OutOfRange:
		return logging.LevelInfo
	case codes.Unavailable, codes.DeadlineExceeded, codes.Aborted:
		return logging.LevelWarn
	default:
		return logging.LevelError
	}
}
