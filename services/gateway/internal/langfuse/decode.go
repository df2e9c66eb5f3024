package langfuse

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"

	"google.golang.org/protobuf/types/known/timestamppb"

	commonv1 "github.com/agenttrace/agenttrace/pkg/gen/agenttrace/common/v1"
	ingestv1 "github.com/agenttrace/agenttrace/pkg/gen/agenttrace/ingest/v1"
)

// unknownID stands for an event id the request did not give as a string,
// as Langfuse reports it.
const unknownID = "unknown"

// batch is a decoded POST /api/public/ingestion body.
type batch struct {
	items []item
	// metadata is the batch's own metadata (the SDK's name and version),
	// kept for the debug log only.
	metadata json.RawMessage
}

// item is one Langfuse event of a batch and what it became.
type item struct {
	// id is the Langfuse event id, echoed in successes and errors.
	id  string
	typ string
	// events are the native events the Langfuse event maps to: one, or
	// two when an observation implies its trace.
	events []*ingestv1.IngestEvent
	// err is set when the event could not be mapped; it fails this event
	// only.
	err *fieldError
	// log is an sdk-log event's payload, which is logged and not stored.
	log json.RawMessage
}

// errBadBatch: the body is not a Langfuse batch at all; the whole request
// is answered 400.
var errBadBatch = errors.New("invalid request data")

// decodeBatch reads a Langfuse ingestion batch. Only a body that is not an
// object with a "batch" array fails as a whole (errBadBatch); every event is
// decoded on its own and a malformed one carries its error in its item.
func decodeBatch(body []byte) (*batch, error) {
	var env struct {
		Batch    *[]json.RawMessage `json:"batch"`
		Metadata json.RawMessage    `json:"metadata"`
	}
	if err := json.Unmarshal(body, &env); err != nil {
		return nil, fmt.Errorf("%w: the body must be a JSON object {\"batch\": [...]}: %w", errBadBatch, err)
	}
	if env.Batch == nil {
		return nil, fmt.Errorf("%w: batch: required, an array of events", errBadBatch)
	}
	b := &batch{items: make([]item, len(*env.Batch)), metadata: env.Metadata}
	for i, raw := range *env.Batch {
		b.items[i] = decodeEvent(raw)
	}
	return b, nil
}

// decodeEvent maps one Langfuse event {id, timestamp, type, body} to native
// events.
func decodeEvent(raw json.RawMessage) item {
	it := item{id: unknownID}
	ev, ferr := newObject(raw, "", "")
	if ferr != nil {
		ferr.msg = "an event " + ferr.msg
		it.err = ferr
		return it
	}
	id := ev.str("id")
	switch {
	case ev.err != nil:
		it.err = ev.err
		return it
	case id == nil || *id == "":
		it.err = &fieldError{field: "id", msg: "required: a unique event id"}
		return it
	}
	it.id = *id
	typ := ev.str("type")
	ts := ev.time("timestamp")
	switch {
	case ev.err != nil:
		it.err = ev.err
		return it
	case typ == nil:
		it.err = &fieldError{field: "type", msg: "required: the event type, such as trace-create"}
		return it
	}
	it.typ = *typ
	bodyRaw := ev.get("body")
	if bodyRaw == nil {
		it.err = &fieldError{field: "body", msg: "required"}
		return it
	}
	body, ferr := newObject(bodyRaw, "body", "body.")
	if ferr != nil {
		it.err = ferr
		return it
	}
	m := mapper{eventID: it.id, ts: ts, body: body}
	switch {
	case it.typ == "trace-create":
		it.events = m.trace()
	case it.typ == "score-create":
		it.events = m.score()
	case it.typ == "sdk-log":
		it.log = body.get("log")
	case observationKinds[it.typ] != nil:
		it.events = m.observation(observationKinds[it.typ])
	case it.typ == "dataset-run-item-create":
		m.fail("type", "dataset-run-item-create is not supported by AgentTrace (Langfuse itself refuses it on the public API)")
	default:
		m.fail("type", "unknown event type %q", clip(it.typ))
	}
	if m.err != nil {
		it.err, it.events = m.err, nil
	} else if body.err != nil {
		it.err, it.events = body.err, nil
	}
	return it
}

