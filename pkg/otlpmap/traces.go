package otlpmap

import (
	"cmp"
	"crypto/sha256"
	"encoding/hex"
	"maps"
	"slices"

	"google.golang.org/protobuf/proto"

	ingestv1 "github.com/agenttrace/agenttrace/pkg/gen/agenttrace/ingest/v1"
)

// traceEvents builds the trace events of one trace from its spans in one
// request (in request order). Rows are merged at read time by the newest
// event_ts, so each event's timestamp is chosen to rank it:
//
//   - The primary event carries the root's timestamp, the root resource's
//     environment/release/version/resource.* and what the spans state
//     explicitly (the root's statement wins, then the span that ended
//     last). It is versioned at the latest end among those spans, normally
//     the root's end, which outranks anything its descendants imply.
//   - The fallback event is versioned at the root's start (or, without the
//     root, the earliest start). With the root it carries the names and
//     values only implied by the root span: its name (the Vercel AI SDK's
//     function id when set) and its input and output; explicit statements, versioned at a span's end, override them
//     even when they arrive in another request. Without the root it carries
//     the earliest start as timestamp and that span's resource fields, so a
//     trace whose root never arrives is still listed; the root's primary
//     event outranks them when it arrives.
//
// Event ids hash the event's content: a request sent twice yields the same
// ids and rows, while events that differ never share an id (which
// ReplacingMergeTree would collapse to one).
//
// The events are appended to events; scratch is a buffer to reuse,
// returned grown.
func traceEvents(spans []*mappedSpan, events []*ingestv1.IngestEvent, scratch []byte) ([]*ingestv1.IngestEvent, []byte) {
	traceID := spans[0].traceID
	var root *mappedSpan
	for _, s := range spans {
		if s.root && (root == nil || s.start < root.start) {
			root = s
		}
	}
	var (
		explicit      traceFields
		primaryTS     uint64
		rootStatement *traceFields
	)
	// Later-ending statements win; the root's is applied last.
	for _, s := range byEnd(spans) {
		if s.explicit.empty() {
			continue
		}
		primaryTS = max(primaryTS, s.end)
		if s == root {
			rootStatement = &s.explicit
			continue
		}
		explicit.over(&s.explicit)
	}
	if rootStatement != nil {
		explicit.over(rootStatement)
	}

	var ev *ingestv1.IngestEvent
	if root != nil || !explicit.empty() {
		var primary traceFields
		body := &ingestv1.TraceBody{Id: traceID}
		if root != nil {
			primaryTS = max(primaryTS, root.end)
			body.Timestamp = stamp(root.start)
			primary.over(&root.origin.resource)
		}
		primary.over(&explicit)
		fill(body, &primary)
		ev, scratch = traceEvent(traceID, primaryTS, body, scratch)
		events = append(events, ev)
	}

	fallback := &ingestv1.TraceBody{Id: traceID}
	var fallbackTS uint64
	if root != nil {
		fallbackTS = root.start
		fallback.Name = optional(root.name)
		fill(fallback, &traceFields{input: root.input, hasInput: root.input != nil, output: root.output, hasOutput: root.output != nil})
	} else {
		earliest := spans[0]
		for _, s := range spans {
			if s.start < earliest.start {
				earliest = s
			}
		}
		fallbackTS = earliest.start
		fallback.Timestamp = stamp(earliest.start)
		fill(fallback, &earliest.origin.resource)
	}
	if fallback.Name != nil || fallback.Timestamp != nil || fallback.Input != nil || fallback.Output != nil ||
		fallback.Environment != nil || fallback.Release != nil || len(fallback.Metadata) > 0 {
		ev, scratch = traceEvent(traceID, fallbackTS, fallback, scratch)
		events = append(events, ev)
	}
	return events, scratch
}

// byEnd returns spans ordered by end time, request order breaking ties.
func byEnd(spans []*mappedSpan) []*mappedSpan {
	if len(spans) == 1 {
		return spans
	}
	out := slices.Clone(spans)
	slices.SortStableFunc(out, func(a, b *mappedSpan) int { return cmp.Compare(a.end, b.end) })
	return out
}

func fill(b *ingestv1.TraceBody, f *traceFields) {
	if f.name != "" {
		b.Name = optional(f.name)
	}
	b.UserId = optional(f.userID)
	b.SessionId = optional(f.sessionID)
	b.Environment = optional(f.environment)
	b.Release = optional(f.release)
	b.Version = optional(f.version)
	// Copies: a resource's fields are shared by all its spans' traces.
	b.Tags = slices.Clone(f.tags)
	if len(f.metadata) > 0 {
		b.Metadata = maps.Clone(f.metadata)
	}
	if f.hasInput {
		b.Input = toValue(f.input)
	}
	if f.hasOutput {
		b.Output = toValue(f.output)
	}
}

// traceEvent wraps body in an event whose id is derived from its content.
// scratch is a buffer to marshal into, returned for reuse.
func traceEvent(traceID string, ts uint64, body *ingestv1.TraceBody, scratch []byte) (*ingestv1.IngestEvent, []byte) {
	ev := &ingestv1.IngestEvent{Timestamp: stamp(ts), Type: ingestv1.EventType_EVENT_TYPE_TRACE_CREATE, Trace: body}
	// Deterministic marshalling orders map entries, so equal events hash
	// alike; marshalling cannot fail for messages built here.
	raw, _ := proto.MarshalOptions{Deterministic: true}.MarshalAppend(scratch[:0], ev)
	sum := sha256.Sum256(raw)
	var h [16]byte
	hex.Encode(h[:], sum[:8])
	ev.Id = "otlp:" + traceID + ":trace:" + string(h[:])
	return ev, raw
}
