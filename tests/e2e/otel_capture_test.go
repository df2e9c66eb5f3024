package e2e

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"

	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
)

// sdkExportBody is the protobuf ExportTraceServiceRequest the SDK's own
// OTLP/HTTP exporter sends for spans, caught by a local server: raw calls
// and benchmarks send exactly what a real client sends.
func sdkExportBody(ctx context.Context, spans []sdktrace.ReadOnlySpan) ([]byte, error) {
	var (
		mu   sync.Mutex
		body []byte
	)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, err := io.ReadAll(r.Body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		mu.Lock()
		body = b
		mu.Unlock()
		w.Header().Set("Content-Type", "application/x-protobuf")
		w.WriteHeader(http.StatusOK)
	}))
	defer srv.Close()
	exp, err := otlptracehttp.New(ctx, otlptracehttp.WithEndpointURL(srv.URL+otlpHTTPPath),
		otlptracehttp.WithRetry(otlptracehttp.RetryConfig{Enabled: false}))
	if err != nil {
		return nil, err
	}
	exportErr := exp.ExportSpans(ctx, spans)
	if err := errors.Join(exportErr, exp.Shutdown(context.Background())); err != nil {
		return nil, err
	}
	mu.Lock()
	defer mu.Unlock()
	if len(body) == 0 {
		return nil, fmt.Errorf("the SDK exported %d spans as an empty body", len(spans))
	}
	return body, nil
}
