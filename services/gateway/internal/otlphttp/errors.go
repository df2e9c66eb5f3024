package otlphttp

import (
	"net/http"
	"strings"

	"github.com/agenttrace/agenttrace/services/gateway/internal/grpchttp"
	spb "google.golang.org/genproto/googleapis/rpc/status"
	"google.golang.org/grpc/codes"
)

// writeError answers ingest's gRPC error as OTLP/HTTP asks: the status
// grpchttp.AnswerFor maps it to, with a google.rpc.Status body.
func (h *Handler) writeError(w http.ResponseWriter, r *http.Request, enc *encoding, err error) {
	a := grpchttp.AnswerFor(w, r, h.cfg.Log, err)
	writeStatusCode(w, enc, a.HTTPStatus, a.Code, a.Message)
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
