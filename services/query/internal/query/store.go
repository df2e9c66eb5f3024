package query

import (
	"context"
	"errors"
	"fmt"
	"time"

	commonv1 "github.com/agenttrace/agenttrace/pkg/gen/agenttrace/common/v1"
)

// Store reads merged objects of one project; chstore.Store implements it
// over ClickHouse. Reads that fail because the storage cannot answer now
// wrap ErrUnavailable.
type Store interface {
	// TraceDays is the span of days on which the traces have rows (found
	// is false when none has any), for the reads below to prune by.
	TraceDays(ctx context.Context, projectID string, traceIDs []string) (Days, bool, error)
	Trace(ctx context.Context, projectID, traceID string, days Days) (*commonv1.Trace, bool, error)
	TraceObservationPage(ctx context.Context, projectID, traceID string, days Days, page Page, fields ObservationFields) ([]*commonv1.Observation, error)
	// Observation merges one observation of a trace stored on days, every
	// field; found is false when it has no rows there.
	Observation(ctx context.Context, projectID, traceID, id string, days Days) (*commonv1.Observation, bool, error)
	TraceScores(ctx context.Context, projectID, traceID string) ([]*commonv1.Score, error)
	// TracesScores is TraceScores for a page of traces, by trace id.
	TracesScores(ctx context.Context, projectID string, traceIDs []string) (map[string][]*commonv1.Score, error)
	TraceStats(ctx context.Context, projectID string, traceIDs []string, days Days) (map[string]*TraceStats, error)
	// ListTraces is the ids of one page of traces, newest first, and the
	// days they have rows on; Traces merges them (those with rows on days,
	// by id).
	ListTraces(ctx context.Context, projectID string, f TraceFilter, page Page) ([]string, Days, error)
	Traces(ctx context.Context, projectID string, ids []string, days Days) (map[string]*commonv1.Trace, error)
	ListObservations(ctx context.Context, projectID string, f ObservationFilter, page Page) ([]*commonv1.Observation, error)
	ListScores(ctx context.Context, projectID string, f ScoreFilter, page Page) ([]*commonv1.Score, error)
	// ListSessions is one page of sessions, most recently active first,
	// each with its traces, and days on which all their traces have rows
	// (every day when the read did not tell: SessionDays then does).
	ListSessions(ctx context.Context, projectID string, f SessionFilter, page Page) ([]SessionRow, Days, error)
	// SessionDays is the span of days on which the traces of the sessions
	// have rows, for the reads below to prune by (every day when none has).
	SessionDays(ctx context.Context, projectID string, sessionIDs []string) (Days, error)
	// SessionTraceStats is TraceStats for the traces of the sessions; it may
	// include traces that have since moved to another session.
	SessionTraceStats(ctx context.Context, projectID string, sessionIDs []string, days Days) (map[string]*TraceStats, error)
	// Session summarizes a session (trace count, first and last seen,
	// users; no usage or cost) with its traces; found is false when no
	// trace is in it.
	Session(ctx context.Context, projectID, sessionID string, days Days) (row SessionRow, found bool, err error)
	// SessionTraces is one page of the session's traces, oldest first
	// (timestamp, then id), after page.After.
	SessionTraces(ctx context.Context, projectID, sessionID string, days Days, page Page) ([]*commonv1.Trace, error)
	// SessionScores are the scores of the session itself and of the given
	// traces (a page of the session's), oldest first.
	SessionScores(ctx context.Context, projectID, sessionID string, traceIDs []string) ([]*commonv1.Score, error)
	MetricsStore
}

var (
	// ErrUnavailable: the store cannot answer now (not connected yet, not
	// reachable, its schema not migrated yet); the caller should retry.
	ErrUnavailable = errors.New("trace storage unavailable")
	// ErrNotConnected: the store has no connection yet; it is
	// ErrUnavailable too.
	ErrNotConnected = fmt.Errorf("%w: not connected yet", ErrUnavailable)
)

// Cursor is the position of the last row of the previous page in a list
// ordered by (TS, ID, Tie) (descending for the lists, ascending for a
// trace's observations); the next page starts strictly after it.
type Cursor struct {
	TS  uint64
	ID  string
	Tie string // the trace id for observations, whose identity is (trace_id, id); else empty
}

// ObservationFields selects the fields of the observations a read returns.
type ObservationFields int

const (
	AllFields   ObservationFields = iota
	BasicFields                   // all but input and output
)

// Page selects one page of a list.
type Page struct {
	After *Cursor // nil for the first page
	Limit int
}

// Days narrows a read to the rows stored on the days from First to Last
// (inclusive, UTC dates), which lets ClickHouse skip the partitions of other
// months; the zero value reads every day.
type Days struct {
	First, Last time.Time
}

// All reports whether d reads every day.
func (d Days) All() bool { return d.First.IsZero() }

// Span is the fewest days that cover both d and e.
func (d Days) Span(e Days) Days {
	if d.All() || e.All() {
		return Days{}
	}
	if e.First.Before(d.First) {
		d.First = e.First
	}
	if e.Last.After(d.Last) {
		d.Last = e.Last
	}
	return d
}

// TimeRange bounds a timestamp in nanoseconds: From inclusive, To exclusive;
// zero means unbounded.
type TimeRange struct {
	From, To uint64
}

// TraceFilter selects traces by their merged values; empty fields match all.
type TraceFilter struct {
	Time        TimeRange // on the trace timestamp
	Name        string
	UserID      string
	SessionID   string
	Tags        []string // all of them
	Environment string
	Release     string
	Search      *Search
}

// ObservationFilter selects observations by their merged values; zero
// fields match all.
type ObservationFilter struct {
	TraceID string
	Type    commonv1.ObservationType
	Model   string
	Level   commonv1.ObservationLevel
	Name    string
	Time    TimeRange // on start_time
	Search  *Search
}

// ScoreFilter selects scores by their merged values; zero fields match all.
type ScoreFilter struct {
	TraceID       string
	ObservationID string
	SessionID     string
	Name          string
	Source        commonv1.ScoreSource
	DataType      commonv1.ScoreDataType
	Time          TimeRange // on the score timestamp
}

// SessionRow is a session as the store reads it: its summary (no usage
// or cost) and the ids of its traces, whose totals give those.
type SessionRow struct {
	Session  *commonv1.Session
	TraceIDs []string
}

// SessionFilter selects sessions; zero fields match all.
type SessionFilter struct {
	// Time keeps sessions active during the range: last seen at or after
	// From and first seen before To.
	Time   TimeRange
	UserID string // sessions with a trace of this user
}

// TraceStats are the fields derived from a trace's merged observations.
type TraceStats struct {
	ObservationCount int64
	Usage            *commonv1.Usage // sums; nil when no observation has usage
	Cost             *commonv1.Cost  // sums; nil when no observation has cost
	MinStart         uint64          // earliest set start_time, 0 when none
	MaxEnd           uint64          // latest set end_time, 0 when none
	Updated          uint64          // newest event_ts of any observation version
	ErrorCount       int64           // observations at level ERROR
	WarningCount     int64           // observations at level WARNING
	Models           []string        // distinct models, sorted; at most MaxTraceModels
}

// MaxTraceModels bounds the models a trace's totals name (a page of traces
// must stay light whatever an agent called).
const MaxTraceModels = 10
