package validation

import (
	"fmt"

	"google.golang.org/protobuf/proto"

	ingestv1 "github.com/agenttrace/agenttrace/pkg/gen/agenttrace/ingest/v1"
)

// Error says why an event was rejected.
type Error struct {
	// Field is the proto-name path of the offending field relative to the
	// event ("id", "observation.end_time"); empty when the event as a whole
	// is at fault.
	Field string
	// Message explains the rule that was broken.
	Message string
}

func (e *Error) Error() string {
	if e.Field == "" {
		return e.Message
	}
	return e.Field + ": " + e.Message
}

// Batch validates every event on its own and returns one result per event,
// in order: nil for a valid event. An event whose id was already used by an
// earlier event of the batch is rejected on field "id"; the first one keeps it.
func Batch(events []*ingestv1.IngestEvent, lim Limits) []*Error {
	errs := make([]*Error, len(events))
	first := make(map[string]int, len(events))
	for i, ev := range events {
		errs[i] = Event(ev, lim)
		id := ev.GetId()
		if id == "" {
			continue
		}
		j, dup := first[id]
		if !dup {
			first[id] = i
			continue
		}
		if errs[i] == nil {
			errs[i] = &Error{Field: "id", Message: fmt.Sprintf("duplicate of event %d in this batch: event ids must be unique", j)}
		}
	}
	return errs
}

// Event validates one event. It does not modify ev.
func Event(ev *ingestv1.IngestEvent, lim Limits) *Error {
	if ev == nil {
		return &Error{Message: "event is empty"}
	}
	c := &checker{lim: lim}
	c.id("id", ev.GetId(), true)
	c.timestamp("timestamp", ev.GetTimestamp())
	c.bodies(ev)
	if c.err != nil {
		return c.err
	}
	switch ev.GetType() {
	case ingestv1.EventType_EVENT_TYPE_TRACE_CREATE, ingestv1.EventType_EVENT_TYPE_TRACE_UPDATE:
		c.trace(ev.GetTrace())
	case ingestv1.EventType_EVENT_TYPE_OBSERVATION_CREATE:
		c.observation(ev.GetObservation(), true)
	case ingestv1.EventType_EVENT_TYPE_OBSERVATION_UPDATE:
		c.observation(ev.GetObservation(), false)
	case ingestv1.EventType_EVENT_TYPE_SCORE_CREATE:
		c.score(ev.GetScore(), true)
	case ingestv1.EventType_EVENT_TYPE_SCORE_UPDATE:
		c.score(ev.GetScore(), false)
	}
	if c.err == nil {
		c.size(ev)
	}
	return c.err
}

// WellFormedID reports whether id passes the rules for ids: present,
// printable, without surrounding whitespace and within the length limit.
func WellFormedID(id string, lim Limits) bool {
	c := &checker{lim: lim}
	c.id("id", id, true)
	return c.err == nil
}

// TraceID validates the id of a trace to delete, reporting the error on
// field.
func TraceID(field, id string, lim Limits) *Error {
	c := &checker{lim: lim}
	c.id(field, id, true)
	return c.err
}

// bodyOf names the body an event type carries, "" for an unknown type.
func bodyOf(t ingestv1.EventType) string {
	switch t {
	case ingestv1.EventType_EVENT_TYPE_TRACE_CREATE, ingestv1.EventType_EVENT_TYPE_TRACE_UPDATE:
		return "trace"
	case ingestv1.EventType_EVENT_TYPE_OBSERVATION_CREATE, ingestv1.EventType_EVENT_TYPE_OBSERVATION_UPDATE:
		return "observation"
	case ingestv1.EventType_EVENT_TYPE_SCORE_CREATE, ingestv1.EventType_EVENT_TYPE_SCORE_UPDATE:
		return "score"
	}
	return ""
}

// bodies checks the type and that exactly the matching body is set.
func (c *checker) bodies(ev *ingestv1.IngestEvent) {
	if c.err != nil {
		return
	}
	t := ev.GetType()
	want := bodyOf(t)
	switch {
	case t == ingestv1.EventType_EVENT_TYPE_UNSPECIFIED:
		c.fail("type", "required: one of TRACE_CREATE, TRACE_UPDATE, OBSERVATION_CREATE, OBSERVATION_UPDATE, SCORE_CREATE, SCORE_UPDATE (prefixed EVENT_TYPE_)")
		return
	case t == ingestv1.EventType_EVENT_TYPE_TRACE_DELETE:
		// Deletions are audited; an event slipped into a batch would
		// bypass the audit (and the permission DeleteTrace requires).
		c.fail("type", "EVENT_TYPE_TRACE_DELETE is internal: delete a trace with DeleteTrace (DELETE /api/v1/traces/{trace_id})")
		return
	case want == "":
		c.fail("type", "unknown event type %d", int32(t))
		return
	}
	set := []struct {
		name string
		ok   bool
	}{
		{"trace", ev.GetTrace() != nil},
		{"observation", ev.GetObservation() != nil},
		{"score", ev.GetScore() != nil},
	}
	for _, b := range set {
		switch {
		case b.name == want && !b.ok:
			c.fail(b.name, "required for %s", t)
		case b.name != want && b.ok:
			c.fail(b.name, "must not be set for %s, which carries a %s body", t, want)
		}
	}
}

// size rejects events too large to publish, naming the field most likely
// to blame: input or output when one of them holds most of the event.
func (c *checker) size(ev *ingestv1.IngestEvent) {
	n := proto.Size(ev)
	if n <= c.lim.MaxEventBytes {
		return
	}
	field := bodyOf(ev.GetType())
	var in, out proto.Message
	switch field {
	case "trace":
		in, out = ev.GetTrace().GetInput(), ev.GetTrace().GetOutput()
	case "observation":
		in, out = ev.GetObservation().GetInput(), ev.GetObservation().GetOutput()
	}
	inSize, outSize := proto.Size(in), proto.Size(out)
	switch {
	case inSize >= outSize && inSize > n/2:
		field += ".input"
	case outSize > inSize && outSize > n/2:
		field += ".output"
	}
	c.fail(field, "event is %d bytes encoded, over the limit of %d", n, c.lim.MaxEventBytes)
}
