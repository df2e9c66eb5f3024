package otlphttp

import (
	"errors"
	"fmt"
	"net/http"

	"github.com/agenttrace/agenttrace/services/gateway/internal/reqbody"
)

// readBody reads r's body, at most limit bytes as sent and as inflated.
func readBody(w http.ResponseWriter, r *http.Request, limit int64) ([]byte, error) {
	if r.ContentLength > limit {
		return nil, fmt.Errorf("%w: %d bytes, the limit is %d", reqbody.ErrTooLarge, r.ContentLength, limit)
	}
	return reqbody.Read(http.MaxBytesReader(w, r.Body, limit), r.Header.Get("Content-Encoding"), limit)
}

// bodyErrorStatus is the HTTP status of a readBody error.
func bodyErrorStatus(err error) int {
	switch {
	case errors.Is(err, reqbody.ErrTooLarge):
		return http.StatusRequestEntityTooLarge
	case errors.Is(err, reqbody.ErrUnsupportedEncoding):
		return http.StatusUnsupportedMediaType
	default: // a malformed gzip body, or the client went away or stalled
		return http.StatusBadRequest
	}
}
