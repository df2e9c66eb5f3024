package chstore_test

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/agenttrace/agenttrace/pkg/chschema"
	"github.com/agenttrace/agenttrace/services/worker/internal/chstore"
	"github.com/agenttrace/agenttrace/services/worker/internal/eventrows"
	"github.com/agenttrace/agenttrace/services/worker/internal/testinfra"
)

// traceRows is one trace with an observation and a score, each one row,
// every row stamped with eventTS (and timed by it, so the time indexes
// hold the trace and the observation too).
func traceRows(project, trace, tag string, eventTS uint64) eventrows.Batch {
	return eventrows.Batch{
		Traces: []chschema.Trace{{ProjectID: project, ID: trace, Timestamp: eventTS, EventID: tag + "-t", EventTS: eventTS,
			Tags: []string{}, MetadataKeys: []string{}, MetadataValues: []string{}}},
		Observations: []chschema.Observation{{ProjectID: project, TraceID: trace, ID: trace + "-ob", StartTime: eventTS, EventID: tag + "-o", EventTS: eventTS,
			ModelParametersKeys: []string{}, ModelParametersValues: []string{}, UsageDetailsKeys: []string{}, UsageDetailsValues: []int64{},
			MetadataKeys: []string{}, MetadataValues: []string{}}},
		Scores: []chschema.Score{{ProjectID: project, ID: trace + "-sc", TraceID: trace, EventID: tag + "-s", EventTS: eventTS,
			MetadataKeys: []string{}, MetadataValues: []string{}}},
	}
}

func keysOf(project, trace, tag string) []string {
	return []string{
		"observations " + project + " " + trace + " " + tag + "-o",
		"scores " + project + " " + trace + " " + tag + "-s",
		"traces " + project + " " + trace + " " + tag + "-t",
	}
}

func TestWriteDeletesTracesAfterInsertingTheBatch(t *testing.T) {
	_, conn := testinfra.ClickHouse(t)
	reg := prometheus.NewRegistry()
	w := chstore.NewWriter(conn, chstore.NewMetrics(reg), chstore.WithMutationWait(10*time.Second))
	ctx := context.Background()
	now := uint64(time.Now().UnixNano())

	var stored eventrows.Batch
	for _, r := range []eventrows.Batch{
		traceRows("proj-a", "tr-1", "a1", now), traceRows("proj-a", "tr-2", "a2", now),
		traceRows("proj-b", "tr-1", "b1", now), traceRows("proj-c", "tr-9", "c9", now),
	} {
		stored.Append(r)
	}
	if err := w.Write(ctx, stored); err != nil {
		t.Fatal(err)
	}

	// The batch holds a row of tr-1 that arrived just before its deletion:
	// it must go too. proj-a/tr-2, proj-b/tr-1 (same id, other project)
	// and proj-c stay; proj-c/tr-9 is deleted twice in one batch.
	batch := traceRows("proj-a", "tr-1", "a1-late", now)
	batch.Deletions = []eventrows.Deletion{
		{ProjectID: "proj-a", TraceID: "tr-1"}, {ProjectID: "proj-c", TraceID: "tr-9"},
		{ProjectID: "proj-c", TraceID: "tr-9"}, {ProjectID: "proj-c", TraceID: "tr-missing"},
	}
	if err := w.Write(ctx, batch); err != nil {
		t.Fatalf("Write with deletions: %v", err)
	}
	// The mutation wait makes the deletion visible by the time Write returns.
	want := append(keysOf("proj-a", "tr-2", "a2"), keysOf("proj-b", "tr-1", "b1")...)
	if got := testinfra.RowKeys(t, conn); !reflect.DeepEqual(got, sortedCopy(want)) {
		t.Errorf("rows after deletion:\n got %q\nwant %q", got, sortedCopy(want))
	}
	wantIndexed := []string{
		"observations_by_time proj-a tr-2", "observations_by_time proj-b tr-1",
		"traces_by_time proj-a tr-2", "traces_by_time proj-b tr-1",
	}
	if got := testinfra.IndexKeys(t, conn); !reflect.DeepEqual(got, wantIndexed) {
		t.Errorf("time index rows after deletion:\n got %q\nwant %q", got, wantIndexed)
	}
	if n := testinfra.Metric(t, reg, "agenttrace_worker_deleted_traces_total", "reason", "request"); n != 3 {
		t.Errorf("deleted_traces{reason=request} = %v, want 3 (distinct traces named)", n)
	}

	// Rows written after a deletion are not touched by it.
	if err := w.Write(ctx, traceRows("proj-a", "tr-1", "a1-again", now)); err != nil {
		t.Fatal(err)
	}
	if got := testinfra.RowKeys(t, conn); len(got) != len(want)+3 {
		t.Errorf("a trace ingested again after its deletion: %d rows, want %d", len(got), len(want)+3)
	}
}

