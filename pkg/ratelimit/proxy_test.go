package ratelimit

import (
	"io"
	"net"
	"sync"
	"testing"
)

// proxyMode is what the fault proxy does with connections.
type proxyMode int

const (
	proxyForward proxyMode = iota // pass bytes to Redis
	proxyRefuse                   // close connections at once (Redis down)
	proxyHang                     // accept and never answer (Redis stuck)
)

// faultProxy sits between the limiter and the real Redis, so a test can
// take Redis away and bring it back without touching the server others use.
type faultProxy struct {
	ln     net.Listener
	target string

	mu    sync.Mutex
	mode  proxyMode
	conns map[net.Conn]struct{}
	wg    sync.WaitGroup
}

func newFaultProxy(t *testing.T, target string) *faultProxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &faultProxy{ln: ln, target: target, conns: make(map[net.Conn]struct{})}
	p.wg.Add(1)
	go p.accept()
	t.Cleanup(func() {
		_ = ln.Close()
		p.setMode(proxyRefuse)
		p.wg.Wait()
	})
	return p
}

func (p *faultProxy) addr() string { return p.ln.Addr().String() }

// setMode switches the mode and drops every open connection, as a Redis
// restart or a network cut would.
func (p *faultProxy) setMode(m proxyMode) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.mode = m
	for c := range p.conns {
		_ = c.Close()
	}
	clear(p.conns)
}

func (p *faultProxy) track(c net.Conn) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.mode == proxyRefuse {
		return false
	}
	p.conns[c] = struct{}{}
	return true
}

func (p *faultProxy) accept() {
	defer p.wg.Done()
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		if !p.track(c) {
			_ = c.Close()
			continue
		}
		p.mu.Lock()
		mode := p.mode
		p.mu.Unlock()
		if mode == proxyHang {
			continue // held open until the mode changes
		}
		up, err := net.Dial("tcp", p.target)
		if err != nil || !p.track(up) {
			_ = c.Close()
			continue
		}
		p.wg.Add(2)
		go p.pipe(c, up)
		go p.pipe(up, c)
	}
}

func (p *faultProxy) pipe(dst, src net.Conn) {
	defer p.wg.Done()
	_, _ = io.Copy(dst, src)
	_ = dst.Close()
	_ = src.Close()
}
