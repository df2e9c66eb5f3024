package otlpingest

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	coltracepb "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// ErrUnavailable: the stream did not acknowledge the spans; nothing was
// accepted and the client may retry the same export safely.
var ErrUnavailable = errors.New("event stream unavailable")

// ErrMalformed: the request's bytes are not an ExportTraceServiceRequest.
var ErrMalformed = errors.New("not an OTLP ExportTraceServiceRequest")

// Publisher durably stores the valid spans of one export. It returns nil
// only once the stream has acknowledged all of them; a re-sent export with
// the same spans must not be stored twice.
type Publisher interface {
	PublishExport(ctx context.Context, projectID string, receivedAt *timestamppb.Timestamp, exp Export) error
}

// Export is the valid part of an export request, as a Publisher gets it:
// the request as received when every span of it is valid (Raw), the request
// of the valid spans (Req), or both.
type Export struct {
	// Raw is the encoding the request arrived in, when all of its spans
	// are valid; nil otherwise. It decodes to Req, except that validation
	// clears an all-zero parent span id in Req that Raw still holds (the
	// mapping reads both as a root).
	Raw []byte
	// Spans are Raw's spans in request order, when Scan found them; nil
	// otherwise.
	Spans []SpanRef
	// Req is the request of the valid spans; nil when Raw was scanned and
	// not decoded (see Request).
	Req *coltracepb.ExportTraceServiceRequest
}

// Request returns Req, decoding Raw when Req is nil.
func (e Export) Request() (*coltracepb.ExportTraceServiceRequest, error) {
	if e.Req != nil {
		return e.Req, nil
	}
	req := &coltracepb.ExportTraceServiceRequest{}
	if err := proto.Unmarshal(e.Raw, req); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrMalformed, err)
	}
	return req, nil
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

// Export validates an export request's spans, publishes the valid ones for
// projectID (see Publisher) and reports the rejected ones. raw is the
// request's encoding when known: Scan checks it without decoding it, and
// only when Scan cannot vouch for every span is it decoded (req is ignored
// then) and checked with Validate. Without raw, req is validated. transport
// is TransportGRPC or TransportHTTP, for the metrics. It fails with
// ErrMalformed when raw does not decode, and with ErrUnavailable (or the
// context's error) when publishing did not succeed; invalid spans never
// fail the call.
func (s *Service) Export(ctx context.Context, projectID, transport string, req *coltracepb.ExportTraceServiceRequest, raw []byte) (Outcome, error) {
	exp, out, err := s.check(ctx, projectID, req, raw)
	if err != nil {
		if errors.Is(err, ErrMalformed) {
			s.cfg.Metrics.malformed(transport)
		}
		return Outcome{}, err
	}
	if out.Accepted > 0 {
		start := time.Now()
		err := s.cfg.Publisher.PublishExport(ctx, projectID, timestamppb.New(s.cfg.Now()), exp)
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

// check finds the valid spans of an export (see Export).
func (s *Service) check(ctx context.Context, projectID string, req *coltracepb.ExportTraceServiceRequest, raw []byte) (Export, Outcome, error) {
	if raw != nil {
		if spans, ok := Scan(raw, s.cfg.Limits); ok {
			return Export{Raw: raw, Spans: spans}, Outcome{Accepted: len(spans)}, nil
		}
		var err error
		if req, err = (Export{Raw: raw}).Request(); err != nil {
			return Export{}, Outcome{}, err
		}
	}
	checked := Validate(req, s.cfg.Limits)
	out := Outcome{Accepted: checked.Accepted, Rejected: len(checked.Rejections), Message: summarize(checked.Rejections, checked.Accepted)}
	if out.Rejected > 0 {
		s.cfg.Log.DebugContext(ctx, "otlp spans rejected", "project_id", projectID,
			"rejected", out.Rejected, "accepted", out.Accepted, "first", checked.Rejections[0].String())
	}
	exp := Export{Req: checked.Valid}
	if checked.Valid == req {
		exp.Raw = raw // nil when unknown; it would hold the rejected spans too otherwise
	}
	return exp, out, nil
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

// SpanRef identifies a span by its trace id and span id, as message ids
// name it (see Key).
type SpanRef [16 + 8]byte

// RefOf is the SpanRef of a span with valid ids.
func RefOf(s *tracepb.Span) SpanRef { return refOf(s.GetTraceId(), s.GetSpanId()) }

func refOf(traceID, spanID []byte) SpanRef {
	var r SpanRef
	copy(r[:16], traceID)
	copy(r[16:], spanID)
	return r
}

// AppendKey appends the span's key, "<trace id hex>:<span id hex>", to dst.
// Keys order as SpanRefs do (compared bytewise).
func (r SpanRef) AppendKey(dst []byte) []byte {
	dst = hex.AppendEncode(dst, r[:16])
	dst = append(dst, ':')
	return hex.AppendEncode(dst, r[16:])
}

// Key is the span's key (see AppendKey).
func (r SpanRef) Key() string { return string(r.AppendKey(make([]byte, 0, 2*len(r)+1))) }
