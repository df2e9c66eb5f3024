// Package grpchttp holds the gateway's conventions between HTTP and the
// backends' gRPC that its routes share: the rate limit headers and
// Retry-After (every route), and, for the routes that call a backend
// themselves rather than through grpc-gateway (OTLP/HTTP, Langfuse's API),
// the metadata a call carries and the HTTP answer to its error.
package grpchttp

import (
	"log/slog"
	"math"
	"net"
	"net/http"
	"strconv"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"github.com/agenttrace/agenttrace/pkg/authn"
)

// RateLimitHeaders are the response header metadata the backends' rate
// limiter sends on allowed and refused calls alike, and the HTTP headers
// they become.
var RateLimitHeaders = map[string]string{
	"x-ratelimit-limit":     "X-RateLimit-Limit",
	"x-ratelimit-remaining": "X-RateLimit-Remaining",
	"x-ratelimit-reset":     "X-RateLimit-Reset",
}

// CopyRateLimitHeaders sets w's rate limit headers from a call's header
// metadata.
func CopyRateLimitHeaders(w http.ResponseWriter, md metadata.MD) {
	for key, h := range RateLimitHeaders {
		if vs := md.Get(key); len(vs) > 0 {
			w.Header().Set(h, vs[0])
		}
	}
}

// RetryAfterSeconds honours a RetryInfo detail (rounded up to whole
// seconds, as Retry-After requires) and defaults to one second.
func RetryAfterSeconds(st *status.Status) int {
	for _, d := range st.Details() {
		ri, ok := d.(*errdetails.RetryInfo)
		if !ok || ri.GetRetryDelay() == nil {
			continue
		}
		secs := math.Ceil(ri.GetRetryDelay().AsDuration().Seconds())
		if secs >= 1 && secs <= math.MaxInt32 {
			return int(secs)
		}
	}
	return 1
}

// OutgoingMetadata is what a backend learns about an HTTP request, as
// grpc-gateway forwards it for the REST routes: the credentials and the
// project a user names (authn decides), the request id and the client
// address appended to X-Forwarded-For.
func OutgoingMetadata(r *http.Request) metadata.MD {
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

// UnavailableMessage is told in place of an UNAVAILABLE error's own
// message, which often names internal addresses.
const UnavailableMessage = "service temporarily unavailable; retry later"

// Answer is the HTTP side of a backend call's error.
type Answer struct {
	Code       codes.Code // Internal for codes the API does not expose
	HTTPStatus int
	Message    string // safe to return to the client
}

// AnswerFor maps a backend call's error to its HTTP answer, for the routes
// that write their own error bodies (grpc-gateway's routes have the REST
// error handler). Statuses clients retry (429, 503) get Retry-After on w.
// What the client is not told (an unavailable backend's address, an
// internal error's detail) is logged with the route.
func AnswerFor(w http.ResponseWriter, r *http.Request, log *slog.Logger, err error) Answer {
	st := status.Convert(err)
	a := Answer{Code: st.Code(), Message: st.Message()}
	switch st.Code() {
	case codes.InvalidArgument:
		a.HTTPStatus = http.StatusBadRequest
	case codes.Unauthenticated:
		a.HTTPStatus = http.StatusUnauthorized
	case codes.PermissionDenied:
		a.HTTPStatus = http.StatusForbidden
	case codes.NotFound:
		a.HTTPStatus = http.StatusNotFound
	case codes.ResourceExhausted:
		a.HTTPStatus = http.StatusTooManyRequests
		w.Header().Set("Retry-After", strconv.Itoa(RetryAfterSeconds(st)))
	case codes.Unavailable:
		log.WarnContext(r.Context(), "backend unavailable", "err", a.Message, "route", r.URL.Path)
		a.HTTPStatus, a.Message = http.StatusServiceUnavailable, UnavailableMessage
		w.Header().Set("Retry-After", strconv.Itoa(RetryAfterSeconds(st)))
	case codes.DeadlineExceeded:
		a.HTTPStatus, a.Message = http.StatusGatewayTimeout, "the backend did not answer in time; retry later"
	case codes.Canceled:
		a.HTTPStatus, a.Message = 499, "request canceled" // nginx's "client closed request"
	default:
		log.ErrorContext(r.Context(), "backend call failed", "code", st.Code().String(), "err", a.Message, "route", r.URL.Path)
		a.Code, a.HTTPStatus, a.Message = codes.Internal, http.StatusInternalServerError, "internal error"
	}
	return a
}
