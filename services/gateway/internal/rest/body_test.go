package rest

import (
	"bytes"
	"compress/gzip"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"

	ingestv1 "github.com/agenttrace/agenttrace/pkg/gen/agenttrace/ingest/v1"
)

func gzipped(t testing.TB, b []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	if _, err := zw.Write(b); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// batchOfSize is an ingestion body of exactly n bytes (n >= 60).
func batchOfSize(n int) []byte {
	const head, tail = `{"batch":[{"id":"e1","trace":{"id":"t1","name":"`, `"}}]}`
	return []byte(head + strings.Repeat("a", n-len(head)-len(tail)) + tail)
}

// chunked hides a reader's length so the client sends it chunked, without Content-Length.
type chunked struct{ io.Reader }

func TestBodyLimits(t *testing.T) {
	bomb := gzipped(t, bytes.Repeat([]byte(" "), 100*testLimit)) // ~6 KiB that inflates to 6.4 MiB
	if len(bomb) >= testLimit {
		t.Fatalf("bomb of %d bytes is not small", len(bomb))
	}
	tests := []struct {
		name       string
		body       func() io.Reader
		header     map[string]string
		wantStatus int
		wantCode   string
		wantMsg    string
		wantEvents int // events the backend received; -1: it was not called
	}{
		{
			name:       "at the limit",
			body:       func() io.Reader { return bytes.NewReader(batchOfSize(testLimit)) },
			wantStatus: http.StatusOK, wantEvents: 1,
		},
		{
			name:       "over the limit by Content-Length",
			body:       func() io.Reader { return bytes.NewReader(batchOfSize(testLimit + 1)) },
			wantStatus: http.StatusRequestEntityTooLarge, wantCode: "INVALID_ARGUMENT", wantMsg: "exceeds the limit of 65536 bytes",
			wantEvents: -1,
		},
		{
			name:       "chunked at the limit",
			body:       func() io.Reader { return chunked{bytes.NewReader(batchOfSize(testLimit))} },
			wantStatus: http.StatusOK, wantEvents: 1,
		},
		{
			name:       "chunked over the limit",
			body:       func() io.Reader { return chunked{bytes.NewReader(batchOfSize(3 * testLimit))} },
			wantStatus: http.StatusRequestEntityTooLarge, wantCode: "INVALID_ARGUMENT", wantMsg: "exceeds the limit",
			wantEvents: -1,
		},
		{
			name:       "gzip",
			body:       func() io.Reader { return bytes.NewReader(gzipped(t, batchOfSize(testLimit))) },
			header:     map[string]string{"Content-Encoding": "gzip"},
			wantStatus: http.StatusOK, wantEvents: 1,
		},
		{
			name:       "gzip bomb",
			body:       func() io.Reader { return bytes.NewReader(bomb) },
			header:     map[string]string{"Content-Encoding": "gzip"},
			wantStatus: http.StatusRequestEntityTooLarge, wantCode: "INVALID_ARGUMENT", wantMsg: "after decompression",
			wantEvents: -1,
		},
		{
			name:       "chunked gzip bomb",
			body:       func() io.Reader { return chunked{bytes.NewReader(bomb)} },
			header:     map[string]string{"Content-Encoding": "gzip"},
			wantStatus: http.StatusRequestEntityTooLarge, wantCode: "INVALID_ARGUMENT", wantMsg: "exceeds the limit",
			wantEvents: -1,
		},
		{
			name:       "not gzip",
			body:       func() io.Reader { return strings.NewReader(`{"batch":[]}`) },
			header:     map[string]string{"Content-Encoding": "gzip"},
			wantStatus: http.StatusBadRequest, wantCode: "INVALID_ARGUMENT", wantMsg: "malformed gzip body",
			wantEvents: -1,
		},
		{
			name:       "truncated gzip",
			body:       func() io.Reader { g := gzipped(t, batchOfSize(1000)); return bytes.NewReader(g[:len(g)/2]) },
			header:     map[string]string{"Content-Encoding": "gzip"},
			wantStatus: http.StatusBadRequest, wantCode: "INVALID_ARGUMENT", wantMsg: "malformed gzip body",
			wantEvents: -1,
		},
		{
			name:       "unsupported encoding",
			body:       func() io.Reader { return strings.NewReader(`{"batch":[]}`) },
			header:     map[string]string{"Content-Encoding": "br"},
			wantStatus: http.StatusUnsupportedMediaType, wantCode: "INVALID_ARGUMENT", wantMsg: `unsupported content encoding "br"`,
			wantEvents: -1,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t)
			r := h.do(t, "POST", "/api/v1/ingestion", tt.body(), tt.header)
			if r.status != tt.wantStatus {
				t.Fatalf("status %d, want %d: %.300s", r.status, tt.wantStatus, r.body)
			}
			if tt.wantCode != "" {
				e := apiError(t, r)
				if e.Code != tt.wantCode || !strings.Contains(e.Message, tt.wantMsg) {
					t.Errorf("error %+v, want %s %q", e, tt.wantCode, tt.wantMsg)
				}
			}
			if tt.wantEvents < 0 {
				if n := h.backend.count(); n != 0 {
					t.Errorf("backend called %d times for a refused body", n)
				}
				return
			}
			req := h.backend.last(t).req.(*ingestv1.IngestBatchRequest)
			if len(req.GetBatch()) != tt.wantEvents {
				t.Errorf("backend got %d events, want %d", len(req.GetBatch()), tt.wantEvents)
			}
		})
	}
}

// FuzzDecodeJSON: the request decoder accepts or rejects any bytes with an
// error that names the body, never panicking.
func FuzzDecodeJSON(f *testing.F) {
	m := newJSONMarshaler()
	f.Add([]byte(`{"batch":[{"id":"e1","type":"EVENT_TYPE_TRACE_CREATE","trace":{"id":"t"}}]}`))
	f.Add([]byte(`{"batch":[{"type":3,"observation":{"start_time":"2025-01-01T00:00:00.123456789Z","input":{"a":[1,null]}}}]}`))
	f.Add([]byte(`{"batch":[]} trailing`))
	f.Add([]byte(`{"batch":[`))
	f.Add([]byte(`  `))
	f.Add([]byte(`{"unknown":{"deep":[1,2,{"x":null}]}}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		var req ingestv1.IngestBatchRequest
		err := m.NewDecoder(bytes.NewReader(data)).Decode(&req)
		switch {
		case err == nil, errors.Is(err, io.EOF):
		case !strings.HasPrefix(err.Error(), "malformed JSON body: "):
			t.Fatalf("error does not name the body: %v", err)
		}
	})
}
