// Package rollup is the worker's metrics rollup job: on a schedule it rolls
// up the observations of every hour that has closed, and rolls up again the
// closed hours that late versions or deletions have touched since its last
// run (chschema.RollupObservationHours; see pkg/chschema/rollup.go for the
// tables and how readers use them).
//
// What makes an hour dirty, between two runs (rows the worker wrote in
// (ingested, now - Settle]):
//   - it closed: its end is now Settle in the past (every project's hours
//     from the previous "closed" mark to the new one, found in the time
//     index);
//   - a row written since the last run has its start time in it;
//   - a row written since the last run updates an observation (no start
//     time of its own) whose other versions start in it;
//   - a row written since the last run updates a trace (its name and
//     release are dimensions) with observations in it, unless the row
//     dates the trace in a still open hour;
//   - a trace deletion marked it (rollup_marks), and the deletions have been
//     applied.
//
// Settle is the longest a write may take between stamping ingested_at and
// becoming visible; a run never looks at rows younger than that, so none is
// missed. Until the next run looks at them, a closed hour's rollup does not
// yet count late versions: the metrics of closed hours lag late data by up
// to Interval + Settle.
//
// Not detected: an observation whose later version moves its start time
// out of an already rolled up hour into a still open one keeps being
// counted in the old hour (SDKs send one start time per observation); a
// trace update dated in an open hour does not reach its observations in
// closed hours (an SDK dates a trace by its start).
//
// One replica runs per interval (a lease); two overlapping runs are
// harmless: each computation is a new generation of its hours.
package rollup

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"

	"github.com/agenttrace/agenttrace/pkg/chschema"
	"github.com/agenttrace/agenttrace/services/worker/internal/lease"
)

// Config schedules the job; env tags are read with the AGENTTRACE_ prefix.
type Config struct {
	// Interval between runs; 0 disables the job (the metrics API then
	// reads every hour from the raw rows).
	Interval time.Duration `env:"WORKER_ROLLUP_INTERVAL" envDefault:"1m"`
	// Settle is how long after an hour's end it closes, and how old a
	// written row must be before a run looks at it: more than the longest
	// insert.
	Settle time.Duration `env:"WORKER_ROLLUP_SETTLE" envDefault:"2m"`
}

// Validate reports settings the job cannot run with.
func (c Config) Validate() error {
	if c.Interval < 0 {
		return fmt.Errorf("WORKER_ROLLUP_INTERVAL must not be negative, got %s", c.Interval)
	}
	if c.Settle < 10*time.Second {
		return fmt.Errorf("WORKER_ROLLUP_SETTLE must be at least 10s, got %s", c.Settle)
	}
	return nil
}

// Enabled says whether the job runs at all.
func (c Config) Enabled() bool { return c.Interval > 0 }

// Lease lets one replica run per interval.
type Lease interface {
	Acquire(ctx context.Context) (bool, error)
}

// Job is the rollup job.
type Job struct {
	conn  driver.Conn
	cfg   Config
	lease Lease // nil: always run
	log   *slog.Logger
	now   func() time.Time
}

// New returns the job over conn's database.
func New(conn driver.Conn, cfg Config, lease Lease, log *slog.Logger) *Job {
	return &Job{conn: conn, cfg: cfg, lease: lease, log: log, now: time.Now}
}

// WithClock makes the job read the time from now (tests).
func (j *Job) WithClock(now func() time.Time) *Job {
	j.now = now
	return j
}

// Run runs the job every Interval until ctx ends.
func (j *Job) Run(ctx context.Context) error {
	return lease.Every(ctx, j.cfg.Interval, j.log, "metrics rollup", func(ctx context.Context) error {
		_, err := j.RunOnce(ctx)
		return err
	})
}

// Report says what a run did.
type Report struct {
	// Skipped: another replica holds the lease, or deletions are still
	// being applied.
	Skipped bool
	// Hours rolled up, over all projects.
	Hours int
}

