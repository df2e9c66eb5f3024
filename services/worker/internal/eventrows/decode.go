package eventrows

import (
	"fmt"

	"google.golang.org/protobuf/proto"

	"github.com/agenttrace/agenttrace/pkg/chschema"
	ingestv1 "github.com/agenttrace/agenttrace/pkg/gen/agenttrace/ingest/v1"
)

// Message is the decoded content of one stream message.
type Message struct {
	ProjectID string
	Events    int
	Rows      Batch
}

// Decode parses a protobuf ingestv1.EventEnvelope, expands an OTLP export
// request it carries into events (ExpandOTLP) and converts each event to a
// row. Any problem makes the whole message undecodable: the
// envelope is one ingest request and is dead-lettered and replayed as a unit.
func Decode(data []byte) (Message, error) {
	var env ingestv1.EventEnvelope
	if err := proto.Unmarshal(data, &env); err != nil {
		return Message{}, fmt.Errorf("%w: %w", ErrUndecodable, err)
	}
	if err := ExpandOTLP(&env); err != nil {
		return Message{}, err
	}
	b, err := FromEnvelope(&env)
	if err != nil {
		return Message{}, err
	}
	return Message{ProjectID: env.GetProjectId(), Events: len(env.GetEvents()), Rows: b}, nil
}

// FromEnvelope converts the events of env to rows, one per event.
func FromEnvelope(env *ingestv1.EventEnvelope) (Batch, error) {
	var b Batch
	project := env.GetProjectId()
	if project == "" {
		return Batch{}, fmt.Errorf("%w: envelope has no project_id", ErrUndecodable)
	}
	// Ingest stamps every event's timestamp; received_at covers an older
	// publisher that did not.
	fallback, err := chschema.Nanos(env.GetReceivedAt())
	if err != nil {
		return Batch{}, fmt.Errorf("%w: received_at: %w", ErrUndecodable, err)
	}
	deletes := 0
	for i, ev := range env.GetEvents() {
		if ev.GetType() == ingestv1.EventType_EVENT_TYPE_TRACE_DELETE {
			deletes++
		}
		if err := appendEvent(&b, project, fallback, ev); err != nil {
			return Batch{}, fmt.Errorf("%w: event %d (%q): %w", ErrUndecodable, i, ev.GetId(), err)
		}
	}
	// Ingest publishes a deletion alone in its envelope. A mix would leave
	// open whether the rows beside it are to be deleted, so it is refused.
	if deletes > 0 && deletes < len(env.GetEvents()) {
		return Batch{}, fmt.Errorf("%w: envelope mixes %d trace deletions with other events", ErrUndecodable, deletes)
	}
	return b, nil
}

func appendEvent(b *Batch, project string, fallbackTS uint64, ev *ingestv1.IngestEvent) error {
	if ev.GetId() == "" {
		return fmt.Errorf("missing id")
	}
	ts, err := chschema.Nanos(ev.GetTimestamp())
	if err != nil {
		return fmt.Errorf("timestamp: %w", err)
	}
	if ts == 0 {
		ts = fallbackTS
	}
	if ts == 0 {
		return fmt.Errorf("no timestamp and no received_at")
	}
	meta := chschema.Event{ProjectID: project, ID: ev.GetId(), TS: ts}
	switch ev.GetType() {
	case ingestv1.EventType_EVENT_TYPE_TRACE_CREATE, ingestv1.EventType_EVENT_TYPE_TRACE_UPDATE:
		if ev.GetTrace() == nil {
			return fmt.Errorf("%s without trace body", ev.GetType())
		}
		row, err := chschema.TraceRow(meta, ev.GetTrace())
		if err != nil {
			return err
		}
		b.Traces = append(b.Traces, row)
	case ingestv1.EventType_EVENT_TYPE_OBSERVATION_CREATE, ingestv1.EventType_EVENT_TYPE_OBSERVATION_UPDATE:
		if ev.GetObservation() == nil {
			return fmt.Errorf("%s without observation body", ev.GetType())
		}
		row, err := chschema.ObservationRow(meta, ev.GetObservation())
		if err != nil {
			return err
		}
		b.Observations = append(b.Observations, row)
	case ingestv1.EventType_EVENT_TYPE_SCORE_CREATE, ingestv1.EventType_EVENT_TYPE_SCORE_UPDATE:
		if ev.GetScore() == nil {
			return fmt.Errorf("%s without score body", ev.GetType())
		}
		row, err := chschema.ScoreRow(meta, ev.GetScore())
		if err != nil {
			return err
		}
		b.Scores = append(b.Scores, row)
	case ingestv1.EventType_EVENT_TYPE_TRACE_DELETE:
		if ev.GetTrace().GetId() == "" {
			return fmt.Errorf("%s without trace.id", ev.GetType())
		}
		b.Deletions = append(b.Deletions, Deletion{ProjectID: project, TraceID: ev.GetTrace().GetId()})
	default:
		return fmt.Errorf("unsupported event type %v", ev.GetType())
	}
	return nil
}
