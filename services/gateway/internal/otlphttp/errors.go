package otlphttp

import (
	"net/http"
	"strconv"
	"strings"

	"github.com/agenttrace/agenttrace/services/gateway/internal/grpchttp"
	spb "google.golang.org/genproto/googleapis/rpc/status"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

const unavailableMessage = "service temporarily unavailable; retry later"

// writeError maps ingest's gRPC status to the OTLP/HTTP answer. This is the
// one place the receiver turns gRPC codes into HTTP statuses.
func (h *Handler) writeError(w http.ResponseWriter, r *http.Request, enc *encoding, err error) {
	st := status.Convert(err)
	code, msg := st.Code(), st.Message()
	var httpStatus int
	switch code {
	case codes.InvalidArgument:
		httpStatus = http.StatusBadRequest
	case codes.Unauthenticated:
		httpStatus = http.StatusUnauthorized
	case codes.PermissionDenied:
		httpStatus = http.StatusForbidden
	case codes.ResourceExhausted:
		httpStatus = http.StatusTooManyRequests
		w.Header().Set("Retry-After", strconv.Itoa(grpchttp.RetryAfterSeconds(st)))
	case codes.Unavailable:
		// Often the gateway's own failure to reach ingest, whose message
		// names internal addresses: logged, not returned.
		h.cfg.Log.WarnContext(r.Context(), "backend unavailable", "err", msg, "route", r.URL.Path)
		httpStatus, msg = http.StatusServiceUnavailable, unavailableMessage
		w.Header().Set("Retry-After", strconv.Itoa(grpchttp.RetryAfterSeconds(st)))
	case codes.DeadlineExceeded:
		httpStatus, msg = http.StatusGatewayTimeout, "ingest did not answer in time; retry later"
	case codes.Canceled:
		httpStatus, msg = 499, "request canceled" // nginx's "client closed request"
	default:
		h.cfg.Log.ErrorContext(r.Context(), "otlp export failed", "code", code.String(), "err", msg)
		code, httpStatus, msg = codes.Internal, http.StatusInternalServerError, "internal error"
	}
	writeStatusCode(w, enc, httpStatus, code, msg)
}

// writeStatus answers a request refused before it reached ingest, with the
// gRPC code closest to the HTTP status.
func writeStatus(w http.ResponseWriter, enc *encoding, httpStatus int, msg string) {
	code := codes.InvalidArgument
	switch httpStatus {
	case http.StatusMethodNotAllowed:
		code = codes.Unimplemented
	case http.StatusInternalServerError:
		code = codes.Internal
	}
	writeStatusCode(w, enc, httpStatus, code, msg)
}

// writeStatusCode writes a google.rpc.Status body, as OTLP/HTTP requires
// for every error, in the request's encoding.
func writeStatusCode(w http.ResponseWriter, enc *encoding, httpStatus int, code codes.Code, msg string) {
	// Messages may quote client input; proto strings must be valid UTF-8.
	body, err := enc.encode(&spb.Status{Code: int32(code), Message: strings.ToValidUTF8(msg, "\uFFFD")})
	if err != nil { // a Status of a code and a valid string always encodes
		body = nil
	}
	w.Header().Set("Content-Type", enc.contentType)
	w.Header().Del("Content-Length")
	w.WriteHeader(httpStatus)
	_, _ = w.Write(body)
}
