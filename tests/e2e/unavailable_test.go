package e2e

import (
	"fmt"
	"io"
	"net/http"
	"testing"
	"time"

	ingestv1 "github.com/agenttrace/agenttrace/pkg/gen/agenttrace/ingest/v1"
)

// TestStreamUnavailable runs a second ingest whose NATS is unreachable (the
// shared NATS server cannot be stopped) behind a second gateway: ingestion
// must answer 503 with Retry-After and report nothing as accepted.
func TestStreamUnavailable(t *testing.T) {
	s := requireStack(t)
	key := s.bootstrap(t, "e2e-unavailable", "unavailable")

	ports := freeAddrs(6)
	ingest := addrs{grpc: ports[0], admin: ports[1], otlp: ports[5]}
	gateway := addrs{grpc: ports[2], admin: ports[3], http: ports[4]}
	deadNATS := []string{"AGENTTRACE_NATS_URL=nats://127.0.0.1:1"}

	ingestEnv := append(s.commonEnv(), "AGENTTRACE_GRPC_ADDR="+ingest.grpc, "AGENTTRACE_ADMIN_ADDR="+ingest.admin,
		"AGENTTRACE_OTLP_GRPC_ADDR="+ingest.otlp)
	gatewayEnv := append(s.commonEnv(), "AGENTTRACE_GRPC_ADDR="+gateway.grpc, "AGENTTRACE_ADMIN_ADDR="+gateway.admin,
		"AGENTTRACE_HTTP_ADDR="+gateway.http, "AGENTTRACE_INGEST_ADDR="+ingest.grpc)
	procs := map[string]addrs{"ingest-deadnats": ingest, "gateway-deadnats": gateway}
	for _, label := range []string{"ingest-deadnats", "gateway-deadnats"} {
		env := ingestEnv
		if label == "gateway-deadnats" {
			env = gatewayEnv
		}
		p, err := s.start(label, append(env, deadNATS...))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() {
			if err := p.stop(); err != nil {
				t.Error(err)
			}
		})
		waitHealthy(t, p, procs[label].admin)
	}

	// Ingest is alive but not ready: /ready names the unreachable stream.
	resp, err := http.Get("http://" + ingest.admin + "/ready")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusServiceUnavailable {
		t.Errorf("ingest /ready with NATS down: want 503, got %d %s", resp.StatusCode, body)
	}

	c := &restClient{base: "http://" + gateway.http, authorization: key.basic(), hc: &http.Client{Timeout: 30 * time.Second}}
	r, out := c.ingest(t, []*ingestv1.IngestEvent{probeEvents("dead-nats")[0], probeEvents("dead-nats")[0]})
	checkError(t, "ingest with NATS down", r, http.StatusServiceUnavailable, "UNAVAILABLE")
	if r.header.Get("Retry-After") == "" {
		t.Errorf("ingest with NATS down: no Retry-After header: %s", r)
	}
	if out.GetAccepted() != 0 {
		t.Errorf("ingest with NATS down reported events as accepted: %s", r)
	}
}

// waitHealthy polls /health (liveness): a service with a dead dependency
// never becomes ready, but must be alive.
func waitHealthy(t *testing.T, p *proc, adminAddr string) {
	t.Helper()
	deadline := time.Now().Add(readyTimeout)
	for {
		select {
		case <-p.done:
			t.Fatalf("%s exited: %v", p.name, p.waitErr)
		default:
		}
		resp, err := http.Get("http://" + adminAddr + "/health")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
			err = fmt.Errorf("status %d", resp.StatusCode)
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s not alive after %s: %v", p.name, readyTimeout, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
