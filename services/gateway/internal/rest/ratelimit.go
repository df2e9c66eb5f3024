package rest

import (
	"context"
	"net/http"

	"github.com/agenttrace/agenttrace/services/gateway/internal/grpchttp"
	"github.com/grpc-ecosystem/grpc-gateway/v2/runtime"
)

// outgoingHeaderMatcher decides which backend header metadata reach the
// HTTP response of a successful call. Rate limit metadata keeps its
// conventional header name; retry-after is left to the error handler, which
// derives Retry-After from the status's RetryInfo; the rest keeps
// grpc-gateway's default Grpc-Metadata- prefix.
func outgoingHeaderMatcher(key string) (string, bool) {
	if h, ok := grpchttp.RateLimitHeaders[key]; ok {
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
	grpchttp.CopyRateLimitHeaders(w, md.HeaderMD)
}
