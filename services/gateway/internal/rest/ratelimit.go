package rest

import (
	"context"
	"net/http"

	"github.com/grpc-ecosystem/grpc-gateway/v2/runtime"
)

// rateLimitHeaders are the response header metadata the backends' rate
// limiter sends on allowed and refused calls alike, and the HTTP headers
// they become.
var rateLimitHeaders = map[string]string{
	"x-ratelimit-limit":     "X-RateLimit-Limit",
	"x-ratelimit-remaining": "X-RateLimit-Remaining",
	"x-ratelimit-reset":     "X-RateLimit-Reset",
}

// outgoingHeaderMatcher decides which backend header metadata reach the
// HTTP response of a successful call. Rate limit metadata keeps its
// conventional header name; retry-after is left to the error handler, which
// derives Retry-After from the status's RetryInfo; the rest keeps
// grpc-gateway's default Grpc-Metadata- prefix.
func outgoingHeaderMatcher(key string) (string, bool) {
	if h, ok := rateLimitHeaders[key]; ok {
		return h, true
	}
	if key == "retry-after" {
		return "", false
	}
	return runtime.MetadataHeaderPrefix + key, true
}

// setRateLimitHeaders copies the rate limit metadata of a failed call to
// its error response: grpc-gateway's forwarding of header metadata only
// runs for successful calls.
func setRateLimitHeaders(ctx context.Context, w http.ResponseWriter) {
	md, ok := runtime.ServerMetadataFromContext(ctx)
	if !ok {
		return
	}
	for key, h := range rateLimitHeaders {
		if vs := md.HeaderMD.Get(key); len(vs) > 0 {
			w.Header().Set(h, vs[0])
		}
	}
}
