package e2e

import (
	"testing"
	"time"

	ingestv1 "github.com/agenttrace/agenttrace/pkg/gen/agenttrace/ingest/v1"
)

// drillAckWait is the drill worker's AGENTTRACE_WORKER_ACK_WAIT: how long
// JetStream waits before it redelivers what a killed worker had fetched
// (60 s by default; shorter here so the drill ends sooner).
const drillAckWait = 25 * time.Second

// TestDrillWorkerKill kills the worker with SIGKILL while it stores a
// steady load, and starts it again: every acknowledged event must be
// stored, and none listed twice (the killed worker's unacknowledged
// messages are redelivered, and a row it had written before the kill is
// written again, which the read-time merge collapses).
func TestDrillWorkerKill(t *testing.T) {
	d := newDrill(t, "kill", true)
	ackWait := "AGENTTRACE_WORKER_ACK_WAIT=" + drillAckWait.String()
	ingest := d.start("ingest", "", true)
	worker := d.start("worker", "", true, ackWait)

	l := startLoad(t, "kill", grpcSender(ingestv1.NewIngestServiceClient(dial(t, ingest.grpc)), d.key))
	// Let the worker get into its stride: rows flushed every 200 ms.
	waitStoring(t, d, 5*time.Second)
	worker.kill(t)
	killed := time.Now()
	before := l.figures()
	inFlight, err := d.ackPending()
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("drill kill: worker killed with SIGKILL after %d acknowledged events, holding %d messages unacknowledged", len(before.acked), inFlight)

	// Ingest keeps accepting while no worker runs: the stream holds the events.
	time.Sleep(3 * time.Second)
	d.startAt("worker", "restarted", worker.addrs, true, ackWait)
	restarted := time.Now()
	time.Sleep(5 * time.Second)
	c := d.settle(l, killed, 2*time.Minute)
	t.Logf("drill kill: worker down %s; batches failed %d", restarted.Sub(killed).Round(100*time.Millisecond), c.failed)
	if c.failed > 0 {
		t.Errorf("drill kill: %d batches failed; ingest must not depend on the worker", c.failed)
	}
	if c.ackedBetween(killed, restarted) == 0 {
		t.Errorf("drill kill: nothing acknowledged while the worker was down")
	}
}

// waitStoring waits until ClickHouse holds some of the drill's events.
func waitStoring(t *testing.T, d *drill, atLeast time.Duration) {
	t.Helper()
	time.Sleep(atLeast)
	deadline := time.Now().Add(time.Minute)
	for {
		stored, err := d.storedTraces(t.Context())
		if err == nil && len(stored) > 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("drill %s: nothing stored a minute into the load (%v)", d.name, err)
		}
		time.Sleep(250 * time.Millisecond)
	}
}
