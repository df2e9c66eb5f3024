package rest

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/http"

	"github.com/agenttrace/agenttrace/services/gateway/internal/reqbody"
)

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
		encoding := r.Header.Get("Content-Encoding")
		body, err := reqbody.Read(http.MaxBytesReader(w, r.Body, limit), encoding, limit)
		switch {
		case errors.Is(err, reqbody.ErrTooLarge):
			writeLocalError(w, r, http.StatusRequestEntityTooLarge, tooLargeMessage(limit))
			return
		case errors.Is(err, reqbody.ErrUnsupportedEncoding):
			writeLocalError(w, r, http.StatusUnsupportedMediaType, fmt.Sprintf("unsupported content encoding %q: use gzip or none", encoding))
			return
		case err != nil: // a malformed gzip body, or the client went away or stalled
			writeLocalError(w, r, http.StatusBadRequest, err.Error())
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
