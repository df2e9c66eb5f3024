package langfuse

import (
	"encoding/json"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"strings"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"github.com/agenttrace/agenttrace/pkg/authn"
	"github.com/agenttrace/agenttrace/services/gateway/internal/grpchttp"
)

// errorBody is Langfuse's error shape: {"message": ..., "error": ...}, with
// error naming the kind (Langfuse sends its error class name there).
type errorBody struct {
	Message string `json:"message"`
	Error   string `json:"error,omitempty"`
}

func writeJSON(w http.ResponseWriter, httpStatus int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Del("Content-Length")
	w.WriteHeader(httpStatus)
	_ = json.NewEncoder(w).Encode(v)
}

// writeMessage answers with Langfuse's error shape.
func writeMessage(w http.ResponseWriter, httpStatus int, msg string) {
	writeJSON(w, httpStatus, errorBody{Message: strings.ToValidUTF8(msg, "\uFFFD"), Error: errorName(httpStatus)})
}

// errorName is the error class Langfuse's server names for a status.
func errorName(httpStatus int) string {
	switch httpStatus {
	case http.StatusBadRequest:
		return "InvalidRequestError"
	case http.StatusUnauthorized:
		return "UnauthorizedError"
	case http.StatusForbidden:
		return "ForbiddenError"
	case http.StatusNotFound:
		return "LangfuseNotFoundError"
	case http.StatusMethodNotAllowed:
		return "MethodNotAllowedError"
	}
	return http.StatusText(httpStatus)
}

func methodNotAllowed(w http.ResponseWriter, allow ...string) {
	w.Header().Set("Allow", strings.Join(allow, ", "))
	writeMessage(w, http.StatusMethodNotAllowed, "Method not allowed")
}

const unavailableMessage = "service temporarily unavailable; retry later"

// writeBackendError maps a backend's gRPC error to Langfuse's error shape.
// It is the one place this package turns gRPC codes into HTTP statuses.
// Statuses the SDKs retry (429, 5xx) carry Retry-After.
func writeBackendError(w http.ResponseWriter, r *http.Request, log *slog.Logger, err error) {
	st := status.Convert(err)
	msg := st.Message()
	var httpStatus int
	switch st.Code() {
	case codes.InvalidArgument:
		httpStatus = http.StatusBadRequest
	case codes.Unauthenticated:
		httpStatus = http.StatusUnauthorized
	case codes.PermissionDenied:
		httpStatus = http.StatusForbidden
	case codes.NotFound:
		httpStatus = http.StatusNotFound
	case codes.ResourceExhausted:
		httpStatus = http.StatusTooManyRequests
		w.Header().Set("Retry-After", strconv.Itoa(grpchttp.RetryAfterSeconds(st)))
	case codes.Unavailable:
		// Often the gateway's own failure to reach a backend, whose message
		// names internal addresses: logged, not returned.
		log.WarnContext(r.Context(), "backend unavailable", "err", msg, "route", r.URL.Path)
		httpStatus, msg = http.StatusServiceUnavailable, unavailableMessage
		w.Header().Set("Retry-After", strconv.Itoa(grpchttp.RetryAfterSeconds(st)))
	case codes.DeadlineExceeded:
		httpStatus, msg = http.StatusGatewayTimeout, "the backend did not answer in time; retry later"
	case codes.Canceled:
		httpStatus, msg = 499, "request canceled" // nginx's "client closed request"
	default:
		log.ErrorContext(r.Context(), "langfuse route failed", "code", st.Code().String(), "err", msg, "route", r.URL.Path)
		httpStatus, msg = http.StatusInternalServerError, "internal error"
	}
	writeMessage(w, httpStatus, msg)
}

// outgoingMetadata is what the backends learn about the HTTP request: the
// credentials and the project a user names (authn decides), the request id
// and the client address, as the REST routes forward them. The SDK's
// X-Langfuse-* headers are not forwarded: the public key they repeat is
// already in Authorization, and nothing downstream reads them.
func outgoingMetadata(r *http.Request) metadata.MD {
	md := metadata.MD{}
	if v := r.Header.Get("Authorization"); v != "" {
		md.Set("authorization", v)
	}
	if v := r.Header.Get(authn.ProjectHeader); v != "" {
		md.Set(authn.ProjectHeader, v)
	}
	if v := r.Header.Get("X-Request-Id"); v != "" {
		md.Set("x-request-id", v)
	}
	if host, _, err := net.SplitHostPort(r.RemoteAddr); err == nil {
		xff := host
		if prior := r.Header.Get("X-Forwarded-For"); prior != "" {
			xff = prior + ", " + host
		}
		md.Set("x-forwarded-for", xff)
	}
	return md
}

// sdkAttrs are the SDK's self-description for logs, kept short and
// printable since they are client input.
func sdkAttrs(r *http.Request) []any {
	return []any{
		"sdk_name", printable(r.Header.Get("X-Langfuse-Sdk-Name")),
		"sdk_version", printable(r.Header.Get("X-Langfuse-Sdk-Version")),
	}
}

func printable(s string) string {
	if len(s) > 64 {
		s = s[:64]
	}
	return strings.Map(func(r rune) rune {
		if r < 0x20 || r > 0x7e {
			return -1
		}
		return r
	}, s)
}
