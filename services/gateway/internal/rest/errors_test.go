package rest

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/grpc-ecosystem/grpc-gateway/v2/runtime"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/durationpb"
)

func TestGRPCCodesMapToHTTP(t *testing.T) {
	tests := []struct {
		code       codes.Code
		wantStatus int
		wantName   string
		retryAfter string
	}{
		{codes.Canceled, 499, "CANCELLED", ""},
		{codes.Unknown, http.StatusInternalServerError, "UNKNOWN", ""},
		{codes.InvalidArgument, http.StatusBadRequest, "INVALID_ARGUMENT", ""},
		{codes.DeadlineExceeded, http.StatusGatewayTimeout, "DEADLINE_EXCEEDED", ""},
		{codes.NotFound, http.StatusNotFound, "NOT_FOUND", ""},
		{codes.AlreadyExists, http.StatusConflict, "ALREADY_EXISTS", ""},
		{codes.PermissionDenied, http.StatusForbidden, "PERMISSION_DENIED", ""},
		{codes.ResourceExhausted, http.StatusTooManyRequests, "RESOURCE_EXHAUSTED", "1"},
		{codes.FailedPrecondition, http.StatusBadRequest, "FAILED_PRECONDITION", ""},
		{codes.Aborted, http.StatusConflict, "ABORTED", ""},
		{codes.OutOfRange, http.StatusBadRequest, "OUT_OF_RANGE", ""},
		{codes.Unimplemented, http.StatusNotImplemented, "UNIMPLEMENTED", ""},
		{codes.Internal, http.StatusInternalServerError, "INTERNAL", ""},
		{codes.Unavailable, http.StatusServiceUnavailable, "UNAVAILABLE", "1"},
		{codes.DataLoss, http.StatusInternalServerError, "DATA_LOSS", ""},
		{codes.Unauthenticated, http.StatusUnauthorized, "UNAUTHENTICATED", ""},
	}
	h := newHarness(t)
	for _, tt := range tests {
		t.Run(tt.code.String(), func(t *testing.T) {
			msg := "backend says " + tt.code.String()
			h.backend.setErr(status.Error(tt.code, msg))
			r := h.do(t, "GET", "/api/v1/traces/t1", nil, nil)
			if r.status != tt.wantStatus {
				t.Errorf("status %d, want %d", r.status, tt.wantStatus)
			}
			e := apiError(t, r)
			if tt.code == codes.Unavailable {
				msg = unavailableMessage
			}
			if e.Code != tt.wantName || e.Message != msg || e.FieldViolations != nil {
				t.Errorf("error %+v, want code %s message %q", e, tt.wantName, msg)
			}
			if got := r.header.Get("Retry-After"); got != tt.retryAfter {
				t.Errorf("Retry-After %q, want %q", got, tt.retryAfter)
			}
		})
	}
}

func TestErrorDetails(t *testing.T) {
	badRequest, err := status.New(codes.InvalidArgument, "invalid batch").WithDetails(&errdetails.BadRequest{
		FieldViolations: []*errdetails.BadRequest_FieldViolation{
			{Field: "batch[0].observation.trace_id", Description: "required"},
			{Field: "batch[2].score.value", Description: "must be finite"},
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	slowDown, err := status.New(codes.ResourceExhausted, "rate limited").WithDetails(&errdetails.RetryInfo{
		RetryDelay: durationpb.New(2500 * time.Millisecond),
	})
	if err != nil {
		t.Fatal(err)
	}

	h := newHarness(t)

	h.backend.setErr(badRequest.Err())
	r := h.do(t, "POST", "/api/v1/projects", strings.NewReader(`{}`), nil)
	e := apiError(t, r)
	want := []fieldViolation{
		{Field: "batch[0].observation.trace_id", Description: "required"},
		{Field: "batch[2].score.value", Description: "must be finite"},
	}
	if r.status != http.StatusBadRequest || len(e.FieldViolations) != 2 || e.FieldViolations[0] != want[0] || e.FieldViolations[1] != want[1] {
		t.Errorf("got %d %+v, want 400 with %v", r.status, e, want)
	}
	if !strings.Contains(string(r.body), `"field_violations":[{"field":"batch[0].observation.trace_id","description":"required"}`) {
		t.Errorf("body %s", r.body)
	}

	h.backend.setErr(slowDown.Err())
	r = h.do(t, "GET", "/api/v1/projects", nil, nil)
	if r.status != http.StatusTooManyRequests || r.header.Get("Retry-After") != "3" {
		t.Errorf("rate limited: %d Retry-After %q, want 429 and 3 (2.5s rounded up)", r.status, r.header.Get("Retry-After"))
	}
}

func TestMalformedJSONIs400(t *testing.T) {
	tests := []struct {
		name, body, wantMsg string
	}{
		{"truncated", `{"batch":[`, "malformed JSON body: syntax error at byte 10: unexpected end of JSON input"},
		{"not an object", `[1,2]`, `malformed JSON body: the body must be a JSON object with a "batch" array`},
		{"null", `null`, `malformed JSON body: the body must be a JSON object with a "batch" array`},
		{"wrong type", `{"batch":"x"}`, `malformed JSON body: the body must be a JSON object with a "batch" array`},
		{"not json at all", `hello`, "malformed JSON body: syntax error at byte 1: invalid character 'h'"},
		{"trailing garbage", `{"batch":[]} x`, "malformed JSON body"},
	}
	h := newHarness(t)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := h.do(t, "POST", "/api/v1/ingestion", strings.NewReader(tt.body), map[string]string{"Content-Type": "application/json"})
			if r.status != http.StatusBadRequest {
				t.Fatalf("status %d: %s", r.status, r.body)
			}
			e := apiError(t, r)
			if e.Code != "INVALID_ARGUMENT" || !strings.Contains(e.Message, tt.wantMsg) {
				t.Errorf("error %+v, want a message naming %q", e, tt.wantMsg)
			}
		})
	}
	if h.backend.count() != 0 {
		t.Error("malformed JSON reached the backend")
	}
}

// A failure inside the gateway that is not a gRPC status must not leak its
// detail to the client; it is logged instead.
func TestNonStatusErrorsAreInternal(t *testing.T) {
	var logs bytes.Buffer
	handle := errorHandler(slog.New(slog.NewTextHandler(&logs, nil)))
	tests := []struct {
		name       string
		err        error
		wantStatus int
		wantCode   string
		wantMsg    string
	}{
		{"plain error", errors.New("marshal: secret detail"), 500, "INTERNAL", "internal error"},
		{"status with HTTP override", &runtime.HTTPStatusError{HTTPStatus: 400, Err: status.Error(codes.InvalidArgument, "bad %2 sequence")},
			400, "INVALID_ARGUMENT", "bad %2 sequence"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := httptest.NewRecorder()
			handle(context.Background(), nil, nil, w, httptest.NewRequest("GET", "/x", nil), tt.err)
			r := response{status: w.Code, header: w.Header(), body: w.Body.Bytes()}
			e := apiError(t, r)
			if r.status != tt.wantStatus || e.Code != tt.wantCode || e.Message != tt.wantMsg {
				t.Errorf("got %d %+v", r.status, e)
			}
		})
	}
	if !strings.Contains(logs.String(), "secret detail") {
		t.Error("the detail of an internal error was not logged")
	}
}
