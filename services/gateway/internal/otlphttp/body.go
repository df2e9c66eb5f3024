package otlphttp

import (
	"bytes"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
)

var (
	// errTooLarge: the body, as sent or inflated, is over the limit.
	errTooLarge = errors.New("request body too large")
	// errEncoding: a Content-Encoding other than gzip or identity.
	errEncoding = errors.New("unsupported Content-Encoding")
	// errBadGzip: the body does not inflate.
	errBadGzip = errors.New("malformed gzip body")
	// errRead: the client went away or stalled past the read timeout.
	errRead = errors.New("reading request body")
)

// readBody reads r's body, at most limit bytes as sent and as inflated,
// so a small gzip bomb fails as soon as it expands past the limit.
func readBody(w http.ResponseWriter, r *http.Request, limit int64) ([]byte, error) {
	if r.ContentLength > limit {
		return nil, fmt.Errorf("%w: %d bytes, the limit is %d", errTooLarge, r.ContentLength, limit)
	}
	ce := strings.ToLower(strings.TrimSpace(r.Header.Get("Content-Encoding")))
	if ce != "" && ce != "identity" && ce != "gzip" && ce != "x-gzip" {
		return nil, fmt.Errorf("%w %q: use gzip or none", errEncoding, r.Header.Get("Content-Encoding"))
	}
	// MaxBytesReader also tells the server to close the connection rather
	// than drain the rest of a huge body.
	raw, err := readLimited(http.MaxBytesReader(w, r.Body, limit), limit)
	if err != nil {
		return nil, err
	}
	if ce == "" || ce == "identity" {
		return raw, nil
	}
	zr, err := gzip.NewReader(bytes.NewReader(raw))
	if err != nil {
		return nil, fmt.Errorf("%w: %v", errBadGzip, err)
	}
	defer zr.Close()
	body, err := readLimited(zr, limit)
	if err != nil && !errors.Is(err, errTooLarge) {
		return nil, fmt.Errorf("%w: %v", errBadGzip, err)
	}
	return body, err
}

// readLimited reads src to the end, failing with errTooLarge past limit.
func readLimited(src io.Reader, limit int64) ([]byte, error) {
	b, err := io.ReadAll(io.LimitReader(src, limit+1))
	var maxErr *http.MaxBytesError
	switch {
	case errors.As(err, &maxErr):
		return nil, fmt.Errorf("%w: the limit is %d bytes", errTooLarge, limit)
	case err != nil:
		return nil, fmt.Errorf("%w: %w", errRead, err)
	case int64(len(b)) > limit:
		return nil, fmt.Errorf("%w: the limit is %d bytes (after decompression)", errTooLarge, limit)
	}
	return b, nil
}

// bodyErrorStatus is the HTTP status of a readBody error.
func bodyErrorStatus(err error) int {
	switch {
	case errors.Is(err, errTooLarge):
		return http.StatusRequestEntityTooLarge
	case errors.Is(err, errEncoding):
		return http.StatusUnsupportedMediaType
	default: // errBadGzip, errRead
		return http.StatusBadRequest
	}
}
