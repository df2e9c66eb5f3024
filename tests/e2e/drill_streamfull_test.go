package e2e

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// drillStreamMaxBytes caps the stream of the stream-full drill: a few
// seconds of its load.
const drillStreamMaxBytes = 256 << 10

// TestDrillStreamFull fills a small events stream (its own namespace, with
// AGENTTRACE_NATS_STREAM_MAX_BYTES) with no worker to empty it: once it is
// full, ingestion must answer 503 (or 429) with Retry-After rather than
// acknowledge events the stream cannot hold, so the stream holds exactly
// the acknowledged batches. A worker then drains it: every acknowledged
// event is stored, and ingestion is acknowledged again.
func TestDrillStreamFull(t *testing.T) {
	d := newDrill(t, "streamfull", true)
	small := fmt.Sprintf("AGENTTRACE_NATS_STREAM_MAX_BYTES=%d", drillStreamMaxBytes)
	ingest := d.start("ingest", "", true, small)
	gateway := d.start("gateway", "", true, "AGENTTRACE_INGEST_ADDR="+ingest.grpc)
	rc := &restClient{base: "http://" + gateway.http, authorization: d.key.basic(), hc: &http.Client{Timeout: drillCallLimit}}

	l := startLoad(t, "streamfull", restSender(rc))
	full, ok := waitFailing(l, 30*time.Second)
	if !ok {
		t.Fatalf("drill streamfull: every batch still acknowledged 30s into the load (%s); the stream cannot be capped at %d bytes",
			l.figures().outcomeSummary(), drillStreamMaxBytes)
	}
	// Keep knocking on the full stream for a while.
	time.Sleep(5 * time.Second)
	l.stop()
	f := l.figures()
	info := d.streamInfo()
	t.Logf("drill streamfull: the stream refused its first batch %s into the load; then it held %d messages, %d bytes of at most %d",
		full.Sub(l.start).Round(10*time.Millisecond), info.State.Msgs, info.State.Bytes, info.Config.MaxBytes)
	acked := f.batches - f.failed
	if int(info.State.Msgs) != acked {
		t.Errorf("drill streamfull: ingest acknowledged %d batches, the stream holds %d messages", acked, info.State.Msgs)
	}
	for label, n := range f.outcomes {
		if label != "200" && !strings.HasPrefix(label, "503 ") && !strings.HasPrefix(label, "429 ") {
			t.Errorf("drill streamfull: %d batches answered %s; a full stream must be 503 or 429 with Retry-After", n, label)
		}
	}

	// A worker empties the stream; ingestion is acknowledged again.
	drainStart := time.Now()
	d.start("worker", "", true, small)
	var o outcome
	for o = l.sendOnce(t.Context(), restSender(rc)); !o.acked && time.Since(drainStart) < time.Minute; {
		time.Sleep(500 * time.Millisecond)
		o = l.sendOnce(t.Context(), restSender(rc))
	}
	if o.acked {
		t.Logf("drill streamfull: ingestion acknowledged again %s after a worker started", time.Since(drainStart).Round(10*time.Millisecond))
	} else {
		t.Errorf("drill streamfull: ingestion still refused a minute after a worker started: %s", o.label)
	}
	d.settle(l, drainStart, 2*time.Minute)
}

// waitFailing waits until a batch of l fails and says when the first did.
func waitFailing(l *load, bound time.Duration) (time.Time, bool) {
	deadline := time.Now().Add(bound)
	for time.Now().Before(deadline) {
		if f := l.figures(); len(f.errTimes) > 0 {
			return f.errTimes[0], true
		}
		time.Sleep(100 * time.Millisecond)
	}
	return time.Time{}, false
}

// streamInfo describes the drill's events stream.
func (d *drill) streamInfo() *jetstream.StreamInfo {
	t := d.t
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	nc, err := nats.Connect(natsServer)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	st, err := js.Stream(ctx, d.streamConfig().EventsStream())
	if err != nil {
		t.Fatal(err)
	}
	info, err := st.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	return info
}
