// Package eventrows is the worker's domain: it turns the event envelopes that
// ingest publishes into the append-only rows of the ClickHouse model
// (docs/ARCHITECTURE.md, "ClickHouse model") and defines the contract of the
// store that writes them.
//
// Every event becomes exactly one row that holds only the fields the event
// sets; ” / 0 / nil / empty slices mean "not set by this event". Readers merge
// the rows of one id by event_ts, so the worker never reads to write.
package eventrows

import (
	"context"
	"errors"
)

var (
	// ErrUndecodable marks a message that can never become rows (corrupt
	// bytes, missing ids, unknown enum values). Retrying it is pointless.
	ErrUndecodable = errors.New("undecodable event envelope")
	// ErrRejected marks rows the store refused (schema mismatch, bad value).
	// Unlike a connection failure it may be caused by one message of a batch,
	// so the caller retries message by message to isolate it.
	ErrRejected = errors.New("rows rejected by the store")
)

// Trace is one version of a trace (table traces).
type Trace struct {
	ProjectID      string
	ID             string
	Timestamp      uint64
	Name           string
	UserID         string
	SessionID      string
	Tags           []string
	MetadataKeys   []string
	MetadataValues []string
	Input          string
	Output         string
	Release        string
	Version        string
	Environment    string
	EventID        string
	EventTS        uint64
}

// Observation is one version of an observation (table observations).
type Observation struct {
	ProjectID             string
	TraceID               string
	ID                    string
	ParentObservationID   string
	Type                  string
	Name                  string
	StartTime             uint64
	EndTime               uint64
	CompletionStartTime   uint64
	Level                 string
	StatusMessage         string
	Model                 string
	ModelParametersKeys   []string
	ModelParametersValues []string
	UsageInput            *int64
	UsageOutput           *int64
	UsageTotal            *int64
	UsageDetailsKeys      []string
	UsageDetailsValues    []int64
	CostInput             *float64
	CostOutput            *float64
	CostTotal             *float64
	Input                 string
	Output                string
	MetadataKeys          []string
	MetadataValues        []string
	Version               string
	Environment           string
	EventID               string
	EventTS               uint64
}

// Score is one version of a score (table scores).
type Score struct {
	ProjectID      string
	ID             string
	TraceID        string
	ObservationID  string
	SessionID      string
	Name           string
	DataType       string
	Value          *float64
	StringValue    string
	Comment        string
	Source         string
	Timestamp      uint64
	MetadataKeys   []string
	MetadataValues []string
	Environment    string
	EventID        string
	EventTS        uint64
}

// Batch is the rows of one or more messages, grouped by table.
type Batch struct {
	Traces       []Trace
	Observations []Observation
	Scores       []Score
}

// Len is the number of rows in b.
func (b Batch) Len() int { return len(b.Traces) + len(b.Observations) + len(b.Scores) }

// Append adds the rows of o to b.
func (b *Batch) Append(o Batch) {
	b.Traces = append(b.Traces, o.Traces...)
	b.Observations = append(b.Observations, o.Observations...)
	b.Scores = append(b.Scores, o.Scores...)
}

// Writer stores rows. Write either stores every row of the batch or returns
// an error; a failed Write may have stored some tables' rows, which is safe
// because a row written twice (same event_id) does not change the merge.
// Errors wrap ErrRejected when the store refused the rows themselves; any
// other error means the store could not be reached and the rows may succeed
// unchanged later.
type Writer interface {
	Write(ctx context.Context, b Batch) error
}
