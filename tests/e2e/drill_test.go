package e2e

import (
	"context"
	"errors"
	"fmt"
	"net"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/agenttrace/agenttrace/pkg/clickhousedb"
	"github.com/agenttrace/agenttrace/pkg/stream"
	"github.com/agenttrace/agenttrace/pkg/tcpproxy"
)

// A failure drill (TestDrill*) takes a dependency away from services it
// runs as its own processes, under a steady load of numbered events, gives
// it back, and then checks with exact counts that every event the platform
// acknowledged is stored, and none twice. The shared servers are never
// stopped: a drill cuts its own processes off them with a tcpproxy. Drills
// that involve the worker run their own stream namespace (streams and
// durable consumer), so the platform's worker never consumes their events
// and their faults never reach the platform's stream.
//
// Drills run in parallel with each other, after every other test (Go runs
// parallel tests once the sequential ones are done), so their load never
// disturbs a test that measures something.

// drill is one failure drill: its project and key, its stream namespace
// and the processes it started.
type drill struct {
	t    *testing.T
	s    *stack
	name string
	// org and project are the names the drill's key was bootstrapped with.
	org, project string
	key          apiKey
	// ns is the drill's own NATS namespace; "" is the platform's.
	ns string
	// chSelect reads the run's ClickHouse database.
	chSelect func(ctx context.Context, dest any, query string, args ...any) error
}

// newDrill starts a drill in parallel with the others, with its own
// project and key; ownStream gives it its own stream namespace, whose
// streams are deleted at the end.
func newDrill(t *testing.T, name string, ownStream bool) *drill {
	s := requireStack(t)
	t.Parallel()
	// An organization of its own: drills bootstrap at the same moment.
	d := &drill{t: t, s: s, name: name, org: "e2e-drill-" + name, project: "drill-" + name}
	d.key = s.bootstrap(t, d.org, d.project)
	if ownStream {
		d.ns = s.iso.natsNS + "_drill_" + name
		// Registered first, so it runs last: after the processes stopped.
		t.Cleanup(func() { d.deleteStreams() })
	}
	ch, err := clickhousedb.Open(t.Context(), clickhousedb.Config{Addr: clickhouseServer, User: "default",
		DialTimeout: 5 * time.Second, MaxOpenConns: 2, QueryTimeout: 30 * time.Second}, s.iso.clickhouseDB)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ch.Close() })
	d.chSelect = ch.Select
	return d
}

func (d *drill) streamConfig() stream.Config {
	if d.ns == "" {
		return d.s.iso.streamConfig()
	}
	return stream.Config{Namespace: d.ns}
}

func (d *drill) deleteStreams() {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	nc, err := nats.Connect(natsServer)
	if err != nil {
		d.t.Errorf("drop the drill's streams: %v", err)
		return
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		d.t.Errorf("drop the drill's streams: %v", err)
		return
	}
	sc := d.streamConfig()
	for _, name := range []string{sc.EventsStream(), sc.DeadLetterStream()} {
		if err := js.DeleteStream(ctx, name); err != nil && !errors.Is(err, jetstream.ErrStreamNotFound) {
			d.t.Errorf("delete stream %s: %v", name, err)
		}
	}
}

// drillProc is a service process a drill started.
type drillProc struct {
	*proc
	addrs
	// killed: the drill ended it on purpose, so its exit is no failure.
	killed bool
}

// env is the environment of a drill's process of service (auth, ingest,
// query, worker or gateway) listening on a: the platform's, in the drill's
// namespace, then extra (a later setting wins).
func (d *drill) env(service string, a addrs, extra ...string) []string {
	env := append(d.s.commonEnv(), "AGENTTRACE_GRPC_ADDR="+a.grpc, "AGENTTRACE_ADMIN_ADDR="+a.admin)
	switch service {
	case "auth":
		env = append(env, d.s.authEnv()...)
	case "ingest":
		env = append(env, "AGENTTRACE_OTLP_GRPC_ADDR="+a.otlp, fmt.Sprintf("AGENTTRACE_INGEST_MAX_BATCH=%d", maxBatch))
	case "gateway":
		env = append(env, "AGENTTRACE_HTTP_ADDR="+a.http)
	case "worker":
		// No retention job: the drill's worker only moves events.
		env = append(env, "AGENTTRACE_WORKER_FLUSH_INTERVAL=200ms", "AGENTTRACE_WORKER_RETENTION_INTERVAL=0")
	}
	if d.ns != "" {
		env = append(env, "AGENTTRACE_NATS_NAMESPACE="+d.ns)
	}
	return append(env, extra...)
}

