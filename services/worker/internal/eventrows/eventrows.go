// Package eventrows is the worker's domain: it turns the event envelopes that
// ingest publishes into the append-only rows of the ClickHouse model
// (docs/ARCHITECTURE.md, "ClickHouse model") and defines the contract of the
// store that writes them.
//
// Every event becomes exactly one row (pkg/chschema's row types and
// encodings) that holds only the fields the event sets; readers merge the
// rows of one id by event_ts, so the worker never reads to write.
package eventrows

import (
	"context"
	"errors"

	"github.com/agenttrace/agenttrace/pkg/chschema"
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

// Deletion asks for a trace to be deleted with its observations and scores
// (EVENT_TYPE_TRACE_DELETE, published by ingest's DeleteTrace).
type Deletion struct {
	ProjectID string
	TraceID   string
}

// Batch is the rows of one or more messages, grouped by table, and the
// deletions that follow them.
type Batch struct {
	Traces       []chschema.Trace
	Observations []chschema.Observation
	Scores       []chschema.Score
	// Deletions apply after the rows above are stored, and to them too.
	Deletions []Deletion
}

// Len is the number of rows and deletions in b.
func (b Batch) Len() int { return b.Rows() + len(b.Deletions) }

// Rows is the number of rows in b.
func (b Batch) Rows() int { return len(b.Traces) + len(b.Observations) + len(b.Scores) }

// Append adds the rows and deletions of o to b.
func (b *Batch) Append(o Batch) {
	b.Traces = append(b.Traces, o.Traces...)
	b.Observations = append(b.Observations, o.Observations...)
	b.Scores = append(b.Scores, o.Scores...)
	b.Deletions = append(b.Deletions, o.Deletions...)
}

// Writer stores rows and carries out deletions. Write stores every row of
// the batch, then deletes each deleted trace's rows (those of the batch
// included), or returns an error; a failed Write may have stored some
// tables' rows or run some deletions, which is safe because a row written
// twice (same event_id) does not change the merge and a deletion run twice
// deletes nothing more. Errors wrap ErrRejected when the store refused the
// rows or deletions themselves; any other error means the store could not
// be reached and the batch may succeed unchanged later.
//
// Callers must not put rows into a batch after a deletion: they would be
// deleted too, though they arrived after it.
type Writer interface {
	Write(ctx context.Context, b Batch) error
}
