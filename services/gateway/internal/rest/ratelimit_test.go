package rest

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/durationpb"
)

func TestRateLimitHeaders(t *testing.T) {
	limited, err := status.New(codes.ResourceExhausted, "ingest rate limit of this key exceeded").WithDetails(
		&errdetails.RetryInfo{RetryDelay: durationpb.New(1500 * time.Millisecond)})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		method string
		path   string
		body   string
		header metadata.MD // what the backend's limiter sends
		err    error
		status int
		// want are the expected response headers; "" means absent.
		want map[string]string
	}{
		{
			name: "allowed ingestion", method: "POST", path: "/api/v1/ingestion", body: `{"batch":[]}`,
			header: metadata.Pairs("x-ratelimit-limit", "2000", "x-ratelimit-remaining", "1999", "x-ratelimit-reset", "1"),
			status: http.StatusOK,
			want: map[string]string{
				"X-RateLimit-Limit": "2000", "X-RateLimit-Remaining": "1999", "X-RateLimit-Reset": "1",
				"Retry-After": "", "Grpc-Metadata-X-Ratelimit-Limit": "",
			},
		},
		{
			name: "allowed query", method: "GET", path: "/api/v1/traces/t1",
			header: metadata.Pairs("x-ratelimit-limit", "200", "x-ratelimit-remaining", "150", "x-ratelimit-reset", "1"),
			status: http.StatusOK,
			want:   map[string]string{"X-RateLimit-Limit": "200", "X-RateLimit-Remaining": "150", "X-RateLimit-Reset": "1"},
		},
		{
			name: "refused", method: "GET", path: "/api/v1/traces/t1",
			header: metadata.Pairs("x-ratelimit-limit", "200", "x-ratelimit-remaining", "0", "x-ratelimit-reset", "2", "retry-after", "2"),
			err:    limited.Err(), status: http.StatusTooManyRequests,
			want: map[string]string{
				"X-RateLimit-Limit": "200", "X-RateLimit-Remaining": "0", "X-RateLimit-Reset": "2",
				"Retry-After": "2", "Grpc-Metadata-Retry-After": "",
			},
		},
		{
			name: "other errors keep the headers", method: "GET", path: "/api/v1/traces/t1",
			header: metadata.Pairs("x-ratelimit-limit", "200", "x-ratelimit-remaining", "10", "x-ratelimit-reset", "1"),
			err:    status.Error(codes.NotFound, "no such trace"), status: http.StatusNotFound,
			want: map[string]string{"X-RateLimit-Remaining": "10", "Retry-After": ""},
		},
		{
			name: "no limit, no headers", method: "GET", path: "/api/v1/traces/t1",
			status: http.StatusOK,
			want:   map[string]string{"X-RateLimit-Limit": "", "X-RateLimit-Remaining": "", "X-RateLimit-Reset": ""},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t)
			h.backend.header = tt.header
			h.backend.setErr(tt.err)
			r := h.do(t, tt.method, tt.path, strings.NewReader(tt.body), map[string]string{"Authorization": "Bearer sk-at-x"})
			if r.status != tt.status {
				t.Fatalf("status %d (%s), want %d", r.status, r.body, tt.status)
			}
			for name, want := range tt.want {
				if got := r.header.Get(name); got != want {
					t.Errorf("%s = %q, want %q", name, got, want)
				}
			}
			if tt.status == http.StatusTooManyRequests {
				if e := apiError(t, r); e.Code != "RESOURCE_EXHAUSTED" {
					t.Errorf("error code %q", e.Code)
				}
			}
		})
	}
}

func TestOutgoingHeaderMatcher(t *testing.T) {
	tests := []struct {
		key  string
		want string
		ok   bool
	}{
		{"x-ratelimit-limit", "X-RateLimit-Limit", true},
		{"x-ratelimit-remaining", "X-RateLimit-Remaining", true},
		{"x-ratelimit-reset", "X-RateLimit-Reset", true},
		{"retry-after", "", false},
		{"x-custom", "Grpc-Metadata-x-custom", true},
	}
	for _, tt := range tests {
		got, ok := outgoingHeaderMatcher(tt.key)
		if got != tt.want || ok != tt.ok {
			t.Errorf("outgoingHeaderMatcher(%q) = %q, %v; want %q, %v", tt.key, got, ok, tt.want, tt.ok)
		}
	}
}