// hoursPerStatement bounds one computation (about 14k observations an hour
// at 10M observations a month).
const hoursPerStatement = 24

// RunOnce runs the job once, if this replica gets the lease.
func (j *Job) RunOnce(ctx context.Context) (Report, error) {
	if j.lease != nil {
		ok, err := j.lease.Acquire(ctx)
		if err != nil {
			return Report{}, fmt.Errorf("acquire lease: %w", err)
		}
		if !ok {
			return Report{Skipped: true}, nil
		}
	}
	pending, err := j.deletionsPending(ctx)
	if err != nil {
		return Report{}, err
	}
	if pending {
		// Marks of deleted rows' hours must not be consumed before the
		// rows are gone; nothing is lost by waiting a run.
		j.log.InfoContext(ctx, "metrics rollup waits for deletions to be applied")
		return Report{Skipped: true}, nil
	}
	const view = chschema.RollupViewObservations
	closed, err := chschema.RollupProgressOf(ctx, j.conn, view, chschema.ProgressClosed)
	if err != nil {
		return Report{}, err
	}
	ingested, err := chschema.RollupProgressOf(ctx, j.conn, view, chschema.ProgressIngested)
	if err != nil {
		return Report{}, err
	}
	now := uint64(j.now().UnixNano())
	upTo := now - uint64(j.cfg.Settle)
	closing := upTo / chschema.RollupHour * chschema.RollupHour

	dirty := map[string][]uint64{}
	if closing > closed {
		hours, err := chschema.ObservationHoursIn(ctx, j.conn, closed, closing)
		if err != nil {
			return Report{}, fmt.Errorf("find closed hours: %w", err)
		}
		for p, hs := range hours {
			dirty[p] = append(dirty[p], hs...)
		}
	}
	if upTo > ingested && closed > 0 {
		if err := j.collect(ctx, dirty, lateSQL, ingested, upTo, closed); err != nil {
			return Report{}, fmt.Errorf("find hours with late versions: %w", err)
		}
		if err := j.collect(ctx, dirty, updatedSQL, ingested, upTo, closed); err != nil {
			return Report{}, fmt.Errorf("find hours with late updates: %w", err)
		}
		if err := j.collect(ctx, dirty, tracesSQL, ingested, upTo, closed, closed); err != nil {
			return Report{}, fmt.Errorf("find hours with late trace versions: %w", err)
		}
		if err := j.collect(ctx, dirty, markedSQL, view, ingested, upTo, closed); err != nil {
			return Report{}, fmt.Errorf("find marked hours: %w", err)
		}
	}
	rep := Report{}
	projects := make([]string, 0, len(dirty))
	for p := range dirty {
		projects = append(projects, p)
	}
	slices.Sort(projects)
	for _, p := range projects {
		hours := dirty[p]
		slices.Sort(hours)
		hours = slices.Compact(hours)
		for chunk := range slices.Chunk(hours, hoursPerStatement) {
			if err := chschema.RollupObservationHours(ctx, j.conn, p, chunk, uint64(j.now().UnixNano())); err != nil {
				return rep, fmt.Errorf("project %s: %w", p, err)
			}
			rep.Hours += len(chunk)
		}
	}
	// Progress only after every hour is written: a failed run is retried
	// whole.
	if closing > closed {
		if err := chschema.SetRollupProgress(ctx, j.conn, view, chschema.ProgressClosed, closing); err != nil {
			return rep, err
		}
	}
	if upTo > ingested {
		if err := chschema.SetRollupProgress(ctx, j.conn, view, chschema.ProgressIngested, upTo); err != nil {
			return rep, err
		}
	}
	if rep.Hours > 0 {
		j.log.InfoContext(ctx, "metrics rollup", "hours", rep.Hours, "projects", len(projects))
	}
	return rep, nil
}

