package consumer_test

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"google.golang.org/protobuf/proto"

	"github.com/agenttrace/agenttrace/pkg/chschema"
	ingestv1 "github.com/agenttrace/agenttrace/pkg/gen/agenttrace/ingest/v1"
)

// A pull request's end is a status message from the server (408 Request
// Timeout). nats-server 2.9.10 loses one every few minutes under a steady
// load; the client then kept the request open a second past its last
// message, and no message was delivered meanwhile. The consumer must not
// depend on that status: each of its requests ends by FetchWait.
func TestPullRequestsEndWithoutTheServersStatus(t *testing.T) {
	h := newHarness(t)
	proxy := startStatusDropper(t, h.scfg.URL)
	nc, err := nats.Connect(proxy.url(), nats.Timeout(5*time.Second))
	if err != nil {
		t.Fatalf("connect through the proxy: %v", err)
	}
	t.Cleanup(nc.Close)
	if h.js, err = jetstream.New(nc); err != nil {
		t.Fatal(err)
	}
	cfg := testConfig()
	cfg.FetchWait = 100 * time.Millisecond
	h.start(cfg, h.conn)

	// The consumer idles: every request it sends runs to its end.
	eventually(t, 10*time.Second, "the first pull request", func() bool { return proxy.pulls.Load() > 0 })
	time.Sleep(300 * time.Millisecond)
	before := proxy.pulls.Load()
	time.Sleep(time.Second)
	pulls := proxy.pulls.Load() - before
	t.Logf("%d pull requests in a second; %d statuses dropped in all", pulls, proxy.dropped.Load())
	if proxy.dropped.Load() == 0 {
		t.Fatal("the proxy dropped no status: the test does not test what it names")
	}
	// Ten requests of 100 ms fit in a second; one that waits out the
	// client library's own bound (the request's expiry and a second) does
	// not let a second through.
	if pulls < 4 {
		t.Errorf("%d pull requests in a second with the server's end-of-request statuses lost, want about 10 (FetchWait 100ms)", pulls)
	}

	// And a message published while the consumer idles is stored.
	h.publish(envelope("proj-a", traceEvent("ev-t1", "tr-1", 0, &ingestv1.TraceBody{Name: proto.String("run")}, false)), "m1")
	eventually(t, 10*time.Second, "the trace", func() bool { return h.count(chschema.Traces) == 1 })
}

// statusDropper forwards NATS connections to a server and drops every
// pull request's end-of-request status (408) on its way to the client; it
// counts the pull requests the clients send.
type statusDropper struct {
	l       net.Listener
	target  string
	pulls   atomic.Int64
	dropped atomic.Int64
	wg      sync.WaitGroup
	mu      sync.Mutex
	conns   []net.Conn
}

func startStatusDropper(t *testing.T, serverURL string) *statusDropper {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	target := strings.TrimPrefix(serverURL, "nats://")
	p := &statusDropper{l: l, target: target}
	p.wg.Go(p.accept)
	t.Cleanup(func() {
		l.Close()
		p.mu.Lock()
		for _, c := range p.conns {
			c.Close()
		}
		p.mu.Unlock()
		p.wg.Wait()
	})
	return p
}

func (p *statusDropper) url() string { return "nats://" + p.l.Addr().String() }

func (p *statusDropper) accept() {
	for {
		client, err := p.l.Accept()
		if err != nil {
			return
		}
		server, err := net.Dial("tcp", p.target)
		if err != nil {
			client.Close()
			continue
		}
		p.mu.Lock()
		p.conns = append(p.conns, client, server)
		p.mu.Unlock()
		p.wg.Go(func() { p.copyFrames(client, server, p.countPull); server.Close() })
		p.wg.Go(func() { p.copyFrames(server, client, p.keep); client.Close() })
	}
}

// countPull counts a client's pull requests (publications to a consumer's
// next-message API) and forwards every frame.
func (p *statusDropper) countPull(line, _ []byte) bool {
	if bytes.HasPrefix(line, []byte("PUB $JS.API.CONSUMER.MSG.NEXT.")) || bytes.HasPrefix(line, []byte("HPUB $JS.API.CONSUMER.MSG.NEXT.")) {
		p.pulls.Add(1)
	}
	return true
}

// keep drops the server's 408 statuses and forwards every other frame.
func (p *statusDropper) keep(line, payload []byte) bool {
	if bytes.HasPrefix(line, []byte("HMSG ")) && bytes.HasPrefix(payload, []byte("NATS/1.0 408")) {
		p.dropped.Add(1)
		return false
	}
	return true
}

// copyFrames copies NATS protocol frames (a line, and for messages their
// payload and its CRLF) from src to dst, forwarding those forward keeps.
func (p *statusDropper) copyFrames(src, dst net.Conn, forward func(line, payload []byte) bool) {
	r := bufio.NewReaderSize(src, 1<<16)
	for {
		line, err := r.ReadBytes('\n')
		if err != nil {
			return
		}
		var payload []byte
		n, ok, err := payloadSize(line)
		if err != nil {
			return
		}
		if ok {
			payload = make([]byte, n+2)
			if _, err := io.ReadFull(r, payload); err != nil {
				return
			}
		}
		if !forward(line, payload) {
			continue
		}
		if _, err := dst.Write(append(line, payload...)); err != nil {
			return
		}
	}
}

// payloadSize is the payload length a frame's line announces (its last
// field, for MSG, HMSG, PUB and HPUB); ok is false for frames without one.
func payloadSize(line []byte) (n int, ok bool, err error) {
	fields := strings.Fields(string(line))
	if len(fields) < 2 {
		return 0, false, nil
	}
	switch strings.ToUpper(fields[0]) {
	case "MSG", "HMSG", "PUB", "HPUB":
	default:
		return 0, false, nil
	}
	if n, err = strconv.Atoi(fields[len(fields)-1]); err != nil {
		return 0, false, fmt.Errorf("frame %q: %w", line, err)
	}
	return n, true, nil
}
