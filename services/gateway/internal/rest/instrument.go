package rest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/grpc-ecosystem/grpc-gateway/v2/runtime"
	"github.com/prometheus/client_golang/prometheus"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"
)

// requestIDHeader carries a caller's request id (or the one the gateway
// made up) to the backends and back to the caller.
const requestIDHeader = "X-Request-Id"

// unmatchedRoute labels requests that matched no route, so that probing
// random paths cannot grow the metrics without bound.
const unmatchedRoute = "unmatched"

type metrics struct {
	requests *prometheus.CounterVec
	duration *prometheus.HistogramVec
}

func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	m := &metrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "agenttrace_http_requests_total",
			Help: "REST requests served, by route pattern, method and status code.",
		}, []string{"route", "method", "code"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "agenttrace_http_request_duration_seconds",
			Help:    "Time to serve a REST request, by route pattern and method.",
			Buckets: []float64{.001, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30},
		}, []string{"route", "method"}),
	}
	for _, c := range []prometheus.Collector{m.requests, m.duration} {
		if err := reg.Register(c); err != nil {
			return nil, fmt.Errorf("register http metrics: %w", err)
		}
	}
	return m, nil
}

// requestInfo is filled in while a request is served: the route is known
// only once the mux has matched it, deep inside the handler chain.
type requestInfo struct {
	route string
}

type requestInfoKey struct{}

func routeOf(ctx context.Context) string {
	if info, ok := ctx.Value(requestInfoKey{}).(*requestInfo); ok {
		return info.route
	}
	return unmatchedRoute
}

// recordRoute is a mux middleware: it runs only for matched routes and
// records the route's pattern (never the raw path) for metrics and logs.
func recordRoute(next runtime.HandlerFunc) runtime.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request, params map[string]string) {
		if p, ok := runtime.HTTPPattern(r.Context()); ok {
			if info, ok := r.Context().Value(requestInfoKey{}).(*requestInfo); ok {
				// Pattern.String spells a variable {trace_id=*}; the short
				// form matches the OpenAPI paths.
				info.route = strings.ReplaceAll(p.String(), "=*}", "}")
			}
		}
		next(w, r, params)
	}
}

// instrument wraps the whole API: request id, trace context from the
// caller, a server span, the request deadline, metrics and one access log
// line per request.
func instrument(log *slog.Logger, m *metrics, timeout time.Duration, next http.Handler) http.Handler {
	tracer := otel.Tracer("github.com/agenttrace/agenttrace/services/gateway")
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		began := time.Now()
		id := r.Header.Get(requestIDHeader)
		if !validRequestID(id) {
			id = newRequestID()
			r.Header.Set(requestIDHeader, id)
		}
		w.Header().Set(requestIDHeader, id)

		info := &requestInfo{route: unmatchedRoute}
		ctx := context.WithValue(r.Context(), requestInfoKey{}, info)
		ctx = otel.GetTextMapPropagator().Extract(ctx, propagation.HeaderCarrier(r.Header))
		ctx, span := tracer.Start(ctx, "HTTP "+r.Method, trace.WithSpanKind(trace.SpanKindServer))
		if timeout > 0 {
			var cancel context.CancelFunc
			ctx, cancel = context.WithTimeout(ctx, timeout)
			defer cancel()
		}
		rec := &recorder{ResponseWriter: w, status: http.StatusOK}

		next.ServeHTTP(rec, r.WithContext(ctx))

		elapsed := time.Since(began)
		method := methodLabel(r.Method)
		m.requests.WithLabelValues(info.route, method, strconv.Itoa(rec.status)).Inc()
		m.duration.WithLabelValues(info.route, method).Observe(elapsed.Seconds())
		span.SetName(r.Method + " " + info.route)
		span.SetAttributes(
			attribute.String("http.request.method", r.Method),
			attribute.String("http.route", info.route),
			attribute.Int("http.response.status_code", rec.status),
		)
		if rec.status >= http.StatusInternalServerError {
			span.SetStatus(codes.Error, http.StatusText(rec.status))
		}
		span.End()
		// Headers are never logged: Authorization carries the API key.
		log.InfoContext(ctx, "http request",
			"method", r.Method,
			"route", info.route,
			"status", rec.status,
			"duration_ms", float64(elapsed.Microseconds())/1000,
			"bytes", rec.bytes,
			"request_id", id,
		)
	})
}

// methodLabel keeps the method label to the standard methods; anything a
// client invents becomes OTHER.
func methodLabel(m string) string {
	switch m {
	case http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch,
		http.MethodDelete, http.MethodOptions:
		return m
	}
	return "OTHER"
}

// validRequestID accepts a caller's id only if it is short printable ASCII,
// since it goes into gRPC metadata, response headers and logs.
func validRequestID(id string) bool {
	if id == "" || len(id) > 128 {
		return false
	}
	for i := 0; i < len(id); i++ {
		if id[i] < 0x21 || id[i] > 0x7e {
			return false
		}
	}
	return true
}

func newRequestID() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails
	return hex.EncodeToString(b[:])
}

// recorder remembers the status and size of a response.
type recorder struct {
	http.ResponseWriter
	status      int
	bytes       int64
	wroteHeader bool
}

func (r *recorder) WriteHeader(code int) {
	if !r.wroteHeader {
		r.status, r.wroteHeader = code, true
	}
	r.ResponseWriter.WriteHeader(code)
}

func (r *recorder) Write(b []byte) (int, error) {
	r.wroteHeader = true
	n, err := r.ResponseWriter.Write(b)
	r.bytes += int64(n)
	return n, err
}

// Unwrap lets http.ResponseController reach the underlying writer.
func (r *recorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }
