package grpchttp

import (
	"testing"
	"time"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/durationpb"
)

func TestRetryAfterSeconds(t *testing.T) {
	tests := []struct {
		name  string
		delay *durationpb.Duration
		want  int
	}{
		{"no detail", nil, 1},
		{"whole seconds", durationpb.New(7 * time.Second), 7},
		{"rounded up", durationpb.New(1100 * time.Millisecond), 2},
		{"below a second", durationpb.New(10 * time.Millisecond), 1},
		{"negative", durationpb.New(-5 * time.Second), 1},
		{"absurd", durationpb.New(1 << 62), 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st := status.New(codes.ResourceExhausted, "slow down")
			if tt.delay != nil {
				var err error
				if st, err = st.WithDetails(&errdetails.RetryInfo{RetryDelay: tt.delay}); err != nil {
					t.Fatal(err)
				}
			}
			if got := RetryAfterSeconds(st); got != tt.want {
				t.Errorf("got %d, want %d", got, tt.want)
			}
		})
	}
}
