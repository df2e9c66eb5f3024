package reqbody

import (
	"bytes"
	"compress/gzip"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
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

func TestRead(t *testing.T) {
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
		{"one over", bytes.Repeat([]byte("x"), limit+1), "", nil, ErrTooLarge},
		{"gzip", gzipped(t, []byte("hello")), "gzip", []byte("hello"), nil},
		{"x-gzip in capitals", gzipped(t, []byte("hello")), " X-GZIP ", []byte("hello"), nil},
		{"two gzip members", append(gzipped(t, []byte("hel")), gzipped(t, []byte("lo"))...), "gzip", []byte("hello"), nil},
		{"gzip inflating past the limit", gzipped(t, bytes.Repeat([]byte("x"), limit+1)), "gzip", nil, ErrTooLarge},
		{"gzip of nothing", gzipped(t, nil), "gzip", []byte{}, nil},
		{"empty gzip body", nil, "gzip", nil, ErrBadGzip},
		{"gzip with trailing junk", append(gzipped(t, []byte("hi")), 'j'), "gzip", nil, ErrBadGzip},
		{"deflate", []byte("x"), "deflate", nil, ErrUnsupportedEncoding},
		{"stacked encodings", []byte("x"), "gzip, gzip", nil, ErrUnsupportedEncoding},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Read(bytes.NewReader(tt.body), tt.encoding, limit)
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

func TestReadPassesReadErrorsOn(t *testing.T) {
	_, err := Read(failingReader{}, "", 10)
	if err == nil || errors.Is(err, ErrTooLarge) || !strings.Contains(err.Error(), "connection reset") {
		t.Errorf("got %v", err)
	}
	_, err = Read(http.MaxBytesReader(nil, io.NopCloser(strings.NewReader("12345")), 3), "", 10)
	if !errors.Is(err, ErrTooLarge) {
		t.Errorf("MaxBytesError became %v, want ErrTooLarge", err)
	}
}

// FuzzReadBody: whatever the bytes and encoding, readBody returns at most
// limit bytes or one of its errors, and never panics.
func FuzzRead(f *testing.F) {
	const limit = 1 << 10
	f.Add([]byte(`{"batch":[]}`), "")
	f.Add(gzipped(f, []byte(`{"batch":[]}`)), "gzip")
	f.Add(gzipped(f, bytes.Repeat([]byte("a"), 4*limit)), "gzip")
	f.Add(gzipped(f, nil)[:10], "gzip")
	f.Add([]byte{0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff}, "x-gzip")
	f.Add([]byte("abc"), "br")
	f.Fuzz(func(t *testing.T, body []byte, encoding string) {
		out, err := Read(bytes.NewReader(body), encoding, limit)
		if err != nil {
			if !errors.Is(err, ErrTooLarge) && !errors.Is(err, ErrBadGzip) && !errors.Is(err, ErrUnsupportedEncoding) {
				t.Fatalf("unexpected error kind: %v", err)
			}
			return
		}
		if len(out) > limit {
			t.Fatalf("returned %d bytes over the limit of %d", len(out), limit)
		}
		if e := strings.ToLower(strings.TrimSpace(encoding)); (e == "" || e == "identity") && !bytes.Equal(out, body) {
			t.Fatalf("identity body changed: %q -> %q", body, out)
		}
	})
}

func TestFromRequestAndHTTPStatus(t *testing.T) {
	tests := []struct {
		name       string
		body       string
		length     int64 // declared Content-Length; -1 unknown
		encoding   string
		want       string
		httpStatus int // of the error; 0 when none
	}{
		{"plain", "hello", 5, "", "hello", 0},
		{"declared too large", "hello", 1 << 20, "", "", http.StatusRequestEntityTooLarge},
		{"sent too large", strings.Repeat("x", 20), -1, "", "", http.StatusRequestEntityTooLarge},
		{"unknown encoding", "hello", 5, "br", "", http.StatusUnsupportedMediaType},
		{"bad gzip", "hello", 5, "gzip", "", http.StatusBadRequest},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest(http.MethodPost, "/", strings.NewReader(tt.body))
			r.ContentLength = tt.length
			r.Header.Set("Content-Encoding", tt.encoding)
			got, err := FromRequest(httptest.NewRecorder(), r, 10)
			if tt.httpStatus == 0 {
				if err != nil || string(got) != tt.want {
					t.Fatalf("got %q, %v; want %q", got, err, tt.want)
				}
				return
			}
			if err == nil {
				t.Fatalf("no error, want HTTP %d", tt.httpStatus)
			}
			if s := HTTPStatus(err); s != tt.httpStatus {
				t.Errorf("HTTPStatus(%v) = %d, want %d", err, s, tt.httpStatus)
			}
		})
	}
}
