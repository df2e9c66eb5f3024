package otlpapi

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"testing"
	"time"

	coltracepb "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/agenttrace/agenttrace/pkg/authn"
	"github.com/agenttrace/agenttrace/services/ingest/internal/otlpingest"
)

type fakePublisher struct {
	err     error
	project string
}

func (p *fakePublisher) PublishExport(_ context.Context, projectID string, _ *timestamppb.Timestamp, _ otlpingest.Export) error {
	p.project = projectID
	return p.err
}

func span(valid bool) *tracepb.Span {
	s := &tracepb.Span{
		TraceId:           []byte{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16},
		SpanId:            []byte{1, 2, 3, 4, 5, 6, 7, 8},
		StartTimeUnixNano: 1,
	}
	if !valid {
		s.SpanId = nil
	}
	return s
}

func exportOf(spans ...*tracepb.Span) *coltracepb.ExportTraceServiceRequest {
	return &coltracepb.ExportTraceServiceRequest{ResourceSpans: []*tracepb.ResourceSpans{{ScopeSpans: []*tracepb.ScopeSpans{{Spans: spans}}}}}
}

func TestExport(t *testing.T) {
	asProject := authn.WithPrincipal(context.Background(), authn.Principal{ProjectID: "proj"})
	canceled, cancel := context.WithCancel(asProject)
	cancel()
	tests := []struct {
		name         string
		ctx          context.Context
		req          *coltracepb.ExportTraceServiceRequest
		pubErr       error
		wantCode     codes.Code
		wantRejected int64
		wantRetry    bool
	}{
		{"accepted", asProject, exportOf(span(true)), nil, codes.OK, 0, false},
		{"partial", asProject, exportOf(span(true), span(false)), nil, codes.OK, 1, false},
		{"all rejected", asProject, exportOf(span(false)), nil, codes.OK, 1, false},
		{"no principal", context.Background(), exportOf(span(true)), nil, codes.Unauthenticated, 0, false},
		{"principal without project", authn.WithPrincipal(context.Background(), authn.Principal{UserID: "u"}), exportOf(span(true)), nil, codes.Unauthenticated, 0, false},
		{"stream down", asProject, exportOf(span(true)), errors.New("nats: no responders"), codes.Unavailable, 0, true},
		{"caller gone", canceled, exportOf(span(true)), context.Canceled, codes.Canceled, 0, false},
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pub := &fakePublisher{err: tt.pubErr}
			srv := NewServer(otlpingest.NewService(otlpingest.Config{Publisher: pub, Limits: otlpingest.DefaultLimits(), Log: log}), log)
			resp, err := srv.Export(tt.ctx, tt.req)
			st := status.Convert(err)
			if st.Code() != tt.wantCode {
				t.Fatalf("Export = %v, want %v", err, tt.wantCode)
			}
			if tt.wantCode == codes.Internal && st.Message() != "internal error" {
				t.Errorf("internal error leaks detail: %q", st.Message())
			}
			if got := resp.GetPartialSuccess().GetRejectedSpans(); got != tt.wantRejected {
				t.Errorf("rejected_spans = %d, want %d", got, tt.wantRejected)
			}
			if tt.wantRejected > 0 && resp.GetPartialSuccess().GetErrorMessage() == "" {
				t.Error("partial success without an error message")
			}
			if tt.wantCode == codes.OK && tt.wantRejected == 0 && resp.GetPartialSuccess() != nil {
				t.Error("partial_success set although every span was accepted")
			}
			var retry *errdetails.RetryInfo
			for _, d := range st.Details() {
				if ri, ok := d.(*errdetails.RetryInfo); ok {
					retry = ri
				}
			}
			if tt.wantRetry != (retry != nil) || (retry != nil && retry.GetRetryDelay().AsDuration() != time.Second) {
				t.Errorf("retry info = %v, want present: %v", retry, tt.wantRetry)
			}
		})
	}
}

func TestUnknownErrorIsInternal(t *testing.T) {
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	srv := NewServer(nil, log)
	err := srv.toStatus(context.Background(), errors.New("secret detail"))
	if st := status.Convert(err); st.Code() != codes.Internal || st.Message() != "internal error" {
		t.Errorf("toStatus = %v", err)
	}
}

func TestTransport(t *testing.T) {
	tests := []struct {
		name string
		md   metadata.MD
		want string
	}{
		{"direct", nil, otlpingest.TransportGRPC},
		{"via gateway", metadata.Pairs(TransportHeader, "http"), otlpingest.TransportHTTP},
		{"unknown value", metadata.Pairs(TransportHeader, "carrier-pigeon"), otlpingest.TransportGRPC},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := metadata.NewIncomingContext(context.Background(), tt.md)
			if got := transport(ctx); got != tt.want {
				t.Errorf("transport = %q, want %q", got, tt.want)
			}
		})
	}
}
