package service

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"testing"

	"github.com/grpc-ecosystem/go-grpc-middleware/v2/interceptors/logging"
	"go.opentelemetry.io/otel/trace"
	"google.golang.org/grpc/codes"
)

func TestLoggerAddsServiceAndTraceContext(t *testing.T) {
	var buf bytes.Buffer
	log := NewLogger(&buf, "query", "debug", "json").WithGroup("req").With("k", "v")
	sc := trace.NewSpanContext(trace.SpanContextConfig{
		TraceID:    trace.TraceID{1, 2, 3},
		SpanID:     trace.SpanID{4, 5, 6},
		TraceFlags: trace.FlagsSampled,
	})
	log.InfoContext(trace.ContextWithSpanContext(context.Background(), sc), "request served")
	log.InfoContext(context.Background(), "no span")

	lines := bytes.Split(bytes.TrimSpace(buf.Bytes()), []byte("\n"))
	if len(lines) != 2 {
		t.Fatalf("got %d lines: %s", len(lines), buf.String())
	}
	var withSpan, without map[string]any
	if err := json.Unmarshal(lines[0], &withSpan); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(lines[1], &without); err != nil {
		t.Fatal(err)
	}
	if withSpan["service"] != "query" {
		t.Errorf("service missing: %v", withSpan)
	}
	// The trace attributes land in the open group; what matters is that they are there.
	group, _ := withSpan["req"].(map[string]any)
	if group["trace_id"] != sc.TraceID().String() || group["span_id"] != sc.SpanID().String() {
		t.Errorf("trace context missing: %v", withSpan)
	}
	if g, _ := without["req"].(map[string]any); g["trace_id"] != nil {
		t.Errorf("trace id without a span: %v", without)
	}
}

func TestParseLevel(t *testing.T) {
	tests := []struct {
		in   string
		want slog.Level
	}{
		{"debug", slog.LevelDebug},
		{"WARN", slog.LevelWarn},
		{"error", slog.LevelError},
		{"", slog.LevelInfo},
		{"loud", slog.LevelInfo},
	}
	for _, tt := range tests {
		if got := parseLevel(tt.in); got != tt.want {
			t.Errorf("parseLevel(%q) = %v, want %v", tt.in, got, tt.want)
		}
	}
}

func TestTextFormat(t *testing.T) {
	var buf bytes.Buffer
	NewLogger(&buf, "auth", "info", "text").Debug("hidden")
	NewLogger(&buf, "auth", "info", "text").Info("shown")
	if got := buf.String(); !bytes.Contains([]byte(got), []byte("msg=shown service=auth")) || bytes.Contains([]byte(got), []byte("hidden")) {
		t.Errorf("text log = %q", got)
	}
}

func TestCallLevel(t *testing.T) {
	tests := []struct {
		code codes.Code
		want logging.Level
	}{
		{codes.OK, logging.LevelInfo},
		{codes.InvalidArgument, logging.LevelInfo},
		{codes.Unauthenticated, logging.LevelInfo},
		{codes.Unavailable, logging.LevelWarn},
		{codes.DeadlineExceeded, logging.LevelWarn},
		{codes.Internal, logging.LevelError},
		{codes.Unknown, logging.LevelError},
		{codes.DataLoss, logging.LevelError},
	}
	for _, tt := range tests {
		if got := callLevel(tt.code); got != tt.want {
			t.Errorf("callLevel(%v) = %v, want %v", tt.code, got, tt.want)
		}
	}
}