// observationKind is what an observation event type means natively.
type observationKind struct {
	typ    commonv1.ObservationType
	update bool
	// legacy types (observation-create/-update) name the type in body.type.
	legacy bool
}

// observationKinds are the event types that create or update an
// observation. Langfuse has no -update form of the typed creates
// (agent-create, tool-create, ...): their observations are updated with
// span-update or generation-update.
var observationKinds = map[string]*observationKind{
	"span-create":        {typ: commonv1.ObservationType_OBSERVATION_TYPE_SPAN},
	"span-update":        {update: true},
	"generation-create":  {typ: commonv1.ObservationType_OBSERVATION_TYPE_GENERATION},
	"generation-update":  {update: true},
	"event-create":       {typ: commonv1.ObservationType_OBSERVATION_TYPE_EVENT},
	"agent-create":       {typ: commonv1.ObservationType_OBSERVATION_TYPE_AGENT},
	"tool-create":        {typ: commonv1.ObservationType_OBSERVATION_TYPE_TOOL},
	"chain-create":       {typ: commonv1.ObservationType_OBSERVATION_TYPE_CHAIN},
	"retriever-create":   {typ: commonv1.ObservationType_OBSERVATION_TYPE_RETRIEVER},
	"embedding-create":   {typ: commonv1.ObservationType_OBSERVATION_TYPE_EMBEDDING},
	"evaluator-create":   {typ: commonv1.ObservationType_OBSERVATION_TYPE_EVALUATOR},
	"guardrail-create":   {typ: commonv1.ObservationType_OBSERVATION_TYPE_GUARDRAIL},
	"observation-create": {legacy: true},
	"observation-update": {legacy: true, update: true},
}

// legacyObservationTypes are the values of body.type in the legacy events.
var legacyObservationTypes = map[string]commonv1.ObservationType{
	"SPAN":       commonv1.ObservationType_OBSERVATION_TYPE_SPAN,
	"GENERATION": commonv1.ObservationType_OBSERVATION_TYPE_GENERATION,
	"EVENT":      commonv1.ObservationType_OBSERVATION_TYPE_EVENT,
}

var levels = map[string]commonv1.ObservationLevel{
	"DEBUG":   commonv1.ObservationLevel_OBSERVATION_LEVEL_DEBUG,
	"DEFAULT": commonv1.ObservationLevel_OBSERVATION_LEVEL_DEFAULT,
	"WARNING": commonv1.ObservationLevel_OBSERVATION_LEVEL_WARNING,
	"ERROR":   commonv1.ObservationLevel_OBSERVATION_LEVEL_ERROR,
}

var scoreSources = map[string]commonv1.ScoreSource{
	"API":        commonv1.ScoreSource_SCORE_SOURCE_API,
	"EVAL":       commonv1.ScoreSource_SCORE_SOURCE_EVAL,
	"ANNOTATION": commonv1.ScoreSource_SCORE_SOURCE_ANNOTATION,
}

// Metadata keys under which Langfuse fields without a native column are
// kept (docs/langfuse.md lists them).
const (
	metaNonObject       = "metadata" // metadata that is not a JSON object
	metaPromptName      = "langfuse.prompt.name"
	metaPromptVersion   = "langfuse.prompt.version"
	metaUsageUnit       = "langfuse.usage.unit"
	metaCostPrefix      = "langfuse.cost."
	metaExternalID      = "langfuse.trace.external_id"
	metaConfigID        = "langfuse.score.config_id"
	metaDatasetRunID    = "langfuse.score.dataset_run_id"
	metaQueueID         = "langfuse.score.queue_id"
	metaExecutionTrace  = "langfuse.score.execution_trace_id"
	impliedTracePrefix  = "lf-trace:"
	derivedTraceIDLabel = "agenttrace/langfuse trace of observation "
)

// mapper turns one event's body into native events.
type mapper struct {
	eventID string
	ts      *timestamppb.Timestamp
	body    *object
	err     *fieldError
}

func (m *mapper) fail(field, format string, args ...any) {
	if m.err == nil {
		m.err = &fieldError{field: field, msg: fmt.Sprintf(format, args...)}
	}
}

