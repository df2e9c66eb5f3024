package langfuse

import (
	"encoding/json"
	"log/slog"
	"net/http"
	"strings"

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

// writeBackendError answers a backend's gRPC error in Langfuse's error
// shape (grpchttp.AnswerFor maps it).
func writeBackendError(w http.ResponseWriter, r *http.Request, log *slog.Logger, err error) {
	a := grpchttp.AnswerFor(w, r, log, err)
	writeMessage(w, a.HTTPStatus, a.Message)
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
