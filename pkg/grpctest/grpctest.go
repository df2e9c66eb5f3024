// Package grpctest runs gRPC servers for tests.
package grpctest

import (
	"errors"
	"net"
	"testing"

	"google.golang.org/grpc"
)

// Serve serves srv on lis until the test ends. The test's cleanup stops
// srv and then checks what Serve returned: a server that broke fails the
// test, while one stopped before it began serving (a test that never
// called it can end first) does not. Serve's result is read in the
// cleanup, not reported from its goroutine, where an error after the
// test's end would panic.
func Serve(t testing.TB, srv *grpc.Server, lis net.Listener) {
	t.Helper()
	served := make(chan error, 1)
	go func() { served <- srv.Serve(lis) }()
	t.Cleanup(func() {
		srv.Stop()
		// nil once Stop has run, ErrServerStopped when Stop came first.
		if err := <-served; err != nil && !errors.Is(err, grpc.ErrServerStopped) {
			t.Errorf("serve: %v", err)
		}
	})
}
