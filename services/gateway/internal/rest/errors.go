package rest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"

	"github.com/agenttrace/agenttrace/services/gateway/internal/grpchttp"
	"github.com/grpc-ecosystem/grpc-gateway/v2/runtime"
	"google.golang.org/genproto/googleapis/rpc/code"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// errorBody is the one JSON shape of every error the REST API returns.
type errorBody struct {
	Error errorDetail `json:"error"`
}

type errorDetail struct {
	// Code is the gRPC code name (INVALID_ARGUMENT); HTTPStatus repeats the
	// response status so a logged body is self-explanatory.
	Code            string           `json:"code"`
	HTTPStatus      int              `json:"http_status"`
	Message         string           `json:"message"`
	FieldViolations []fieldViolation `json:"field_violations,omitempty"`
}

type fieldViolation struct {
	Field       string `json:"field"`
	Description string `json:"description"`
}

const unavailableMessage = "service temporarily unavailable; retry later"

// errorHandler maps every error of a routed call (from a backend, or from
// decoding the request) to an HTTP status and the JSON error body. It is
// the only place gRPC codes become HTTP statuses.
func errorHandler(log *slog.Logger) runtime.ErrorHandlerFunc {
	return func(ctx context.Context, _ *runtime.ServeMux, _ runtime.Marshaler, w http.ResponseWriter, r *http.Request, err error) {
		httpStatus := 0
		var custom *runtime.HTTPStatusError
		if errors.As(err, &custom) {
			httpStatus, err = custom.HTTPStatus, custom.Err
		}
		st, ok := status.FromError(err)
		if !ok {
			// Not from a backend: a gateway fault whose detail stays in the log.
			log.ErrorContext(ctx, "gateway error", "err", err, "route", routeOf(ctx))
			st = status.New(codes.Internal, "internal error")
		}
		if httpStatus == 0 {
			httpStatus = runtime.HTTPStatusFromCode(st.Code())
		}
		msg := st.Message()
		setRateLimitHeaders(ctx, w)
		switch st.Code() {
		case codes.Unavailable:
			// Mostly the gateway's own failure to reach a backend, whose
			// message names internal addresses: logged, not returned.
			log.WarnContext(ctx, "backend unavailable", "err", msg, "route", routeOf(ctx))
			msg = unavailableMessage
			w.Header().Set("Retry-After", "1")
		case codes.ResourceExhausted:
			w.Header().Set("Retry-After", strconv.Itoa(grpchttp.RetryAfterSeconds(st)))
		}
		writeError(w, httpStatus, errorDetail{
			Code:            code.Code(st.Code()).String(),
			HTTPStatus:      httpStatus,
			Message:         msg,
			FieldViolations: fieldViolations(st),
		})
	}
}

// routingErrorHandler answers requests that match no route (404), match a
// route with another method (405) or have an unusable path (400).
func routingErrorHandler(_ context.Context, _ *runtime.ServeMux, _ runtime.Marshaler, w http.ResponseWriter, r *http.Request, httpStatus int) {
	var msg string
	switch httpStatus {
	case http.StatusNotFound:
		msg = fmt.Sprintf("no route for %s %s", r.Method, r.URL.Path)
	case http.StatusMethodNotAllowed:
		msg = fmt.Sprintf("method %s is not allowed on %s", r.Method, r.URL.Path)
	default:
		msg = http.StatusText(httpStatus)
	}
	writeLocalError(w, r, httpStatus, msg)
}

// writeLocalError answers a request the gateway refuses before any backend
// sees it, in the same shape as a mapped gRPC error.
func writeLocalError(w http.ResponseWriter, _ *http.Request, httpStatus int, msg string) {
	writeError(w, httpStatus, errorDetail{
		Code:       code.Code(codeForStatus(httpStatus)).String(),
		HTTPStatus: httpStatus,
		Message:    msg,
	})
}

// codeForStatus names the gRPC code closest to a status the gateway itself
// produces, so clients can switch on one field for every error.
func codeForStatus(httpStatus int) codes.Code {
	switch httpStatus {
	case http.StatusNotFound:
		return codes.NotFound
	case http.StatusMethodNotAllowed:
		return codes.Unimplemented
	case http.StatusBadRequest, http.StatusRequestEntityTooLarge, http.StatusUnsupportedMediaType:
		return codes.InvalidArgument
	default:
		return codes.Unknown
	}
}

func writeError(w http.ResponseWriter, httpStatus int, d errorDetail) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Del("Content-Length")
	w.WriteHeader(httpStatus)
	_ = json.NewEncoder(w).Encode(errorBody{Error: d})
}

func fieldViolations(st *status.Status) []fieldViolation {
	var out []fieldViolation
	for _, d := range st.Details() {
		br, ok := d.(*errdetails.BadRequest)
		if !ok {
			continue
		}
		for _, v := range br.GetFieldViolations() {
			out = append(out, fieldViolation{Field: v.GetField(), Description: v.GetDescription()})
		}
	}
	return out
}
