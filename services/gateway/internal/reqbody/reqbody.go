// Package reqbody reads the gateway's request bodies: bounded as sent and
// once inflated, so a small gzip bomb is refused as soon as it expands past
// the limit, with sentinel errors each API turns into its own responses.
package reqbody

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
	// ErrTooLarge: the body, as sent or once inflated, is over the limit.
	ErrTooLarge = errors.New("request body too large")
	// ErrUnsupportedEncoding: a Content-Encoding other than gzip or identity.
	ErrUnsupportedEncoding = errors.New("unsupported Content-Encoding")
	// ErrBadGzip: the body does not inflate.
	ErrBadGzip = errors.New("malformed gzip body")
	// ErrRead: the client went away or stalled past the read timeout.
	ErrRead = errors.New("reading request body")
)

// Read reads src to the end and undoes encoding (a Content-Encoding value),
// holding both the body as sent and the inflated body to limit bytes. Wrap
// src in http.MaxBytesReader so the server also closes the connection
// instead of draining the rest of a huge body.
func Read(src io.Reader, encoding string, limit int64) ([]byte, error) {
	ce := strings.ToLower(strings.TrimSpace(encoding))
	if ce != "" && ce != "identity" && ce != "gzip" && ce != "x-gzip" {
		return nil, fmt.Errorf("%w %q: use gzip or none", ErrUnsupportedEncoding, encoding)
	}
	raw, err := readLimited(src, limit)
	if err != nil {
		return nil, err
	}
	if ce == "" || ce == "identity" {
		return raw, nil
	}
	zr, err := gzip.NewReader(bytes.NewReader(raw))
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrBadGzip, err)
	}
	defer zr.Close()
	body, err := readLimited(zr, limit)
	if err != nil && !errors.Is(err, ErrTooLarge) {
		return nil, fmt.Errorf("%w: %w", ErrBadGzip, err)
	}
	return body, err
}

// readLimited reads src to the end, failing with ErrTooLarge past limit.
func readLimited(src io.Reader, limit int64) ([]byte, error) {
	b, err := io.ReadAll(io.LimitReader(src, limit+1))
	var maxErr *http.MaxBytesError
	switch {
	case errors.As(err, &maxErr):
		return nil, fmt.Errorf("%w: the limit is %d bytes", ErrTooLarge, limit)
	case err != nil:
		return nil, fmt.Errorf("%w: %w", ErrRead, err)
	case int64(len(b)) > limit:
		return nil, fmt.Errorf("%w: the limit is %d bytes (after decompression)", ErrTooLarge, limit)
	}
	return b, nil
}

// FromRequest reads r's body, at most limit bytes as sent and as inflated,
// undoing its Content-Encoding. A declared Content-Length over the limit is
// refused before anything is read.
func FromRequest(w http.ResponseWriter, r *http.Request, limit int64) ([]byte, error) {
	if r.ContentLength > limit {
		return nil, fmt.Errorf("%w: %d bytes, the limit is %d", ErrTooLarge, r.ContentLength, limit)
	}
	return Read(http.MaxBytesReader(w, r.Body, limit), r.Header.Get("Content-Encoding"), limit)
}

// HTTPStatus is the HTTP status of a FromRequest (or Read) error.
func HTTPStatus(err error) int {
	switch {
	case errors.Is(err, ErrTooLarge):
		return http.StatusRequestEntityTooLarge
	case errors.Is(err, ErrUnsupportedEncoding):
		return http.StatusUnsupportedMediaType
	default: // a malformed gzip body, or the client went away or stalled
		return http.StatusBadRequest
	}
}
