package retry

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"
)

func TestPause(t *testing.T) {
	p := Policy{First: time.Second, Max: 5 * time.Second}
	tests := []struct {
		attempt int
		want    time.Duration
	}{
		{1, time.Second},
		{2, 2 * time.Second},
		{3, 4 * time.Second},
		{4, 5 * time.Second},
		{100, 5 * time.Second},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprint(tt.attempt), func(t *testing.T) {
			if got := p.Pause(tt.attempt); got != tt.want {
				t.Errorf("Pause(%d) = %s, want %s", tt.attempt, got, tt.want)
			}
		})
	}
}

var (
	errTransient = errors.New("transient")
	errFatal     = errors.New("fatal")
)

func fast(retryable func(error) bool) Policy {
	return Policy{First: time.Millisecond, Max: 4 * time.Millisecond, Retryable: retryable}
}

func TestDo(t *testing.T) {
	onlyTransient := func(err error) bool { return errors.Is(err, errTransient) }
	tests := []struct {
		name      string
		retryable func(error) bool
		results   []error // fn's results in turn; the last repeats
		wantCalls int
		wantErr   error
	}{
		{"first try", onlyTransient, []error{nil}, 1, nil},
		{"after transient failures", onlyTransient, []error{errTransient, errTransient, nil}, 3, nil},
		{"stops at a permanent error", onlyTransient, []error{errTransient, errFatal, nil}, 2, errFatal},
		{"nil retries everything", nil, []error{errFatal, errFatal, nil}, 3, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			calls := 0
			var notified []int
			p := fast(tt.retryable)
			p.OnRetry = func(attempt int, _ error, _ time.Duration) { notified = append(notified, attempt) }
			err := p.Do(context.Background(), func(context.Context) error {
				r := tt.results[min(calls, len(tt.results)-1)]
				calls++
				return r
			})
			if !errors.Is(err, tt.wantErr) || (tt.wantErr == nil && err != nil) {
				t.Fatalf("Do = %v, want %v", err, tt.wantErr)
			}
			if calls != tt.wantCalls {
				t.Errorf("fn called %d times, want %d", calls, tt.wantCalls)
			}
			// Every failure but a final permanent one is announced.
			wantNotified := tt.wantCalls - 1
			if len(notified) != wantNotified {
				t.Errorf("OnRetry called for attempts %v, want %d calls", notified, wantNotified)
			}
		})
	}
}

func TestDoGivesUpWhenTheContextEnds(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	err := fast(nil).Do(ctx, func(context.Context) error { return errTransient })
	if !errors.Is(err, context.DeadlineExceeded) || !errors.Is(err, errTransient) {
		t.Fatalf("Do = %v, want both the deadline and the last error", err)
	}
}

func TestWait(t *testing.T) {
	retryable := func(err error) bool { return errors.Is(err, errTransient) }
	t.Run("zero makes one attempt", func(t *testing.T) {
		calls := 0
		err := Wait{Store: "Store", Retryable: retryable, Log: slog.New(slog.DiscardHandler)}.Do(context.Background(),
			func(context.Context) error { calls++; return errTransient })
		if !errors.Is(err, errTransient) || calls != 1 || strings.Contains(err.Error(), "waiting") {
			t.Fatalf("Wait{For: 0} = %v after %d calls; want the error itself after one", err, calls)
		}
	})
	t.Run("gives up naming the store and the wait", func(t *testing.T) {
		var logs bytes.Buffer
		w := Wait{Store: "TheStore", For: 1500 * time.Millisecond, Setting: "AGENTTRACE_X_WAIT", Retryable: retryable,
			Log: slog.New(slog.NewTextHandler(&logs, nil))}
		calls := 0
		err := w.Do(context.Background(), func(context.Context) error { calls++; return errTransient })
		if err == nil || !errors.Is(err, errTransient) {
			t.Fatalf("Wait = %v", err)
		}
		for _, want := range []string{"TheStore", "1.5s", "AGENTTRACE_X_WAIT", "transient"} {
			if !strings.Contains(err.Error(), want) {
				t.Errorf("error %q lacks %q", err, want)
			}
		}
		if calls != 2 { // at 0 s and 1 s; the next pause (2 s) outlasts the wait
			t.Errorf("%d attempts, want 2", calls)
		}
		for _, want := range []string{"level=INFO", "store=TheStore", "attempt=1", "reason=transient"} {
			if !strings.Contains(logs.String(), want) {
				t.Errorf("logs lack %q:\n%s", want, logs.String())
			}
		}
	})
	t.Run("permanent errors end the wait at once", func(t *testing.T) {
		start := time.Now()
		err := Wait{Store: "S", For: time.Minute, Retryable: retryable, Log: slog.New(slog.DiscardHandler)}.Do(context.Background(),
			func(context.Context) error { return errFatal })
		if !errors.Is(err, errFatal) || time.Since(start) > time.Second {
			t.Fatalf("Wait = %v after %s; want errFatal at once", err, time.Since(start))
		}
	})
}

func TestUnreachable(t *testing.T) {
	tests := []struct {
		name string
		err  error
		want bool
	}{
		{"nil", nil, false},
		{"connection refused", &net.OpError{Op: "dial", Net: "tcp", Err: os.NewSyscallError("connect", syscall.ECONNREFUSED)}, true},
		{"connection reset", fmt.Errorf("read: %w", syscall.ECONNRESET), true},
		{"host unreachable", &net.OpError{Op: "dial", Err: syscall.EHOSTUNREACH}, true},
		{"name not found", &net.DNSError{Err: "no such host", Name: "postgres.agenttrace.svc", IsNotFound: true}, true},
		{"dns timeout", &net.DNSError{Err: "i/o timeout", Name: "x", IsTimeout: true}, true},
		{"i/o timeout", &net.OpError{Op: "read", Err: os.ErrDeadlineExceeded}, true},
		{"closed while starting", fmt.Errorf("handshake: %w", io.EOF), true},
		{"connect timeout", fmt.Errorf("timeout: %w", context.DeadlineExceeded), true},
		{"plain error", errors.New("password authentication failed"), false},
		{"permission", fmt.Errorf("open: %w", os.ErrPermission), false},
		{"cancelled", context.Canceled, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Unreachable(tt.err); got != tt.want {
				t.Errorf("Unreachable(%v) = %v, want %v", tt.err, got, tt.want)
			}
		})
	}
}

// A real dial to a closed port is classified like the constructed one.
func TestUnreachableRealDial(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	_, err = net.DialTimeout("tcp", addr, time.Second)
	if err == nil || !Unreachable(err) {
		t.Fatalf("dial of a closed port: %v, Unreachable = false", err)
	}
}