// start runs one process of service for the drill, labelled
// <service>-drill-<name>[-suffix], and waits until it is ready (or only
// alive, when a dependency it checks is meant to be away). The test stops
// it at the end and fails if it does not drain and exit cleanly.
func (d *drill) start(service, suffix string, ready bool, extra ...string) *drillProc {
	d.t.Helper()
	ports := freeAddrs(4)
	a := addrs{grpc: ports[0], admin: ports[1], http: ports[2], otlp: ports[3]}
	return d.startAt(service, suffix, a, ready, extra...)
}

// startAt is start on given addresses (a restarted process keeps its own).
func (d *drill) startAt(service, suffix string, a addrs, ready bool, extra ...string) *drillProc {
	d.t.Helper()
	label := service + "-drill-" + d.name
	if suffix != "" {
		label += "-" + suffix
	}
	p, err := d.s.start(label, d.env(service, a, extra...))
	if err != nil {
		d.t.Fatal(err)
	}
	dp := &drillProc{proc: p, addrs: a}
	d.t.Cleanup(func() {
		if dp.killed {
			return
		}
		if err := p.stop(); err != nil {
			d.t.Error(err)
		}
	})
	if ready {
		if err := d.s.waitReady(d.t.Context(), label, a.admin); err != nil {
			d.t.Fatal(err)
		}
	} else {
		waitHealthy(d.t, p, a.admin)
	}
	return dp
}

// kill ends p with SIGKILL: no drain, no flush, no ack.
func (p *drillProc) kill(t *testing.T) {
	t.Helper()
	p.killed = true
	if err := p.cmd.Process.Kill(); err != nil {
		t.Fatalf("kill %s: %v", p.name, err)
	}
	<-p.done
}

// link stands between the drill's processes and a shared server, which
// the drill cuts and restores: cut closes the listener and every
// connection, as a stopped server would; restore listens again on the same
// address.
type link struct {
	t            *testing.T
	addr, target string
	p            *tcpproxy.Proxy // nil while cut
}

func newLink(t *testing.T, target string) *link {
	t.Helper()
	addr, err := tcpproxy.FreeAddr()
	if err != nil {
		t.Fatal(err)
	}
	l := &link{t: t, addr: addr, target: target}
	l.restore()
	t.Cleanup(func() {
		if l.p != nil {
			l.p.Close()
		}
	})
	return l
}

func (l *link) cut() {
	l.t.Helper()
	if l.p == nil {
		l.t.Fatal("link already cut")
	}
	l.p.Close()
	l.p = nil
}

// restore listens again; the port was free a moment ago, so a failure to
// listen is retried briefly before the test gives up.
func (l *link) restore() {
	l.t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		p := tcpproxy.Start(l.addr, l.target, 0)
		err := waitListening(p, l.addr)
		if err == nil {
			l.p = p
			return
		}
		p.Close()
		if time.Now().After(deadline) {
			l.t.Fatalf("proxy to %s cannot listen on %s: %v", l.target, l.addr, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// waitListening waits until p accepts connections on addr (or failed to listen).
func waitListening(p *tcpproxy.Proxy, addr string) error {
	for range 100 {
		if err := p.Err(); err != nil {
			return err
		}
		if c, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
			c.Close()
			return nil
		}
		time.Sleep(20 * time.Millisecond)
	}
	return fmt.Errorf("not listening on %s", addr)
}

// ackPending is how many messages the drill's durable consumer has
// delivered and not yet seen acknowledged.
func (d *drill) ackPending() (int, error) {
	ctx, cancel := context.WithTimeout(d.t.Context(), 10*time.Second)
	defer cancel()
	nc, err := nats.Connect(natsServer)
	if err != nil {
		return 0, err
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		return 0, err
	}
	cons, err := js.Consumer(ctx, d.streamConfig().EventsStream(), "worker")
	if err != nil {
		return 0, err
	}
	info, err := cons.Info(ctx)
	if err != nil {
		return 0, err
	}
	return info.NumAckPending, nil
}
