package e2e

import (
	"net/http"
	"strings"
	"testing"
	"time"

	ingestv1 "github.com/agenttrace/agenttrace/pkg/gen/agenttrace/ingest/v1"
)

// drillNATSOutage is how long the NATS drill keeps NATS away.
const drillNATSOutage = 20 * time.Second

// TestDrillNATSOutage takes NATS away from an ingest and a worker under
// load: while it is away ingestion answers UNAVAILABLE (nothing is
// acknowledged that the stream does not hold), and when it returns both
// reconnect by themselves, ingestion is acknowledged again and every
// acknowledged event is stored.
func TestDrillNATSOutage(t *testing.T) {
	d := newDrill(t, "nats", true)
	natsLink := newLink(t, strings.TrimPrefix(natsServer, "nats://"))
	viaLink := "AGENTTRACE_NATS_URL=nats://" + natsLink.addr
	ingest := d.start("ingest", "", true, viaLink)
	worker := d.start("worker", "", true, viaLink)

	l := startLoad(t, "nats", grpcSender(ingestv1.NewIngestServiceClient(dial(t, ingest.grpc)), d.key))
	waitStoring(t, d, 3*time.Second)

	natsLink.cut()
	cut := time.Now()
	for _, p := range []*drillProc{ingest, worker} {
		if _, ok := waitReadyStatus(p.admin, http.StatusServiceUnavailable, 10*time.Second); !ok {
			t.Errorf("drill nats: %s still ready 10s into the outage", p.name)
		}
	}
	time.Sleep(time.Until(cut.Add(drillNATSOutage)))
	natsLink.restore()
	restored := time.Now()
	for _, p := range []*drillProc{ingest, worker} {
		if took, ok := waitReadyStatus(p.admin, http.StatusOK, 30*time.Second); ok {
			t.Logf("drill nats: %s ready again %s after NATS returned", p.name, took.Round(10*time.Millisecond))
		} else {
			t.Errorf("drill nats: %s not ready 30s after NATS returned", p.name)
		}
	}
	time.Sleep(3 * time.Second)

	c := d.settle(l, restored, 2*time.Minute)
	during := c.failedBetween(cut, restored)
	t.Logf("drill nats: NATS away %s; batches during the outage: %d failed, %d acknowledged",
		restored.Sub(cut).Round(100*time.Millisecond), during, c.ackedBetween(cut, restored))
	if during == 0 {
		t.Errorf("drill nats: no batch failed while NATS was away: the drill did not cut it")
	}
	if c.outcomes["Unavailable"] != c.failed {
		t.Errorf("drill nats: batches by outcome %s; every failure must be UNAVAILABLE with a RetryInfo", c.outcomeSummary())
	}
	if at, ok := c.firstAckAfter(restored); ok {
		t.Logf("drill nats: ingestion acknowledged again %s after NATS returned", at.Sub(restored).Round(10*time.Millisecond))
	} else {
		t.Errorf("drill nats: nothing acknowledged after NATS returned")
	}
	if n := c.failedBetween(restored.Add(10*time.Second), time.Now()); n > 0 {
		t.Errorf("drill nats: %d batches still failed more than 10s after NATS returned", n)
	}
}
