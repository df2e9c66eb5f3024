package rest

import (
	"context"
	"encoding/json"
	"log/slog"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	dto "github.com/prometheus/client_model/go"

	"github.com/agenttrace/agenttrace/pkg/service"
)

// metricValue finds one series of a gathered family: a counter's value or
// a histogram's sample count.
func metricValue(t *testing.T, reg *prometheus.Registry, name string, labels map[string]string) float64 {
	t.Helper()
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range families {
		if f.GetName() != name {
			continue
		}
	series:
		for _, m := range f.GetMetric() {
			if len(m.GetLabel()) != len(labels) {
				continue
			}
			for _, l := range m.GetLabel() {
				if labels[l.GetName()] != l.GetValue() {
					continue series
				}
			}
			if f.GetType() == dto.MetricType_HISTOGRAM {
				return float64(m.GetHistogram().GetSampleCount())
			}
			return m.GetCounter().GetValue()
		}
	}
	return 0
}

func TestMetricsUseRoutePatterns(t *testing.T) {
	h := newHarness(t)
	for _, id := range []string{"a", "b", "c"} {
		h.do(t, "GET", "/api/v1/traces/"+id, nil, nil)
	}
	h.do(t, "GET", "/no/such/path/1", nil, nil)
	h.do(t, "GET", "/no/such/path/2", nil, nil)
	h.do(t, "BREW", "/api/v1/traces", nil, nil)
	h.do(t, "GET", "/health", nil, nil)
	h.do(t, "POST", "/api/v1/ingestion", strings.NewReader(strings.Repeat("x", testLimit+1)), nil)

	tests := []struct {
		labels map[string]string
		want   float64
	}{
		{map[string]string{"route": "/api/v1/traces/{trace_id}", "method": "GET", "code": "200"}, 3},
		{map[string]string{"route": unmatchedRoute, "method": "GET", "code": "404"}, 2},
		{map[string]string{"route": unmatchedRoute, "method": "OTHER", "code": "405"}, 1},
		{map[string]string{"route": "/health", "method": "GET", "code": "200"}, 1},
		{map[string]string{"route": unmatchedRoute, "method": "POST", "code": "413"}, 1},
	}
	for _, tt := range tests {
		if got := metricValue(t, h.reg, "agenttrace_http_requests_total", tt.labels); got != tt.want {
			t.Errorf("requests%v = %v, want %v", tt.labels, got, tt.want)
		}
	}
	if got := metricValue(t, h.reg, "agenttrace_http_request_duration_seconds",
		map[string]string{"route": "/api/v1/traces/{trace_id}", "method": "GET"}); got != 3 {
		t.Errorf("duration samples = %v, want 3", got)
	}
	// Raw paths never become label values.
	if n, err := testutil.GatherAndCount(h.reg, "agenttrace_http_requests_total"); err != nil || n != 5 {
		t.Errorf("%d request series (err %v), want 5", n, err)
	}
}

func TestAccessLog(t *testing.T) {
	h := newHarness(t)
	h.do(t, "GET", "/api/v1/sessions/s1", nil, map[string]string{
		"Authorization": "Bearer sk-at-very-secret",
		"X-Request-Id":  "req-7",
	})
	var line map[string]any
	for _, l := range strings.Split(strings.TrimSpace(h.logs.String()), "\n") {
		if strings.Contains(l, `"msg":"http request"`) {
			if err := json.Unmarshal([]byte(l), &line); err != nil {
				t.Fatal(err)
			}
		}
	}
	if line == nil {
		t.Fatalf("no access log line in %s", h.logs.String())
	}
	want := map[string]any{"level": "INFO", "method": "GET", "route": "/api/v1/sessions/{session_id}", "status": 200.0, "request_id": "req-7", "bytes": 25.0} // {"traces":[],"scores":[]}
	for k, v := range want {
		if line[k] != v {
			t.Errorf("log %s = %v, want %v (line %v)", k, line[k], v, line)
		}
	}
	if _, ok := line["duration_ms"]; !ok {
		t.Error("log lacks duration_ms")
	}
	if strings.Contains(h.logs.String(), "very-secret") {
		t.Error("the API key reached the log")
	}
}

func TestNewValidatesConfig(t *testing.T) {
	h := newHarness(t)
	log := slog.New(slog.DiscardHandler)
	// Connections are lazy: nothing is dialled, as no call is made.
	conn, err := service.Dial("127.0.0.1:1")
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	tests := []struct {
		name string
		cfg  Config
	}{
		{"no connections", Config{Log: log, Registry: prometheus.NewRegistry(), MaxBodyBytes: 1}},
		{"no limit", Config{Log: log, Registry: prometheus.NewRegistry(), Ingest: conn, Query: conn, Auth: conn}},
		{"metrics registered twice", Config{Log: log, Registry: h.reg, Ingest: conn, Query: conn, Auth: conn, MaxBodyBytes: 1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := New(context.Background(), tt.cfg); err == nil {
				t.Error("want an error")
			}
		})
	}
}
