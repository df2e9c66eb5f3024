package apierror

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

func TestStatus(t *testing.T) {
	var logs bytes.Buffer
	log := slog.New(slog.NewTextHandler(&logs, nil))
	ctx := context.Background()

	wrapped := fmt.Errorf("create project: %w", Invalid("name", "must not be empty"))
	if !errors.Is(wrapped, ErrInvalidArgument) {
		t.Error("a FieldError is not ErrInvalidArgument")
	}
	st, ok := Status(ctx, log, wrapped)
	if !ok {
		t.Fatal("a FieldError is not mapped")
	}
	s := status.Convert(st)
	if s.Code() != codes.InvalidArgument || s.Message() != "name: must not be empty" {
		t.Errorf("status %v %q", s.Code(), s.Message())
	}
	var fv []*errdetails.BadRequest_FieldViolation
	for _, d := range s.Details() {
		if br, ok := d.(*errdetails.BadRequest); ok {
			fv = br.GetFieldViolations()
		}
	}
	if len(fv) != 1 || fv[0].GetField() != "name" || fv[0].GetDescription() != "must not be empty" {
		t.Errorf("field violations %v", fv)
	}

	st, ok = Status(ctx, log, fmt.Errorf("list: %w", ErrNoPrincipal))
	if !ok || status.Code(st) != codes.Unauthenticated {
		t.Errorf("no principal: %v, %v", st, ok)
	}
	if !strings.Contains(logs.String(), "without an authenticated caller") {
		t.Errorf("the wiring bug was not logged: %q", logs.String())
	}

	if st, ok := Status(ctx, log, errors.New("disk full")); ok || st != nil {
		t.Errorf("another error was mapped: %v", st)
	}
}

func TestUnavailable(t *testing.T) {
	st := status.Convert(Unavailable("event stream unavailable, retry", 1500*time.Millisecond))
	if st.Code() != codes.Unavailable || st.Message() != "event stream unavailable, retry" {
		t.Fatalf("status = %v", st)
	}
	var after time.Duration
	for _, d := range st.Details() {
		if ri, ok := d.(*errdetails.RetryInfo); ok {
			after = ri.GetRetryDelay().AsDuration()
		}
	}
	if after != 1500*time.Millisecond {
		t.Errorf("retry delay = %v, want 1.5s", after)
	}
}
