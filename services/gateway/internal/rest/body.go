package rest

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
	// errBodyTooLarge: the body, as sent or once decompressed, is over the limit.
	errBodyTooLarge = errors.New("request body too large")
	// errUnsupportedEncoding: a Content-Encoding other than gzip or identity.
	errUnsupportedEncoding = errors.New("unsupported content encoding")
	// errBadEncoding: the body does not decode as its Content-Encoding says.
	errBadEncoding = errors.New("malformed gzip body")
)

// readBody reads a request body of at most limit bytes and undoes its
// Content-Encoding; the decoded body is held to the same limit, so a small
// gzip bomb is refused as soon as it expands past it.
func readBody(body io.Reader, encoding string, limit int64) ([]byte, error) {
	raw, err := readLimited(body, limit)
	if err != nil {
		return nil, err
	}
	switch strings.ToLower(strings.TrimSpace(encoding)) {
	case "", "identity":
		return raw, nil
	case "gzip", "x-gzip":
		zr, err := gzip.NewReader(bytes.NewReader(raw))
		if err != nil {
			return nil, fmt.Errorf("%w: %v", errBadEncoding, err)
		}
		defer zr.Close()
		out, err := readLimited(zr, limit)
		if err != nil && !errors.Is(err, errBodyTooLarge) {
			return nil, fmt.Errorf("%w: %v", errBadEncoding, err)
		}
		return out, err
	default:
		return nil, fmt.Errorf("%w %q: use gzip or none", errUnsupportedEncoding, encoding)
	}
}

// readLimited reads r to the end, failing with errBodyTooLarge past limit.
func readLimited(r io.Reader, limit int64) ([]byte, error) {
	b, err := io.ReadAll(io.LimitReader(r, limit+1))
	var maxErr *http.MaxBytesError
	switch {
	case errors.As(err, &maxErr):
		return nil, errBodyTooLarge
	case err != nil:
		return nil, err
	case int64(len(b)) > limit:
		return nil, errBodyTooLarge
	}
	return b, nil
}

// limitBody reads the whole request body before it is routed and decoded,
// so an oversized body is answered 413 rather than surfacing later as a
// JSON syntax error, and a gzip body reaches the decoder already inflated.
func limitBody(limit int64, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.ContentLength > limit {
			writeLocalError(w, r, http.StatusRequestEntityTooLarge, tooLargeMessage(limit))
			return
		}
		if r.Body == nil || r.Body == http.NoBody {
			next.ServeHTTP(w, r)
			return
		}
		// MaxBytesReader, unlike a plain limit, also tells the server to
		// close the connection instead of draining the rest of a huge body.
		body, err := readBody(http.MaxBytesReader(w, r.Body, limit), r.Header.Get("Content-Encoding"), limit)
		switch {
		case errors.Is(err, errBodyTooLarge):
			writeLocalError(w, r, http.StatusRequestEntityTooLarge, tooLargeMessage(limit))
			return
		case errors.Is(err, errUnsupportedEncoding):
			writeLocalError(w, r, http.StatusUnsupportedMediaType, err.Error())
			return
		case errors.Is(err, errBadEncoding):
			writeLocalError(w, r, http.StatusBadRequest, err.Error())
			return
		case err != nil:
			// The client went away or stalled past the read timeout.
			writeLocalError(w, r, http.StatusBadRequest, "reading request body: "+err.Error())
			return
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
		r.ContentLength = int64(len(body))
		r.Header.Del("Content-Encoding")
		r.Header.Del("Content-Length")
		next.ServeHTTP(w, r)
	})
}

func tooLargeMessage(limit int64) string {
	return fmt.Sprintf("request body exceeds the limit of %d bytes (after decompression)", limit)
}