// The dirty hours' queries, each (project_id, hour).
var (
	// lateSQL: rows written in (ingested, upTo] starting before closed.
	lateSQL = "SELECT DISTINCT " + chschema.ColProjectID + ", " + chschema.HourOf(chschema.ColStartTime) +
		" FROM " + chschema.Observations + " PREWHERE " + chschema.ColIngestedAt + " > ? AND " + chschema.ColIngestedAt + " <= ?" +
		" WHERE " + chschema.ColStartTime + " != 0 AND " + chschema.ColStartTime + " < ?"
	// updatedSQL: the start hours, before closed, of the observations
	// that rows without a start time written in (ingested, upTo] update.
	updatedSQL = "SELECT DISTINCT " + chschema.ColProjectID + ", " + chschema.HourOf(chschema.ColStartTime) +
		" FROM " + chschema.Observations + " PREWHERE (" + chschema.ColProjectID + ", " + chschema.ObservationKey + ") IN (" +
		"SELECT " + chschema.ColProjectID + ", " + chschema.ObservationKey + " FROM " + chschema.Observations +
		" PREWHERE " + chschema.ColIngestedAt + " > ? AND " + chschema.ColIngestedAt + " <= ? WHERE " + chschema.ColStartTime + " = 0)" +
		" WHERE " + chschema.ColStartTime + " != 0 AND " + chschema.ColStartTime + " < ?"
	// tracesSQL: the start hours, before closed, of the observations of
	// traces that rows written in (ingested, upTo] update, unless the row
	// dates the trace in an open hour (a new trace, whose observations are
	// rolled up when their hours close).
	tracesSQL = "SELECT DISTINCT " + chschema.ColProjectID + ", " + chschema.HourOf(chschema.ColStartTime) +
		" FROM " + chschema.Observations + " PREWHERE (" + chschema.ColProjectID + ", " + chschema.ColTraceID + ") IN (" +
		"SELECT " + chschema.ColProjectID + ", " + chschema.ColID + " FROM " + chschema.Traces +
		" PREWHERE " + chschema.ColIngestedAt + " > ? AND " + chschema.ColIngestedAt + " <= ? WHERE " + chschema.ColTimestamp + " < ?)" +
		" WHERE " + chschema.ColStartTime + " != 0 AND " + chschema.ColStartTime + " < ?"
	// markedSQL: hours marked in (ingested, upTo] before closed.
	markedSQL = "SELECT DISTINCT " + chschema.ColProjectID + ", hour FROM " + chschema.RollupMarks +
		" WHERE view = ? AND marked_at > ? AND marked_at <= ? AND hour < ?"
)

func (j *Job) collect(ctx context.Context, into map[string][]uint64, sql string, args ...any) error {
	rows, err := j.conn.Query(ctx, sql, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var (
			project string
			hour    uint64
		)
		if err := rows.Scan(&project, &hour); err != nil {
			return err
		}
		into[project] = append(into[project], hour)
	}
	return rows.Err()
}

// stuckMutation is how old an unfinished mutation may be and still hold
// the job back; an older one has failed, and waiting would stop the
// rollups for good.
const stuckMutation = time.Hour

// deletionsPending says whether ClickHouse is still applying a deletion of
// observations (started within stuckMutation).
func (j *Job) deletionsPending(ctx context.Context) (bool, error) {
	rows, err := j.conn.Query(ctx, "SELECT count() FROM system.mutations WHERE database = currentDatabase() AND table = ? "+
		"AND is_done = 0 AND create_time > now() - ?", chschema.Observations, int64(stuckMutation.Seconds()))
	if err != nil {
		return false, fmt.Errorf("read pending deletions: %w", err)
	}
	defer rows.Close()
	var n uint64
	if rows.Next() {
		if err := rows.Scan(&n); err != nil {
			return false, fmt.Errorf("read pending deletions: %w", err)
		}
	}
	if err := rows.Err(); err != nil {
		return false, errors.Join(fmt.Errorf("read pending deletions"), err)
	}
	return n > 0, nil
}
