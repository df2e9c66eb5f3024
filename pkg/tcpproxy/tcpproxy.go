// Package tcpproxy forwards a local port to a server. Tests use it to make a
// store appear at a chosen moment, e.g. a migration that must wait for its
// database, without stopping the shared server everyone else tests against.
package tcpproxy

import (
	"errors"
	"io"
	"net"
	"sync"
	"time"
)

// FreeAddr returns a loopback address nothing listens on (it was free a
// moment ago; tests accept the small chance that something takes it).
func FreeAddr() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer l.Close()
	return l.Addr().String(), nil
}

// Proxy forwards every connection to addr on to target.
type Proxy struct {
	addr, target string
	stop         chan struct{}
	wg           sync.WaitGroup

	mu     sync.Mutex
	l      net.Listener
	conns  map[net.Conn]struct{}
	err    error
	closed bool
}

// Start listens on addr after delay (at once when 0), in the background.
// Close it when done; Err reports a failure to listen.
func Start(addr, target string, delay time.Duration) *Proxy {
	p := &Proxy{addr: addr, target: target, stop: make(chan struct{}), conns: map[net.Conn]struct{}{}}
	p.wg.Go(func() {
		t := time.NewTimer(delay)
		defer t.Stop()
		select {
		case <-p.stop:
			return
		case <-t.C:
		}
		l, err := net.Listen("tcp", addr)
		p.mu.Lock()
		if err != nil || p.closed {
			p.err = err
			p.mu.Unlock()
			if l != nil {
				l.Close()
			}
			return
		}
		p.l = l
		p.mu.Unlock()
		p.accept(l)
	})
	return p
}

func (p *Proxy) accept(l net.Listener) {
	for {
		c, err := l.Accept()
		if err != nil {
			return // closed
		}
		if !p.track(c) {
			c.Close()
			return
		}
		p.wg.Go(func() { p.forward(c) })
	}
}

func (p *Proxy) forward(c net.Conn) {
	defer p.untrack(c)
	up, err := net.DialTimeout("tcp", p.target, 5*time.Second)
	if err != nil {
		return
	}
	if !p.track(up) {
		up.Close()
		return
	}
	defer p.untrack(up)
	done := make(chan struct{}, 2)
	pipe := func(dst, src net.Conn) {
		_, _ = io.Copy(dst, src)
		// Half-close is not worth it here: either side ending ends both.
		dst.Close()
		src.Close()
		done <- struct{}{}
	}
	go pipe(up, c)
	go pipe(c, up)
	<-done
	<-done
}

func (p *Proxy) track(c net.Conn) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return false
	}
	p.conns[c] = struct{}{}
	return true
}

func (p *Proxy) untrack(c net.Conn) {
	c.Close()
	p.mu.Lock()
	defer p.mu.Unlock()
	delete(p.conns, c)
}

// Err is the error of listening, if it failed.
func (p *Proxy) Err() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.err
}

// Close stops listening (or the pending start), cuts the open connections
// and waits for every goroutine of the proxy to end.
func (p *Proxy) Close() error {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return errors.New("tcpproxy: already closed")
	}
	p.closed = true
	close(p.stop)
	if p.l != nil {
		p.l.Close()
	}
	for c := range p.conns {
		c.Close()
	}
	p.mu.Unlock()
	p.wg.Wait()
	return nil
}