func (m *mapper) event(t ingestv1.EventType) *ingestv1.IngestEvent {
	// The Langfuse event id is the native event id: a retried batch carries
	// the same ids and is stored once.
	return &ingestv1.IngestEvent{Id: m.eventID, Timestamp: m.ts, Type: t}
}

func (m *mapper) trace() []*ingestv1.IngestEvent {
	b := m.body
	t := &ingestv1.TraceBody{
		Name:        b.str("name"),
		Timestamp:   b.time("timestamp"),
		UserId:      b.str("userId"),
		SessionId:   b.str("sessionId"),
		Tags:        b.strings("tags"),
		Metadata:    b.stringMap("metadata", metaNonObject),
		Input:       b.value("input"),
		Output:      b.value("output"),
		Release:     b.str("release"),
		Version:     b.str("version"),
		Environment: b.str("environment"),
	}
	if id := b.str("id"); id != nil && *id != "" {
		t.Id = *id
	} else {
		// Langfuse makes up an id; deriving it from the event id keeps a
		// retried event on the same trace.
		t.Id = m.eventID
	}
	if ext := b.str("externalId"); ext != nil {
		t.Metadata = with(t.Metadata, metaExternalID, *ext)
	}
	// "public" (shared trace links) has no AgentTrace counterpart; ignored.
	ev := m.event(ingestv1.EventType_EVENT_TYPE_TRACE_CREATE)
	ev.Trace = t
	return []*ingestv1.IngestEvent{ev}
}

func (m *mapper) observation(kind *observationKind) []*ingestv1.IngestEvent {
	b := m.body
	o := &ingestv1.ObservationBody{
		Type:                kind.typ,
		Name:                b.str("name"),
		StartTime:           b.time("startTime"),
		EndTime:             b.time("endTime"),
		CompletionStartTime: b.time("completionStartTime"),
		StatusMessage:       b.str("statusMessage"),
		ParentObservationId: b.str("parentObservationId"),
		Model:               b.str("model"),
		ModelParameters:     b.stringMap("modelParameters", ""),
		Input:               b.value("input"),
		Output:              b.value("output"),
		Metadata:            b.stringMap("metadata", metaNonObject),
		Version:             b.str("version"),
		Environment:         b.str("environment"),
	}
	id := b.str("id")
	if b.err != nil {
		return nil
	}
	if id == nil || *id == "" {
		m.fail("body.id", "required: the observation id")
		return nil
	}
	o.Id = *id
	if kind.legacy {
		if s := b.str("type"); s != nil {
			t, ok := legacyObservationTypes[*s]
			if !ok {
				b.fail("type", "must be one of SPAN, GENERATION, EVENT, got %q", clip(*s))
			}
			o.Type = t
		} else if !kind.update {
			b.fail("type", "required: one of SPAN, GENERATION, EVENT")
		}
	}
	if s := b.str("level"); s != nil {
		l, ok := levels[*s]
		if !ok {
			b.fail("level", "must be one of DEBUG, DEFAULT, WARNING, ERROR, got %q", clip(*s))
		}
		o.Level = l
	}
	if o.GetType() == commonv1.ObservationType_OBSERVATION_TYPE_EVENT {
		// An event is a point in time: it ends where it starts.
		if o.StartTime == nil {
			o.StartTime = m.ts
		}
		o.EndTime = o.StartTime
	}
	m.usage(o)
	m.prompt(o)
	if b.err != nil {
		return nil
	}

	var out []*ingestv1.IngestEvent
	if tid := b.str("traceId"); tid != nil && *tid != "" {
		o.TraceId = *tid
	} else {
		// Langfuse creates a trace for an observation without one. The id
		// is derived from the observation's, so the create, its updates
		// and any retry all land on the same trace.
		o.TraceId = derivedTraceID(o.Id)
		tr := m.event(ingestv1.EventType_EVENT_TYPE_TRACE_CREATE)
		tr.Id = impliedTracePrefix + hashHex(m.eventID)
		tr.Trace = &ingestv1.TraceBody{Id: o.TraceId, Timestamp: o.StartTime, Environment: o.Environment}
		out = append(out, tr)
	}
	t := ingestv1.EventType_EVENT_TYPE_OBSERVATION_CREATE
	if kind.update {
		t = ingestv1.EventType_EVENT_TYPE_OBSERVATION_UPDATE
	}
	ev := m.event(t)
	ev.Observation = o
	return append([]*ingestv1.IngestEvent{ev}, out...)
}