func TestDeletionFailures(t *testing.T) {
	cfg, conn := testinfra.ClickHouse(t)
	ctx := context.Background()
	if err := conn.Exec(ctx, "DROP TABLE scores"); err != nil {
		t.Fatal(err)
	}
	w := chstore.NewWriter(conn, chstore.NewMetrics(prometheus.NewRegistry()))
	err := w.Write(ctx, eventrows.Batch{Deletions: []eventrows.Deletion{{ProjectID: "p", TraceID: "t"}}})
	if !errors.Is(err, eventrows.ErrRejected) {
		t.Errorf("deletion on a missing table = %v, want ErrRejected", err)
	}

	// A connection that breaks is not the deletion's fault.
	closed := testinfra.Conn(t, cfg)
	closed.Close()
	down := chstore.NewWriter(closed, chstore.NewMetrics(prometheus.NewRegistry()))
	err = down.Write(ctx, eventrows.Batch{Deletions: []eventrows.Deletion{{ProjectID: "p", TraceID: "t"}}})
	if err == nil || errors.Is(err, eventrows.ErrRejected) {
		t.Errorf("deletion without a server = %v, want a transient error", err)
	}
}

// TestLongDeletionListsAreSplit deletes more ids than fit in one statement.
func TestLongDeletionListsAreSplit(t *testing.T) {
	_, conn := testinfra.ClickHouse(t)
	w := chstore.NewWriter(conn, chstore.NewMetrics(prometheus.NewRegistry()), chstore.WithMutationWait(10*time.Second))
	ctx := context.Background()
	now := uint64(time.Now().UnixNano())
	if err := w.Write(ctx, traceRows("proj-a", "keep", "k", now)); err != nil {
		t.Fatal(err)
	}
	var b eventrows.Batch
	for i := range 1200 { // ~1200 * 200 bytes: two statements
		id := fmt.Sprintf("%0200d", i)
		b.Append(traceRows("proj-a", id, fmt.Sprint(i), now))
		b.Deletions = append(b.Deletions, eventrows.Deletion{ProjectID: "proj-a", TraceID: id})
	}
	if err := w.Write(ctx, b); err != nil {
		t.Fatalf("Write: %v", err)
	}
	if got := testinfra.RowKeys(t, conn); !reflect.DeepEqual(got, keysOf("proj-a", "keep", "k")) {
		t.Errorf("rows left = %d (%q...), want only the kept trace", len(got), got[:min(3, len(got))])
	}
	var mutations uint64
	if err := conn.QueryRow(ctx, "SELECT count() FROM system.mutations WHERE database = currentDatabase() AND table = 'traces'").Scan(&mutations); err != nil {
		t.Fatal(err)
	}
	if mutations != 2 {
		t.Errorf("%d mutations on traces, want the list split in 2", mutations)
	}
}

func sortedCopy(s []string) []string {
	out := slices.Clone(s)
	slices.Sort(out)
	return out
}
