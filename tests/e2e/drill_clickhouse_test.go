package e2e

import (
	"net/http"
	"testing"
	"time"

	ingestv1 "github.com/agenttrace/agenttrace/pkg/gen/agenttrace/ingest/v1"
)

// drillClickHouseOutage is how long the ClickHouse drill keeps ClickHouse
// away from the worker: long enough for many failed flushes and a grown
// redelivery backoff.
const drillClickHouseOutage = 45 * time.Second

// TestDrillClickHouseOutage takes ClickHouse away from a worker under
// load: ingestion keeps being acknowledged (the stream buffers the events),
// the worker recovers by itself when ClickHouse returns, and the backlog
// drains with nothing lost. The time to drain is printed.
func TestDrillClickHouseOutage(t *testing.T) {
	d := newDrill(t, "clickhouse", true)
	ch := newLink(t, clickhouseServer)
	ingest := d.start("ingest", "", true)
	worker := d.start("worker", "", true, "AGENTTRACE_CLICKHOUSE_ADDR="+ch.addr)

	l := startLoad(t, "clickhouse", grpcSender(ingestv1.NewIngestServiceClient(dial(t, ingest.grpc)), d.key))
	waitStoring(t, d, 3*time.Second)

	ch.cut()
	cut := time.Now()
	if _, ok := waitReadyStatus(worker.admin, http.StatusServiceUnavailable, 15*time.Second); !ok {
		t.Errorf("drill clickhouse: the worker still ready 15s into the outage")
	}
	time.Sleep(time.Until(cut.Add(drillClickHouseOutage)))
	stuck, err := d.storedTraces(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	ch.restore()
	restored := time.Now()
	if took, ok := waitReadyStatus(worker.admin, http.StatusOK, time.Minute); ok {
		t.Logf("drill clickhouse: the worker ready again %s after ClickHouse returned", took.Round(10*time.Millisecond))
	} else {
		t.Errorf("drill clickhouse: the worker not ready a minute after ClickHouse returned")
	}
	time.Sleep(3 * time.Second)

	backlog := len(l.figures().acked) - len(stuck)
	c := d.settle(l, restored, 3*time.Minute)
	failedInserts, _ := metric(worker.admin, "agenttrace_clickhouse_insert_errors_total")
	t.Logf("drill clickhouse: ClickHouse away %s; %d events acknowledged during the outage, backlog at its return about %d events; "+
		"failed inserts %v; backlog drained %s after ClickHouse returned; batches failed %d",
		restored.Sub(cut).Round(100*time.Millisecond), drillBatch*c.ackedBetween(cut, restored), backlog,
		failedInserts, describeDrain(c.drained), c.failed)
	if c.failed > 0 {
		t.Errorf("drill clickhouse: %d batches failed (%s); ingestion must not depend on ClickHouse", c.failed, c.outcomeSummary())
	}
	if c.ackedBetween(cut, restored) == 0 {
		t.Errorf("drill clickhouse: nothing acknowledged while ClickHouse was away")
	}
}
