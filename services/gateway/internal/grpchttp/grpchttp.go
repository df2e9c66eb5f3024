// Package grpchttp holds the gateway's conventions for turning a backend's
// gRPC answer into HTTP that the REST and OTLP/HTTP routes share: the rate
// limit headers and Retry-After.
package grpchttp

import (
	"math"
	"net/http"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
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