// prompt keeps the prompt a generation was made from in metadata.
func (m *mapper) prompt(o *ingestv1.ObservationBody) {
	b := m.body
	if name := b.str("promptName"); name != nil && *name != "" {
		o.Metadata = with(o.Metadata, metaPromptName, *name)
	}
	if v := b.integer("promptVersion"); v != nil {
		o.Metadata = with(o.Metadata, metaPromptVersion, formatInt(*v))
	}
}

func (m *mapper) score() []*ingestv1.IngestEvent {
	b := m.body
	s := &ingestv1.ScoreBody{
		Name:          b.str("name"),
		ObservationId: b.str("observationId"),
		SessionId:     b.str("sessionId"),
		Comment:       b.str("comment"),
		Metadata:      b.stringMap("metadata", metaNonObject),
		Environment:   b.str("environment"),
		Timestamp:     b.time("timestamp"),
	}
	if tid := b.str("traceId"); tid != nil {
		s.TraceId = *tid
	}
	if id := b.str("id"); id != nil && *id != "" {
		s.Id = *id
	} else {
		s.Id = m.eventID
	}
	for _, f := range []struct{ field, key string }{
		{"configId", metaConfigID},
		{"datasetRunId", metaDatasetRunID},
		{"queueId", metaQueueID},
		{"executionTraceId", metaExecutionTrace},
	} {
		if v := b.str(f.field); v != nil && *v != "" {
			s.Metadata = with(s.Metadata, f.key, *v)
		}
	}
	if src := b.str("source"); src != nil {
		v, ok := scoreSources[*src]
		if !ok {
			b.fail("source", "must be one of API, EVAL, ANNOTATION, got %q", clip(*src))
		}
		s.Source = v
	}
	m.scoreValue(s)
	if b.err != nil {
		return nil
	}
	ev := m.event(ingestv1.EventType_EVENT_TYPE_SCORE_CREATE)
	ev.Score = s
	return []*ingestv1.IngestEvent{ev}
}

// scoreValue reads value and dataType: a number is NUMERIC (or BOOLEAN,
// 0 or 1), a string is CATEGORICAL; with no dataType the value's JSON type
// decides, as in Langfuse.
func (m *mapper) scoreValue(s *ingestv1.ScoreBody) {
	b := m.body
	dt := b.str("dataType")
	raw := b.get("value")
	if b.err != nil {
		return
	}
	if raw == nil {
		b.fail("value", "required: a number, or a string for a categorical score")
		return
	}
	isString := kindOf(raw) == "a string"
	switch {
	case dt == nil && isString, dt != nil && *dt == "CATEGORICAL":
		s.DataType = commonv1.ScoreDataType_SCORE_DATA_TYPE_CATEGORICAL
		s.StringValue = b.str("value")
	case dt == nil, *dt == "NUMERIC":
		s.DataType = commonv1.ScoreDataType_SCORE_DATA_TYPE_NUMERIC
		s.Value = b.number("value")
	case *dt == "BOOLEAN":
		s.DataType = commonv1.ScoreDataType_SCORE_DATA_TYPE_BOOLEAN
		s.Value = b.number("value")
		if s.Value != nil && *s.Value != 0 && *s.Value != 1 {
			b.fail("value", "must be 0 or 1 for a BOOLEAN score, got %v", *s.Value)
		}
	case *dt == "TEXT", *dt == "CORRECTION":
		b.fail("dataType", "%s scores are not supported by AgentTrace: use CATEGORICAL, NUMERIC or BOOLEAN", *dt)
	default:
		b.fail("dataType", "must be one of NUMERIC, CATEGORICAL, BOOLEAN, got %q", clip(*dt))
	}
}

// with sets key in m, allocating m when needed.
func with(m map[string]string, key, value string) map[string]string {
	if m == nil {
		m = make(map[string]string, 1)
	}
	m[key] = value
	return m
}

// derivedTraceID is the trace id of an observation sent without one: 32
// hex digits (the shape of an OTel trace id) that depend only on the
// observation id.
func derivedTraceID(observationID string) string {
	return hashHex(derivedTraceIDLabel + observationID)
}

func hashHex(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:16])
}
