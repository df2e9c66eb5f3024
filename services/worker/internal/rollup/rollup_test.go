package rollup_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"testing"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/agenttrace/agenttrace/pkg/chschema"
	"github.com/agenttrace/agenttrace/services/worker/internal/chstore"
	"github.com/agenttrace/agenttrace/services/worker/internal/eventrows"
	"github.com/agenttrace/agenttrace/services/worker/internal/retention"
	"github.com/agenttrace/agenttrace/services/worker/internal/rollup"
	"github.com/agenttrace/agenttrace/services/worker/internal/testinfra"
)

const project = "p1"

// rolled reads the project's rollup as a reader does (each hour's newest
// recorded generation): "hour|level|release" -> "objects/errors", hours
// counted from h0.
func rolled(t *testing.T, conn driver.Conn, h0 uint64) map[string]string {
	t.Helper()
	rows, err := conn.Query(context.Background(), "SELECT hour, level, release, sum(n), sum(errors_sum) FROM "+chschema.ObservationHours+
		" PREWHERE project_id = ? WHERE "+chschema.RollupSelectLatest+" GROUP BY hour, level, release",
		project, project, chschema.RollupViewObservations, uint64(0), ^uint64(0))
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	out := map[string]string{}
	for rows.Next() {
		var (
			hour           uint64
			level, release string
			n              uint64
			errs           float64
		)
		if err := rows.Scan(&hour, &level, &release, &n, &errs); err != nil {
			t.Fatal(err)
		}
		out[fmt.Sprintf("%d|%s|%s", (hour-h0)/chschema.RollupHour, level, release)] = fmt.Sprintf("%d/%g", n, errs)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// TestRollupFollowsLateVersionsAndDeletions: closed hours are rolled up
// once, and again when a late version of an observation (with or without a
// start time) or of its trace, or a deletion, changes them; nothing else is
// recomputed.
func TestRollupFollowsLateVersionsAndDeletions(t *testing.T) {
	_, conn := testinfra.ClickHouse(t)
	ctx := context.Background()
	hour := chschema.RollupHour
	h0 := uint64(time.Now().Add(-24 * time.Hour).Truncate(time.Hour).UnixNano())
	cfg := rollup.Config{Interval: time.Minute, Settle: 10 * time.Second}
	// The job's clock runs Settle ahead, so it looks at every row written
	// before it runs.
	job := rollup.New(conn, cfg, nil, slog.New(slog.DiscardHandler)).WithClock(func() time.Time { return time.Now().Add(cfg.Settle) })
	event := 0
	obs := func(trace, id string, start uint64, level string) chschema.Observation {
		event++
		return chschema.Observation{ProjectID: project, TraceID: trace, ID: id, Type: "SPAN", Name: "step", StartTime: start,
			EndTime: start + uint64(time.Second), Level: level, EventID: fmt.Sprint("e", event), EventTS: h0 + uint64(event)}
	}
	tr := func(id, release string, ts uint64) chschema.Trace {
		event++
		return chschema.Trace{ProjectID: project, ID: id, Timestamp: ts, Name: "chat", Release: release,
			EventID: fmt.Sprint("e", event), EventTS: h0 + uint64(event)}
	}
	write := func(traces []chschema.Trace, observations []chschema.Observation) {
		t.Helper()
		at := uint64(time.Now().UnixNano())
		if len(traces) > 0 {
			if err := chschema.TraceTable.Insert(ctx, conn, traces, at); err != nil {
				t.Fatal(err)
			}
		}
		if len(observations) > 0 {
			if err := chschema.ObservationTable.Insert(ctx, conn, observations, at); err != nil {
				t.Fatal(err)
			}
		}
	}
	run := func(step string, hours int, want map[string]string) {
		t.Helper()
		rep, err := job.RunOnce(ctx)
		if err != nil {
			t.Fatalf("%s: %v", step, err)
		}
		if rep.Hours != hours {
			t.Errorf("%s: %d hours rolled up, want %d", step, rep.Hours, hours)
		}
		if got := rolled(t, conn, h0); !maps.Equal(got, want) {
			t.Errorf("%s: rollup\n got %v\nwant %v", step, got, want)
		}
	}

	write([]chschema.Trace{tr("t1", "v1", h0), tr("t2", "v2", h0)},
		[]chschema.Observation{obs("t1", "a", h0+10, "DEFAULT"), obs("t1", "b", h0+hour+10, "DEFAULT"), obs("t2", "c", h0+20, "DEFAULT")})
	run("first run", 2, map[string]string{"0|DEFAULT|v1": "1/0", "1|DEFAULT|v1": "1/0", "0|DEFAULT|v2": "1/0"})
	run("nothing new", 0, map[string]string{"0|DEFAULT|v1": "1/0", "1|DEFAULT|v1": "1/0", "0|DEFAULT|v2": "1/0"})

	// An update without a start time: a's hour only.
	update := obs("t1", "a", 0, "ERROR")
	update.EndTime, update.Type, update.Name = 0, "", ""
	write(nil, []chschema.Observation{update})
	run("late update", 1, map[string]string{"0|ERROR|v1": "1/1", "1|DEFAULT|v1": "1/0", "0|DEFAULT|v2": "1/0"})

	// A late observation with a start time.
	write(nil, []chschema.Observation{obs("t2", "d", h0+hour+30, "DEFAULT")})
	run("late observation", 1, map[string]string{"0|ERROR|v1": "1/1", "1|DEFAULT|v1": "1/0", "0|DEFAULT|v2": "1/0", "1|DEFAULT|v2": "1/0"})

	// A trace update (no timestamp): every hour of its observations.
	write([]chschema.Trace{tr("t1", "v3", 0)}, nil)
	run("trace update", 2, map[string]string{"0|ERROR|v3": "1/1", "1|DEFAULT|v3": "1/0", "0|DEFAULT|v2": "1/0", "1|DEFAULT|v2": "1/0"})

	// A deletion: the deleted trace's hours, once it is applied.
	w := chstore.NewWriter(conn, chstore.NewMetrics(prometheus.NewRegistry()), chstore.WithMutationWait(20*time.Second))
	if err := w.Write(ctx, eventrows.Batch{Deletions: []eventrows.Deletion{{ProjectID: project, TraceID: "t2"}}}); err != nil {
		t.Fatal(err)
	}
	run("deletion", 2, map[string]string{"0|ERROR|v3": "1/1", "1|DEFAULT|v3": "1/0"})

	closed, err := chschema.RollupProgressOf(ctx, conn, chschema.RollupViewObservations, chschema.ProgressClosed)
	if err != nil {
		t.Fatal(err)
	}
	if want := uint64(time.Now().Truncate(time.Hour).UnixNano()); closed != want && closed != want-hour {
		t.Errorf("closed up to %d, want the current hour's start %d", closed, want)
	}

	// Retention expires the rollup's hours with the rows.
	if err := w.Purge(ctx, []retention.Cutoff{{ProjectID: project, Before: time.Now().Add(48 * time.Hour)}}); err != nil {
		t.Fatal(err)
	}
	if got := rolled(t, conn, h0); len(got) != 0 {
		t.Errorf("rollup after retention: %v", slices.Sorted(maps.Keys(got)))
	}
	var recorded uint64
	if err := conn.QueryRow(ctx, "SELECT count() FROM "+chschema.RollupHours).Scan(&recorded); err != nil || recorded != 0 {
		t.Errorf("%d rolled up hours recorded after retention (%v)", recorded, err)
	}
}

func TestConfigValidate(t *testing.T) {
	for _, c := range []struct {
		cfg rollup.Config
		ok  bool
	}{
		{rollup.Config{Interval: time.Minute, Settle: 2 * time.Minute}, true},
		{rollup.Config{Interval: 0, Settle: 2 * time.Minute}, true},
		{rollup.Config{Interval: -time.Second, Settle: 2 * time.Minute}, false},
		{rollup.Config{Interval: time.Minute, Settle: time.Second}, false},
	} {
		if err := c.cfg.Validate(); (err == nil) != c.ok {
			t.Errorf("%+v: %v", c.cfg, err)
		}
	}
}

type fakeLease struct {
	held bool
	err  error
}

func (l fakeLease) Acquire(context.Context) (bool, error) { return l.held, l.err }

// TestRunOnceNeedsTheLease: a replica without the lease skips the run, a
// lease that cannot be read fails it, and a run against a database
// without the rollup's tables fails without recording progress.
func TestRunOnceNeedsTheLease(t *testing.T) {
	_, conn := testinfra.ClickHouse(t)
	ctx := context.Background()
	log := slog.New(slog.DiscardHandler)
	cfg := rollup.Config{Interval: time.Minute, Settle: 10 * time.Second}

	rep, err := rollup.New(conn, cfg, fakeLease{held: false}, log).RunOnce(ctx)
	if err != nil || !rep.Skipped {
		t.Errorf("lease held elsewhere: %+v, %v; want skipped", rep, err)
	}
	if _, err := rollup.New(conn, cfg, fakeLease{err: errors.New("nats down")}, log).RunOnce(ctx); err == nil {
		t.Error("a lease error did not fail the run")
	}
	if err := conn.Exec(ctx, "DROP TABLE "+chschema.RollupHours); err != nil {
		t.Fatal(err)
	}
	if err := chschema.ObservationTable.Insert(ctx, conn, []chschema.Observation{{ProjectID: project, TraceID: "t", ID: "o",
		StartTime: uint64(time.Now().Add(-3 * time.Hour).UnixNano()), EventID: "e", EventTS: 1}}, uint64(time.Now().UnixNano())); err != nil {
		t.Fatal(err)
	}
	if _, err := rollup.New(conn, cfg, fakeLease{held: true}, log).RunOnce(ctx); err == nil {
		t.Error("a run that could not record its hours succeeded")
	}
	closed, err := chschema.RollupProgressOf(ctx, conn, chschema.RollupViewObservations, chschema.ProgressClosed)
	if err != nil || closed != 0 {
		t.Errorf("progress after a failed run: %d, %v; want none", closed, err)
	}
}
