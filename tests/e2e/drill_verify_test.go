package e2e

import (
	"context"
	"time"

	"github.com/agenttrace/agenttrace/pkg/chschema"
	queryv1 "github.com/agenttrace/agenttrace/pkg/gen/agenttrace/query/v1"
)

// drillCounts are a drill's exact figures once its load has ended.
type drillCounts struct {
	loadFigures
	stored    int // acknowledged events whose trace ClickHouse holds
	lost      int // acknowledged events whose trace it does not
	unacked   int // traces stored though their batch was not acknowledged
	extraRows int // rows beyond one per trace (redelivered copies)
	listed    int // traces the query API lists
	listedDup int // traces it lists more than once
	unlisted  int // acknowledged events whose trace it does not list
	// drained is how long after the fault ended every acknowledged event
	// was stored; negative if it never was within the bound.
	drained time.Duration
}

// settle waits (up to bound) until every acknowledged event of l is stored
// in ClickHouse, then lists the project's traces through the query API,
// prints the figures and fails the test if an acknowledged event is lost or
// a trace is listed twice. The load must have stopped; faultEnded is when
// the drill gave back what it took away.
func (d *drill) settle(l *load, faultEnded time.Time, bound time.Duration) drillCounts {
	t := d.t
	t.Helper()
	l.stop()
	c := drillCounts{loadFigures: l.figures(), drained: -1}
	deadline := time.Now().Add(bound)
	var stored map[string]uint64
	for {
		var err error
		stored, err = d.storedTraces(t.Context())
		if err != nil {
			t.Logf("drill %s: read ClickHouse: %v", d.name, err)
		} else if lost(c.acked, stored) == 0 {
			c.drained = time.Since(faultEnded)
			break
		}
		if time.Now().After(deadline) {
			break
		}
		time.Sleep(250 * time.Millisecond)
	}
	c.lost = lost(c.acked, stored)
	c.stored = len(c.acked) - c.lost
	for id, n := range stored {
		if _, ok := c.acked[id]; !ok {
			c.unacked++
		}
		c.extraRows += int(n) - 1
	}

	listed := d.listTraces()
	c.listed = len(listed)
	for _, n := range listed {
		if n > 1 {
			c.listedDup++
		}
	}
	for id := range c.acked {
		if listed[id] == 0 {
			c.unlisted++
		}
	}

	t.Logf("drill %s: sent %d events in %d batches (%s); acknowledged %d events; stored %d of them, lost %d; "+
		"stored though not acknowledged %d; extra rows of redelivered events %d (collapsed at read time); "+
		"query API lists %d traces, %d twice, %d acknowledged missing; every acknowledged event stored %s after the fault ended",
		d.name, c.sent, c.batches, c.outcomeSummary(), len(c.acked), c.stored, c.lost,
		c.unacked, c.extraRows, c.listed, c.listedDup, c.unlisted, describeDrain(c.drained))
	if c.lost > 0 {
		t.Errorf("drill %s: %d acknowledged events not stored %s after the fault ended", d.name, c.lost, bound)
	}
	if c.listedDup > 0 || c.unlisted > 0 {
		t.Errorf("drill %s: the query API lists %d traces twice and misses %d acknowledged ones", d.name, c.listedDup, c.unlisted)
	}
	for _, p := range c.problems {
		t.Errorf("drill %s: answer out of contract: %s", d.name, p)
	}
	if len(c.acked) == 0 {
		t.Errorf("drill %s: nothing was acknowledged: the drill proved nothing", d.name)
	}
	return c
}

func describeDrain(d time.Duration) string {
	if d < 0 {
		return "never"
	}
	return d.Round(100 * time.Millisecond).String()
}

func lost(acked map[string]struct{}, stored map[string]uint64) int {
	n := 0
	for id := range acked {
		if stored[id] == 0 {
			n++
		}
	}
	return n
}

// storedTraces counts the rows of each trace of the drill's project.
func (d *drill) storedTraces(ctx context.Context) (map[string]uint64, error) {
	var rows []struct {
		ID string `ch:"id"`
		N  uint64 `ch:"n"`
	}
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if err := d.chSelect(ctx, &rows, "SELECT id, count() AS n FROM "+chschema.Traces+" WHERE project_id = ? GROUP BY id", d.key.ProjectID); err != nil {
		return nil, err
	}
	out := make(map[string]uint64, len(rows))
	for _, r := range rows {
		out[r.ID] = r.N
	}
	return out, nil
}

// listTraces pages through every trace of the drill's project with the
// platform's query service and counts how often each id is listed.
func (d *drill) listTraces() map[string]int {
	t := d.t
	t.Helper()
	q := queryv1.NewQueryServiceClient(dial(t, d.s.addr["query"].grpc))
	out := map[string]int{}
	token := ""
	for {
		ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
		resp, err := q.ListTraces(withKey(ctx, d.key), &queryv1.ListTracesRequest{PageSize: 1000, PageToken: token})
		cancel()
		if err != nil {
			t.Fatalf("drill %s: list traces: %v", d.name, err)
		}
		for _, tr := range resp.GetTraces() {
			out[tr.GetId()]++
		}
		if token = resp.GetNextPageToken(); token == "" {
			return out
		}
	}
}
