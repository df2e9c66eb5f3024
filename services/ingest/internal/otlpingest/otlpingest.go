package otlpingest

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	coltracepb "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// ErrUnavailable: the stream did not acknowledge the spans; nothing was
// accepted and the client may retry the same export safely.
var ErrUnavailable = errors.New("event stream unavailable")

// Publisher durably stores the valid spans of one export. It returns nil
// only once the stream has acknowledged all of them; a re-sent export with
// the same spans must not be stored twice. raw, when not nil, is the
// encoding req was decoded from, which the publisher may store instead of
// encoding req again: it decodes to req, except that validation clears an
// all-zero parent span id in req that raw still holds (the mapping reads
// both as a root).
type Publisher interface {
	PublishExport(ctx context.Context, projectID string, receivedAt *timestamppb.Timestamp, req *coltracepb.ExportTraceServiceRequest, raw []byte) error
}

// Transports an export arrives by, the "transport" label of the metrics.
const (
	TransportGRPC = "grpc"
	TransportHTTP = "http" // through the gateway's OTLP/HTTP endpoint
)

// Config is what a Service needs.
type Config struct {
	Publisher Publisher
	Limits    Limits
	Metrics   *Metrics
	Log       *slog.Logger
	// Now is the clock; time.Now when nil.
	Now func() time.Time
}

// Service ingests OTLP trace exports.
type Service struct {
	cfg Config
}

// NewService builds a Service.
func NewService(cfg Config) *Service {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Log == nil {
		cfg.Log = slog.Default()
	}
	return &Service{cfg: cfg}
}

// Outcome is what an export call reports back.
type Outcome struct {
	Accepted int
	Rejected int
	// Message summarizes the first rejections; empty when none.
	Message string
}

// maxReasons is how many rejections the summary message spells out.
const maxReasons = 5

// Export validates req's spans, publishes the valid ones for projectID as
// one request (see Publisher) and reports the rejected ones. raw is the
// encoding req was decoded from, or nil when unknown; it is handed to the
// publisher when every span is valid. transport is TransportGRPC or
// TransportHTTP, for the metrics. It fails with ErrUnavailable (or the
// context's error) when publishing did not succeed; invalid spans never
// fail the call.
func (s *Service) Export(ctx context.Context, projectID, transport string, req *coltracepb.ExportTraceServiceRequest, raw []byte) (Outcome, error) {
	checked := Validate(req, s.cfg.Limits)
	out := Outcome{Accepted: checked.Accepted, Rejected: len(checked.Rejections), Message: summarize(checked.Rejections, checked.Accepted)}
	if out.Rejected > 0 {
		s.cfg.Log.DebugContext(ctx, "otlp spans rejected", "project_id", projectID,
			"rejected", out.Rejected, "accepted", out.Accepted, "first", checked.Rejections[0].String())
	}
	if out.Accepted > 0 {
		if checked.Valid != req {
			raw = nil // it holds the rejected spans too
		}
		start := time.Now()
		err := s.cfg.Publisher.PublishExport(ctx, projectID, timestamppb.New(s.cfg.Now()), checked.Valid, raw)
		s.cfg.Metrics.publishDuration(time.Since(start))
		if err != nil {
			if ctxErr := ctx.Err(); ctxErr != nil {
				s.cfg.Metrics.request(transport, requestCanceled, out.Accepted, out.Rejected)
				return Outcome{}, fmt.Errorf("publish spans: %w", ctxErr)
			}
			s.cfg.Metrics.request(transport, requestUnavailable, out.Accepted, out.Rejected)
			s.cfg.Log.WarnContext(ctx, "publish failed", "project_id", projectID, "spans", out.Accepted, "err", err)
			return Outcome{}, fmt.Errorf("%w: %w", ErrUnavailable, err)
		}
	}
	s.cfg.Metrics.request(transport, requestOutcome(out), out.Accepted, out.Rejected)
	return out, nil
}

// summarize spells out the first rejections for partial_success.error_message.
func summarize(rejections []Rejection, accepted int) string {
	if len(rejections) == 0 {
		return ""
	}
	var b strings.Builder
	fmt.Fprintf(&b, "rejected %d of %d spans", len(rejections), len(rejections)+accepted)
	for i, r := range rejections {
		if i == maxReasons {
			fmt.Fprintf(&b, "; and %d more", len(rejections)-maxReasons)
			break
		}
		b.WriteString("; ")
		b.WriteString(r.String())
	}
	return b.String()
}
