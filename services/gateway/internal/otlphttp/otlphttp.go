// Package otlphttp is the gateway's OTLP/HTTP trace receiver: POST
// /v1/traces (and /api/v1/otel/v1/traces) with an ExportTraceServiceRequest
// as binary protobuf or OTLP/JSON, optionally gzip-compressed. It forwards
// each request to ingest's TraceService/Export over gRPC with the caller's
// Authorization header and answers as the OTLP/HTTP specification asks:
//
//   - 200 with an ExportTraceServiceResponse (partial_success when spans
//     were rejected), in the request's encoding;
//   - every error with a google.rpc.Status body in the request's encoding
//     (JSON when the encoding is unknown);
//   - 400 undecodable payload (a protobuf body is forwarded undecoded and
//     refused by ingest), 401 missing or invalid credentials, 403
//     wrong project or permission, 413 body over the limit (compressed or
//     inflated), 415 unsupported Content-Type or Content-Encoding, 405 any
//     method but POST;
//   - 429 (rate limited) and 503 (a backend unavailable) with Retry-After,
//     504 when ingest did not answer in time: the statuses OTLP exporters
//     retry.
//
// The handler reads the body itself (its own limit, encodings and error
// format), so the REST API's body middleware must not run before it.
package otlphttp

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"

	coltracepb "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	"google.golang.org/grpc"
	"google.golang.org/grpc/metadata"

	"github.com/agenttrace/agenttrace/services/gateway/internal/grpchttp"
	"github.com/agenttrace/agenttrace/services/gateway/internal/reqbody"
)

// Paths are the URL paths the receiver serves: the OTLP default, and the
// same under the API prefix for deployments that route only /api/.
var Paths = []string{"/v1/traces", "/api/v1/otel/v1/traces"}

// transportHeader marks exports relayed from OTLP/HTTP, for ingest's
// metrics; ingest's otlpapi.TransportHeader is the same name.
const transportHeader = "x-agenttrace-otlp-transport"

// exportMethod is ingest's TraceService/Export.
const exportMethod = "/opentelemetry.proto.collector.trace.v1.TraceService/Export"

// Config is what the receiver needs.
type Config struct {
	// Conn reaches ingest's TraceService.
	Conn grpc.ClientConnInterface
	// MaxBodyBytes bounds a request body, as sent and once inflated.
	MaxBodyBytes int64
	Log          *slog.Logger
}

// Handler serves OTLP/HTTP trace exports.
type Handler struct {
	cfg Config
}

// New builds the receiver.
func New(cfg Config) (*Handler, error) {
	if cfg.Conn == nil || cfg.Log == nil {
		return nil, errors.New("otlphttp: Conn and Log are required")
	}
	if cfg.MaxBodyBytes <= 0 {
		return nil, fmt.Errorf("otlphttp: MaxBodyBytes must be positive, got %d", cfg.MaxBodyBytes)
	}
	return &Handler{cfg: cfg}, nil
}

// ServeHTTP forwards one export (see encoding) and writes ingest's answer.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	enc, encOK := encodingOf(r.Header.Get("Content-Type"))
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		writeStatus(w, enc, http.StatusMethodNotAllowed, fmt.Sprintf("method %s is not allowed: send POST", r.Method))
		return
	}
	if !encOK {
		writeStatus(w, enc, http.StatusUnsupportedMediaType,
			fmt.Sprintf("unsupported Content-Type %q: use %s or %s", r.Header.Get("Content-Type"), contentTypeProtobuf, contentTypeJSON))
		return
	}
	body, err := reqbody.FromRequest(w, r, h.cfg.MaxBodyBytes)
	if err != nil {
		writeStatus(w, enc, reqbody.HTTPStatus(err), err.Error())
		return
	}
	req, err := enc.request(body)
	if err != nil {
		writeStatus(w, enc, http.StatusBadRequest, err.Error())
		return
	}

	var header metadata.MD
	resp := &coltracepb.ExportTraceServiceResponse{}
	err = h.cfg.Conn.Invoke(metadata.NewOutgoingContext(r.Context(), forwardedMetadata(r)), exportMethod, req, resp, callCodec, grpc.Header(&header))
	grpchttp.CopyRateLimitHeaders(w, header)
	if err != nil {
		h.writeError(w, r, enc, err)
		return
	}
	out, err := enc.encode(resp)
	if err != nil {
		h.cfg.Log.ErrorContext(r.Context(), "encode otlp response", "err", err)
		writeStatus(w, enc, http.StatusInternalServerError, "internal error")
		return
	}
	w.Header().Set("Content-Type", enc.contentType)
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(out)
}

// forwardedMetadata is what ingest learns about the HTTP request: what
// every route forwards (grpchttp.OutgoingMetadata) and the transport.
func forwardedMetadata(r *http.Request) metadata.MD {
	md := grpchttp.OutgoingMetadata(r)
	md.Set(transportHeader, "http")
	return md
}
