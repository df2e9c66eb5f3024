package retry

import (
	"context"
	"errors"
	"io"
	"net"
	"os"
	"syscall"
)

// Unreachable reports whether err means the peer is not there yet: nothing
// listens on its port, its name does not resolve (a Kubernetes Service
// without endpoints, a pod not yet scheduled), the network or the dial timed
// out, or the peer dropped the connection while starting. Stores add their own
// "starting up" errors on top; everything else (a refused password, a
// missing privilege) is something waiting cannot fix.
func Unreachable(err error) bool {
	if err == nil {
		return false
	}
	var dnsErr *net.DNSError
	if errors.As(err, &dnsErr) {
		// Not found included: in a cluster the name appears with its Service.
		return true
	}
	for _, target := range []error{
		syscall.ECONNREFUSED, syscall.ECONNRESET, syscall.ECONNABORTED,
		syscall.EHOSTUNREACH, syscall.ENETUNREACH, syscall.EPIPE,
		io.EOF, io.ErrUnexpectedEOF, os.ErrDeadlineExceeded,
		// A connect attempt's own timeout (the caller's context being done is
		// the caller's business, checked before classifying).
		context.DeadlineExceeded,
	} {
		if errors.Is(err, target) {
			return true
		}
	}
	var netErr net.Error
	return errors.As(err, &netErr) && netErr.Timeout()
}
