package rest

import (
	"bytes"
	"compress/gzip"
	"errors"
	"fmt"
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

func TestReadBody(t *testing.T) {
	const limit = 100
	tests := []struct {
		name     string
		body     []byte
		encoding string
		want     []byte
		wantErr  error
	}{
		{"plain", []byte("hello"), "", []byte("hello"), nil},
		{"identity", []byte("hello"), "identity", []byte("hello"), nil},
		{"empty", nil, "", []byte{}, nil},
		{"exactly the limit", bytes.Repeat([]byte("x"), limit), "", bytes.Repeat([]byte("x"), limit), nil},
		{"one over", bytes.Repeat([]byte("x"), limit+1), "", nil, errBodyTooLarge},
		{"gzip", gzipped(t, []byte("hello")), "gzip", []byte("hello"), nil},
		{"x-gzip in capitals", gzipped(t, []byte("hello")), " X-GZIP ", []byte("hello"), nil},
		{"two gzip members", append(gzipped(t, []byte("hel")), gzipped(t, []byte("lo"))...), "gzip", []byte("hello"), nil},
		{"gzip inflating past the limit", gzipped(t, bytes.Repeat([]byte("x"), limit+1)), "gzip", nil, errBodyTooLarge},
		{"gzip of nothing", gzipped(t, nil), "gzip", []byte{}, nil},
		{"empty gzip body", nil, "gzip", nil, errBadEncoding},
		{"gzip with trailing junk", append(gzipped(t, []byte("hi")), 'j'), "gzip", nil, errBadEncoding},
		{"deflate", []byte("x"), "deflate", nil, errUnsupportedEncoding},
		{"stacked encodings", []byte("x"), "gzip, gzip", nil, errUnsupportedEncoding},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := readBody(bytes.NewReader(tt.body), tt.encoding, limit)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("err %v, want %v", err, tt.wantErr)
			}
			if tt.wantErr == nil && !bytes.Equal(got, tt.want) {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}

type failingReader struct{}

func (failingReader) Read([]byte) (int, error) { return 0, errors.New("connection reset") }

func TestReadBodyPassesReadErrorsOn(t *testing.T) {
	_, err := readBody(failingReader{}, "", 10)
	if err == nil || errors.Is(err, errBodyTooLarge) || !strings.Contains(err.Error(), "connection reset") {
		t.Errorf("got %v", err)
	}
	_, err = readBody(http.MaxBytesReader(nil, io.NopCloser(strings.NewReader("12345")), 3), "", 10)
	if !errors.Is(err, errBodyTooLarge) {
		t.Errorf("MaxBytesError became %v, want errBodyTooLarge", err)
	}
}

// FuzzReadBody: whatever the bytes and encoding, readBody returns at most
// limit bytes or one of its errors, and never panics.
func FuzzReadBody(f *testing.F) {
	const limit = 1 << 10
	f.Add([]byte(`{"batch":[]}`), "")
	f.Add(gzipped(f, []byte(`{"batch":[]}`)), "gzip")
	f.Add(gzipped(f, bytes.Repeat([]byte("a"), 4*limit)), "gzip")
	f.Add(gzipped(f, nil)[:10], "gzip")
	f.Add([]byte{0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff}, "x-gzip")
	f.Add([]byte("abc"), "br")
	f.Fuzz(func(t *testing.T, body []byte, encoding string) {
		out, err := readBody(bytes.NewReader(body), encoding, limit)
		if err != nil {
			if !errors.Is(err, errBodyTooLarge) && !errors.Is(err, errBadEncoding) && !errors.Is(err, errUnsupportedEncoding) {
				t.Fatalf("unexpected error kind: %v", err)
			}
			return
		}
		if len(out) > limit {
			t.Fatalf("returned %d bytes over the limit of %d", len(out), limit)
		}
		if e := strings.ToLower(strings.TrimSpace(encoding)); (e == "" || e == "identity") && !bytes.Equal(out, body) {
			t.Fatal(fmt.Sprintf("identity body changed: %q -> %q", body, out))
		}
	})
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
