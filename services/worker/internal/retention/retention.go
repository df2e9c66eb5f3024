// Package retention is the worker's retention job: on a schedule it asks
// auth for every project's retention period, and deletes from ClickHouse the
// rows older than it, auditing each project's deletion before it happens.
//
// What is deleted: every row (version) whose event date (the partition
// date, the day of the event's timestamp in the ClickHouse server's time
// zone) lies before the day of now minus retention_days. Rows are kept at
// least retention_days and at most one day longer. Whole days, rather than
// the exact instant, mean a project's expired set grows once a day, so most
// hourly runs find nothing to delete and issue no mutation at all (each
// mutation rewrites table parts, which is costly). The event date, rather
// than a trace's or observation's own time, is used because it is the one
// time every row carries (update rows leave the body's times unset) and
// because ClickHouse prunes partitions by it. A trace still receiving
// events across the cutoff loses only its older versions; its newer ones
// remain until they expire in turn.
//
// Only one replica runs per interval: a run first takes a lease that
// expires shortly before the next interval (see Lease). Should two runs
// overlap anyway (a run longer than the interval), nothing breaks: the
// deletions are idempotent; the audit log would show both runs.
package retention

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"time"

	"github.com/agenttrace/agenttrace/services/worker/internal/lease"
)

// ActionRetentionRun is the audit action of one project's retention
// deletion.
const ActionRetentionRun = "retention.run"

// Config schedules the job; the env tag is read with the AGENTTRACE_ prefix.
type Config struct {
	// Interval between runs; 0 disables the job.
	Interval time.Duration `env:"WORKER_RETENTION_INTERVAL" envDefault:"1h"`
}

// Validate reports settings the job cannot run with.
func (c Config) Validate() error {
	if c.Interval < 0 {
		return fmt.Errorf("WORKER_RETENTION_INTERVAL must not be negative, got %s", c.Interval)
	}
	return nil
}

// Enabled says whether the job runs at all.
func (c Config) Enabled() bool { return c.Interval > 0 }

// Policy is a project's retention period.
type Policy struct {
	ProjectID string
	Days      int
}

// Cutoff is what to delete in one project: rows dated before Before's day.
type Cutoff struct {
	ProjectID string
	Days      int
	Before    time.Time
}

// Expired is what a project holds beyond its cutoff.
type Expired struct {
	// Rows by kind of object (chschema.KindTraces, …).
	Rows map[string]uint64
	// Traces is the number of distinct traces with expired rows: those the
	// deletion removes wholly or in part.
	Traces uint64
}

// Total is the number of expired rows over every table.
func (e Expired) Total() uint64 {
	var n uint64
	for _, r := range e.Rows {
		n += r
	}
	return n
}

// Policies lists the retention periods of every project that has one.
type Policies interface {
	RetentionPolicies(ctx context.Context) ([]Policy, error)
}

// AuditRecord is one project's deletion, to be recorded before it happens.
type AuditRecord struct {
	Cutoff  Cutoff
	Expired Expired
}

// Auditor records deletions in the audit log; nil error means recorded.
type Auditor interface {
	RecordRetentionRun(ctx context.Context, r AuditRecord) error
}

// Store finds and deletes expired rows.
type Store interface {
	// Expired returns, for each project with rows beyond its cutoff, what
	// those rows are; projects with none are absent.
	Expired(ctx context.Context, cutoffs []Cutoff) (map[string]Expired, error)
	// Purge deletes the rows beyond each cutoff from every table. It
	// returns once the deletion is registered (durable) in the store; the
	// rows may disappear a little later.
	Purge(ctx context.Context, cutoffs []Cutoff) error
}

// Lease lets one replica at a time run the job.
type Lease interface {
	// Acquire returns true when this replica may run now; false when
	// another one ran (or runs) within the current interval.
	Acquire(ctx context.Context) (bool, error)
}

// Deps are what a Job works with.
type Deps struct {
	Log      *slog.Logger
	Policies Policies
	Auditor  Auditor
	Store    Store
	Lease    Lease
	Metrics  *Metrics
	// Now is the clock; time.Now when nil.
	Now func() time.Time
}

// Job runs retention on a schedule.
type Job struct {
	Deps
	cfg Config
}

