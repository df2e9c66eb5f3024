package grpchttp

import (
	"bytes"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

func TestAnswerFor(t *testing.T) {
	tests := []struct {
		name       string
		err        error
		code       codes.Code
		httpStatus int
		msg        string
		retryAfter string
		logged     string // a log line must hold this, when set
	}{
		{"bad request", status.Error(codes.InvalidArgument, "bad field"), codes.InvalidArgument, 400, "bad field", "", ""},
		{"no credentials", status.Error(codes.Unauthenticated, "no key"), codes.Unauthenticated, 401, "no key", "", ""},
		{"forbidden", status.Error(codes.PermissionDenied, "no role"), codes.PermissionDenied, 403, "no role", "", ""},
		{"not found", status.Error(codes.NotFound, "no such project"), codes.NotFound, 404, "no such project", "", ""},
		{"rate limited", status.Error(codes.ResourceExhausted, "slow down"), codes.ResourceExhausted, 429, "slow down", "1", ""},
		{"unavailable hides the address", status.Error(codes.Unavailable, "dial tcp 10.0.0.7:9081"), codes.Unavailable, 503, UnavailableMessage, "1", "10.0.0.7:9081"},
		{"timeout", status.Error(codes.DeadlineExceeded, "deadline"), codes.DeadlineExceeded, 504, "the backend did not answer in time; retry later", "", ""},
		{"canceled", status.Error(codes.Canceled, "canceled"), codes.Canceled, 499, "request canceled", "", ""},
		{"internal hides the detail", status.Error(codes.DataLoss, "disk at /var/lib"), codes.Internal, 500, "internal error", "", "/var/lib"},
		{"not a status", errors.New("boom"), codes.Internal, 500, "internal error", "", "boom"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var logs bytes.Buffer
			log := slog.New(slog.NewTextHandler(&logs, nil))
			w := httptest.NewRecorder()
			r := httptest.NewRequest(http.MethodPost, "/v1/traces", nil)
			a := AnswerFor(w, r, log, tt.err)
			if a.Code != tt.code || a.HTTPStatus != tt.httpStatus || a.Message != tt.msg {
				t.Errorf("answer %+v, want %v %d %q", a, tt.code, tt.httpStatus, tt.msg)
			}
			if got := w.Header().Get("Retry-After"); got != tt.retryAfter {
				t.Errorf("Retry-After %q, want %q", got, tt.retryAfter)
			}
			if tt.logged != "" && !strings.Contains(logs.String(), tt.logged) {
				t.Errorf("log %q does not hold %q", logs.String(), tt.logged)
			}
		})
	}
}

func TestOutgoingMetadata(t *testing.T) {
	r := httptest.NewRequest(http.MethodPost, "/api/public/ingestion", nil)
	r.RemoteAddr = "192.0.2.7:5555"
	r.Header.Set("Authorization", "Basic cGs6c2s=")
	r.Header.Set("X-AgentTrace-Project", "p1")
	r.Header.Set("X-Request-Id", "req-1")
	r.Header.Set("X-Forwarded-For", "198.51.100.1")
	r.Header.Set("X-Langfuse-Public-Key", "pk")
	md := OutgoingMetadata(r)
	want := map[string]string{
		"authorization":        "Basic cGs6c2s=",
		"x-agenttrace-project": "p1",
		"x-request-id":         "req-1",
		"x-forwarded-for":      "198.51.100.1, 192.0.2.7",
	}
	for k, v := range want {
		if got := md.Get(k); len(got) != 1 || got[0] != v {
			t.Errorf("%s = %v, want %q", k, got, v)
		}
	}
	if len(md) != len(want) {
		t.Errorf("metadata %v holds more than %v", md, want)
	}
}
