package app

import (
	"context"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
)

// TestLangfuseRoutesWired checks that the gateway serves the Langfuse front
// door ahead of the REST routes, media ids included, with its own error
// shape: the backends are down here, so a batch is Langfuse's 503.
func TestLangfuseRoutesWired(t *testing.T) {
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	down := lis.Addr().String()
	lis.Close()
	g, err := New(context.Background(), testConfig(t, down, down, down))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- g.Run(ctx) }()
	<-g.Shell().Ready()
	api := "http://" + g.HTTPAddr().String()

	tests := []struct {
		method, path, body string
		status             int
		want               string
	}{
		{http.MethodGet, "/api/public/health", "", 200, `"status":"OK"`},
		{http.MethodPatch, "/api/public/media/abc", "{}", 501, `"message":"media upload is not supported`},
		{http.MethodPost, "/api/public/ingestion", `{"batch":[{"id":"e","type":"trace-create","body":{}}]}`, 503, `"message":"service temporarily unavailable; retry later"`},
		{http.MethodPost, "/api/public/ingestion", `{"batch":`, 400, `"message":"Invalid request data"`},
		{http.MethodPost, "/api/public/otel/v1/traces", "{}", 503, `"message":"service temporarily unavailable`},
	}
	for _, tt := range tests {
		req, _ := http.NewRequest(tt.method, api+tt.path, strings.NewReader(tt.body))
		req.Header.Set("Content-Type", "application/json")
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != tt.status || !strings.Contains(string(b), tt.want) {
			t.Errorf("%s %s: %d %s; want %d with %s", tt.method, tt.path, resp.StatusCode, b, tt.status, tt.want)
		}
	}
	cancel()
	if err := <-done; err != nil {
		t.Errorf("run: %v", err)
	}
}
