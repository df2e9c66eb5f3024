package grpctest

import (
	"errors"
	"fmt"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc"
)

// recorder is a test that keeps its cleanups and errors for the test to
// run and read.
type recorder struct {
	testing.TB
	cleanups []func()
	errors   []string
}

func (r *recorder) Helper()          {}
func (r *recorder) Cleanup(f func()) { r.cleanups = append(r.cleanups, f) }
func (r *recorder) Errorf(f string, args ...any) {
	r.errors = append(r.errors, fmt.Sprintf(f, args...))
}

func (r *recorder) end() {
	for i := len(r.cleanups) - 1; i >= 0; i-- {
		r.cleanups[i]()
	}
}

func listen(t *testing.T) net.Listener {
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	return lis
}

// TestStoppedServerPasses: a server stopped at the test's end, whether or
// not it had begun serving, reports nothing.
func TestStoppedServerPasses(t *testing.T) {
	for range 50 {
		r := &recorder{TB: t}
		Serve(r, grpc.NewServer(), listen(t))
		r.end()
		if len(r.errors) > 0 {
			t.Fatalf("errors = %v, want none", r.errors)
		}
	}
}

// brokenListener fails every Accept, and tells when the first was called.
type brokenListener struct {
	net.Listener
	once     sync.Once
	accepted chan struct{}
}

func (l *brokenListener) Accept() (net.Conn, error) {
	l.once.Do(func() { close(l.accepted) })
	return nil, errors.New("broken listener")
}

// TestBrokenServerFails: a server whose Serve failed fails the test, in
// its cleanup. Serve returns its error just after Accept fails; a Stop in
// between would make it return nil, so a few attempts give it the time.
func TestBrokenServerFails(t *testing.T) {
	for attempt := 1; ; attempt++ {
		lis := &brokenListener{Listener: listen(t), accepted: make(chan struct{})}
		r := &recorder{TB: t}
		Serve(r, grpc.NewServer(), lis)
		<-lis.accepted
		time.Sleep(time.Duration(attempt) * 10 * time.Millisecond)
		if len(r.errors) > 0 {
			t.Fatalf("errors before the cleanup = %v", r.errors)
		}
		r.end()
		lis.Listener.Close()
		if len(r.errors) == 1 && strings.Contains(r.errors[0], "broken listener") {
			return
		}
		if attempt == 10 {
			t.Fatalf("errors = %v, want Serve's", r.errors)
		}
	}
}