// New builds a job.
func New(d Deps, cfg Config) *Job {
	if d.Now == nil {
		d.Now = time.Now
	}
	return &Job{Deps: d, cfg: cfg}
}

// ErrAudit: a project's deletion could not be audited, so it (and those
// after it) were not deleted in this run.
var ErrAudit = errors.New("cannot audit retention deletion")

// Run runs once at once, then every interval, until ctx ends. A failed run
// is logged and counted; the next interval retries it.
func (j *Job) Run(ctx context.Context) error {
	return lease.Every(ctx, j.cfg.Interval, j.Log, "retention run", func(ctx context.Context) error {
		_, err := j.RunOnce(ctx)
		return err
	})
}

// Report says what a run did.
type Report struct {
	// Skipped: another replica holds the lease for this interval.
	Skipped bool
	// Purged are the projects whose expired rows were deleted.
	Purged []Cutoff
	// Traces deleted wholly or in part.
	Traces uint64
}

// RunOnce runs the job once, if this replica gets the lease.
func (j *Job) RunOnce(ctx context.Context) (Report, error) {
	rep, err := j.run(ctx)
	switch {
	case err != nil && ctx.Err() != nil:
		// Cut short by shutdown: neither a failure nor a run.
	case err != nil:
		j.Metrics.run(outcomeFailed)
	case rep.Skipped:
		j.Metrics.run(outcomeSkipped)
	default:
		j.Metrics.run(outcomeSucceeded)
	}
	return rep, err
}

func (j *Job) run(ctx context.Context) (Report, error) {
	ok, err := j.Lease.Acquire(ctx)
	if err != nil {
		return Report{}, fmt.Errorf("acquire lease: %w", err)
	}
	if !ok {
		j.Log.DebugContext(ctx, "retention ran on another replica this interval")
		return Report{Skipped: true}, nil
	}
	policies, err := j.Policies.RetentionPolicies(ctx)
	if err != nil {
		return Report{}, fmt.Errorf("list retention policies: %w", err)
	}
	cutoffs := j.cutoffs(policies)
	if len(cutoffs) == 0 {
		return Report{}, nil
	}
	expired, err := j.Store.Expired(ctx, cutoffs)
	if err != nil {
		return Report{}, fmt.Errorf("count expired rows: %w", err)
	}

	// Audit first: a deletion is never carried out without its record. On
	// the first failure the projects audited so far are still purged (they
	// have their record); the others wait for the next run.
	var (
		rep      Report
		auditErr error
	)
	for _, c := range cutoffs {
		e, ok := expired[c.ProjectID]
		if !ok || e.Total() == 0 {
			continue
		}
		if err := j.Auditor.RecordRetentionRun(ctx, AuditRecord{Cutoff: c, Expired: e}); err != nil {
			auditErr = fmt.Errorf("%w: project %s: %w", ErrAudit, c.ProjectID, err)
			break
		}
		rep.Purged = append(rep.Purged, c)
		rep.Traces += e.Traces
	}
	if len(rep.Purged) > 0 {
		if err := j.Store.Purge(ctx, rep.Purged); err != nil {
			return Report{}, errors.Join(fmt.Errorf("purge expired rows: %w", err), auditErr)
		}
		j.Metrics.deleted(rep.Traces)
		for _, c := range rep.Purged {
			e := expired[c.ProjectID]
			j.Log.InfoContext(ctx, "expired rows deleted", "project_id", c.ProjectID, "retention_days", c.Days,
				"cutoff", c.Before, "rows", e.Total(), "traces", e.Traces)
		}
	}
	return rep, auditErr
}

// cutoffs turns policies into cutoffs, ignoring projects that keep data
// for ever, in a stable order.
func (j *Job) cutoffs(policies []Policy) []Cutoff {
	now := j.Now()
	var out []Cutoff
	for _, p := range policies {
		if p.Days <= 0 || p.ProjectID == "" {
			continue
		}
		out = append(out, Cutoff{ProjectID: p.ProjectID, Days: p.Days, Before: now.Add(-time.Duration(p.Days) * 24 * time.Hour)})
	}
	slices.SortFunc(out, func(a, b Cutoff) int { return strings.Compare(a.ProjectID, b.ProjectID) })
	return out
}
