package rest

import (
	"bytes"
	"compress/gzip"
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
)

func TestRawRoutesGetTheBodyUnread(t *testing.T) {
	type seen struct {
		body     []byte
		encoding string
		route    string
	}
	var got seen
	raw := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, err := io.ReadAll(r.Body)
		if err != nil {
			t.Error(err)
		}
		got = seen{b, r.Header.Get("Content-Encoding"), routeOf(r.Context())}
		w.WriteHeader(http.StatusAccepted)
	})
	reg := prometheus.NewRegistry()
	conn, err := grpc.NewClient("passthrough:///unused", grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	api, err := New(context.Background(), Config{
		Log: slog.New(slog.NewTextHandler(io.Discard, nil)), Registry: reg,
		Ingest: conn, Query: conn, Auth: conn, MaxBodyBytes: 16,
		Raw: map[string]http.Handler{"/v1/traces": raw},
	})
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(api)
	defer ts.Close()

	// Gzip and over the REST body limit: the raw handler still gets it as sent.
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	_, _ = zw.Write([]byte(strings.Repeat("span", 100)))
	_ = zw.Close()
	req, _ := http.NewRequest(http.MethodPost, ts.URL+"/v1/traces", bytes.NewReader(gz.Bytes()))
	req.Header.Set("Content-Encoding", "gzip")
	resp, err := ts.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusAccepted || !bytes.Equal(got.body, gz.Bytes()) || got.encoding != "gzip" || got.route != "/v1/traces" {
		t.Errorf("raw handler answered %d and saw %d bytes, encoding %q, route %q", resp.StatusCode, len(got.body), got.encoding, got.route)
	}
	if resp.Header.Get(requestIDHeader) == "" {
		t.Error("raw route not instrumented: no request id")
	}
	if v := metricValue(t, reg, "agenttrace_http_requests_total", map[string]string{"route": "/v1/traces", "method": "POST", "code": "202"}); v != 1 {
		t.Errorf("requests{route=/v1/traces} = %v, want 1", v)
	}

	// Other paths keep the REST rules: the same body is too large there.
	resp, err = ts.Client().Post(ts.URL+"/v1/traces/x", "application/json", strings.NewReader(strings.Repeat("x", 17)))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusRequestEntityTooLarge {
		t.Errorf("REST route answered %d, want 413", resp.StatusCode)
	}
}
