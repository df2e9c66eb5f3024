package service

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/pprof"
	"time"

	"github.com/grpc-ecosystem/go-grpc-middleware/v2/interceptors/logging"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"google.golang.org/grpc/codes"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"log/slog"
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

// watchReadiness mirrors /ready into the gRPC health service so gRPC probes
// and load balancers see the same answer.
func (s *Shell) watchReadiness(ctx context.Context) {
	t := time.NewTicker(5 * time.Second)
	defer t.Stop()
	for {
		st := healthpb.HealthCheckResponse_SERVING
		if failures := s.runChecks(ctx); len(failures) > 0 {
			st = healthpb.HealthCheckResponse_NOT_SERVING
		}
		s.mu.Lock()
		if !s.draining {
			s.health.SetServingStatus("", st)
		}
		s.mu.Unlock()
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
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
