package otlpmap

import (
	"encoding/hex"
	"math"
	"strconv"
	"strings"

	commonotlp "go.opentelemetry.io/proto/otlp/common/v1"
	tracev1 "go.opentelemetry.io/proto/otlp/trace/v1"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	commonv1 "github.com/agenttrace/agenttrace/pkg/gen/agenttrace/common/v1"
	ingestv1 "github.com/agenttrace/agenttrace/pkg/gen/agenttrace/ingest/v1"
)

// origin is what a span inherits from the resource and scope it was
// exported under.
type origin struct {
	resource    traceFields
	serviceName string
	scope       *commonotlp.InstrumentationScope
}

// mappedSpan is one span turned into events, with what its trace needs.
type mappedSpan struct {
	traceID    string
	root       bool
	start, end uint64
	origin     *origin
	// explicit is what the span states about its trace.
	explicit traceFields
	// input and output of the observation, which a root hands to its trace.
	input, output any
	// name is the trace name a root implies: the Vercel AI SDK's function
	// id when it is set, else the observation's name.
	name string
}

// exceptionInfo is the first exception event of a span.
type exceptionInfo struct{ typ, message string }

func (e *exceptionInfo) summary() string {
	switch {
	case e.typ != "" && e.message != "":
		return e.typ + ": " + e.message
	case e.typ != "":
		return e.typ
	}
	return e.message
}

// mapSpan turns a span that passed CheckSpan into its observation event,
// followed by one EVENT observation per span event that was neither an
// exception nor the source of the input or output, appended to events.
func mapSpan(s *tracev1.Span, o *origin, events []*ingestv1.IngestEvent) (*mappedSpan, []*ingestv1.IngestEvent) {
	eventID, traceID, spanID := spanIDs(s.GetTraceId(), s.GetSpanId())
	a := newAttrs(s.GetAttributes())
	m := &mappedSpan{traceID: traceID, root: !hasParent(s), start: s.GetStartTimeUnixNano(), end: s.GetEndTimeUnixNano(), origin: o}

	// The type is read before anything is consumed: it looks at attributes
	// that other steps take.
	typ := observationType(a, s.GetName())
	m.explicit = explicitTraceFields(a)
	environment := firstSet(m.explicit.environment, o.resource.environment)
	version := firstSet(m.explicit.version, o.resource.version)

	c := &content{a: a, events: s.GetEvents()}
	m.input, m.output = c.first(inputSources), c.first(outputSources)

	name := s.GetName()
	if typ == commonv1.ObservationType_OBSERVATION_TYPE_TOOL && a.peekStr("ai.operationId") == "ai.toolCall" {
		// Every tool call of the Vercel AI SDK is named "ai.toolCall"; the
		// tool's name tells them apart in a trace.
		if tool, ok := a.str("ai.toolCall.name"); ok {
			name = tool
		}
	}
	name = clip(name, maxNameBytes)
	m.name = name
	if m.root {
		if fn := a.peekStr("ai.telemetry.functionId"); fn != "" {
			m.name = clip(fn, maxNameBytes)
		}
	}

	meta := map[string]string{}
	exc := exceptions(s.GetEvents(), meta)
	lvl, status := level(a, s, exc)
	// The observation's start and end and its event's time, in one
	// allocation.
	times := new([3]timestamppb.Timestamp)
	body := &ingestv1.ObservationBody{
		Id:                  spanID,
		TraceId:             traceID,
		Type:                typ,
		Name:                optional(name),
		StartTime:           stampAt(&times[0], m.start),
		CompletionStartTime: completionStart(a, m.start),
		Level:               lvl,
		StatusMessage:       optional(status),
		Model:               optional(model(a)),
		ModelParameters:     modelParameters(a),
		Version:             optional(version),
		Environment:         optional(environment),
	}
	if m.end != 0 {
		body.EndTime = stampAt(&times[1], m.end)
	}
	if countsUsage(typ) {
		body.Usage, body.Cost = usage(a, typ), cost(a)
	}
	if hasParent(s) {
		body.ParentObservationId = proto.String(hex.EncodeToString(s.GetParentSpanId()))
	}
	if m.input != nil {
		body.Input = toValue(m.input)
	}
	if m.output != nil {
		body.Output = toValue(m.output)
	}
	prefixedMetadata(a, "langfuse.observation.metadata.", "metadata", meta)
	for _, p := range [...]struct{ key, as string }{
		{"langfuse.observation.prompt.name", "prompt.name"}, {"langfuse.observation.prompt.version", "prompt.version"},
	} {
		if v, ok := a.str(p.key); ok {
			meta[p.as] = clipText(v)
		}
	}
	for _, k := range a.withPrefix("agenttrace.observation.metadata.") {
		meta[clip(strings.TrimPrefix(k, "agenttrace.observation.metadata."), maxNameBytes)] = clipText(a.peekStr(k))
		a.use(k)
	}
	spanMetadata(s, o, meta)
	a.rest(meta)
	body.Metadata = nonEmpty(meta)
	events = append(events, &ingestv1.IngestEvent{
		Id: eventID,
		// The version of a span is its end: a span exported again once
		// finished wins over its unfinished export.
		Timestamp:   stampAt(&times[2], max(m.end, m.start)),
		Type:        ingestv1.EventType_EVENT_TYPE_OBSERVATION_CREATE,
		Observation: body,
	})

	for i, ev := range s.GetEvents() {
		if c.used[i] || ev.GetName() == exceptionEvent {
			continue
		}
		events = append(events, eventObservation(s, ev, i, traceID, spanID, environment, version))
	}
	return m, events
}

// countsUsage reports whether usage and cost are read for observations of
// type t. Agent and chain spans often report the totals of the model
// calls beneath them (GenAI invoke_agent may carry gen_ai.usage.*); trace
// totals sum observations, so such counts stay in metadata instead of
// being counted twice.
func countsUsage(t commonv1.ObservationType) bool {
	return t == commonv1.ObservationType_OBSERVATION_TYPE_GENERATION ||
		t == commonv1.ObservationType_OBSERVATION_TYPE_EMBEDDING
}

// eventObservation is span event i of s as an EVENT observation below it.
// Its id is the span id and the event's index, stable across re-sends.
func eventObservation(s *tracev1.Span, ev *tracev1.Span_Event, i int, traceID, spanID, environment, version string) *ingestv1.IngestEvent {
	at := ev.GetTimeUnixNano()
	if at == 0 || at > maxUnixNano {
		at = s.GetStartTimeUnixNano()
	}
	// One string holds the event's id and, as its tail, the observation's.
	eventID := "otlp:" + traceID + ":" + spanID + "-" + strconv.Itoa(i)
	id := eventID[len(eventID)-len(spanID)-1-len(strconv.Itoa(i)):]
	times := new([3]timestamppb.Timestamp)
	meta := map[string]string{}
	for _, kv := range ev.GetAttributes() {
		if kv.GetKey() != "" {
			meta[clip(kv.GetKey(), maxNameBytes)] = clipText(text(kv.GetValue()))
		}
	}
	if n := ev.GetDroppedAttributesCount(); n > 0 {
		meta["otel.dropped_attributes_count"] = strconv.FormatUint(uint64(n), 10)
	}
	return &ingestv1.IngestEvent{
		Id:        eventID,
		Timestamp: stampAt(&times[0], at),
		Type:      ingestv1.EventType_EVENT_TYPE_OBSERVATION_CREATE,
		Observation: &ingestv1.ObservationBody{
			Id:                  id,
			TraceId:             traceID,
			ParentObservationId: proto.String(spanID),
			Type:                commonv1.ObservationType_OBSERVATION_TYPE_EVENT,
			Name:                optional(clip(ev.GetName(), maxNameBytes)),
			StartTime:           stampAt(&times[1], at),
			EndTime:             stampAt(&times[2], at),
			Level:               commonv1.ObservationLevel_OBSERVATION_LEVEL_DEFAULT,
			Metadata:            nonEmpty(meta),
			Version:             optional(version),
			Environment:         optional(environment),
		},
	}
}

const exceptionEvent = "exception"

// exceptions records the attributes of the span's exception events in
// meta (the first under their own keys, exception.type and so on; the
// n-th after it as exception.<n>.type) and returns the first one.
func exceptions(events []*tracev1.Span_Event, meta map[string]string) *exceptionInfo {
	var first *exceptionInfo
	n := 0
	for _, ev := range events {
		if ev.GetName() != exceptionEvent {
			continue
		}
		ea := newAttrs(ev.GetAttributes())
		if first == nil {
			first = &exceptionInfo{typ: ea.peekStr("exception.type"), message: ea.peekStr("exception.message")}
		}
		for k, v := range ea.all() {
			key := k
			if n > 0 {
				key = "exception." + strconv.Itoa(n) + "." + strings.TrimPrefix(k, "exception.")
			}
			meta[clip(key, maxNameBytes)] = clipText(text(v))
		}
		n++
	}
	return first
}

// spanMetadata records what the span says beyond its attributes: its
// service, instrumentation scope, kind, status code, trace state, links
// and dropped counts, under otel.* (and resource.service.name).
func spanMetadata(s *tracev1.Span, o *origin, meta map[string]string) {
	set := func(k, v string) {
		if v != "" {
			meta[k] = clipText(v)
		}
	}
	set("resource.service.name", o.serviceName)
	set("otel.scope.name", o.scope.GetName())
	set("otel.scope.version", o.scope.GetVersion())
	for _, kv := range o.scope.GetAttributes() {
		set(clip("otel.scope.attributes."+kv.GetKey(), maxNameBytes), text(kv.GetValue()))
	}
	if k := s.GetKind(); k != tracev1.Span_SPAN_KIND_UNSPECIFIED {
		set("otel.span.kind", strings.TrimPrefix(k.String(), "SPAN_KIND_"))
	}
	if c := s.GetStatus().GetCode(); c != tracev1.Status_STATUS_CODE_UNSET {
		set("otel.status_code", strings.TrimPrefix(c.String(), "STATUS_CODE_"))
	}
	set("otel.trace_state", s.GetTraceState())
	if len(s.GetLinks()) > 0 {
		links := make([]any, 0, len(s.GetLinks()))
		for _, l := range s.GetLinks() {
			link := map[string]any{"trace_id": hex.EncodeToString(l.GetTraceId()), "span_id": hex.EncodeToString(l.GetSpanId())}
			if l.GetTraceState() != "" {
				link["trace_state"] = l.GetTraceState()
			}
			if len(l.GetAttributes()) > 0 {
				la := map[string]any{}
				for _, kv := range l.GetAttributes() {
					la[kv.GetKey()] = native(kv.GetValue(), 2)
				}
				link["attributes"] = la
			}
			links = append(links, link)
		}
		set("otel.links", jsonText(links))
	}
	for _, d := range []struct {
		key string
		n   uint32
	}{
		{"otel.dropped_attributes_count", s.GetDroppedAttributesCount()},
		{"otel.dropped_events_count", s.GetDroppedEventsCount()},
		{"otel.dropped_links_count", s.GetDroppedLinksCount()},
	} {
		if d.n > 0 {
			set(d.key, strconv.FormatUint(uint64(d.n), 10))
		}
	}
}

// completionStart reads the time of the first streamed token:
// agenttrace.completion_start_time (Unix nanoseconds or RFC 3339), else
// Langfuse's langfuse.observation.completion_start_time (RFC 3339, as the
// SDKs send it JSON-quoted), else the Vercel AI SDK's
// ai.response.msToFirstChunk (milliseconds after the start). A value
// before the span's start or out of range is left in metadata.
func completionStart(a *attrs, start uint64) *timestamppb.Timestamp {
	for _, key := range []string{"agenttrace.completion_start_time", langfuseCompletionStart} {
		v, ok := a.get(key)
		if !ok {
			continue
		}
		var at uint64
		if n, isInt := integer(v); isInt && n > 0 {
			at = uint64(n)
		} else if t, ok := parseTime(text(v)); ok {
			at = t
		}
		if at >= start && at > 0 && at <= maxUnixNano {
			a.use(key)
			return stamp(at)
		}
	}
	const msKey = "ai.response.msToFirstChunk"
	if ms, ok := a.amount(msKey); ok {
		if ns := ms * 1e6; ns <= float64(maxUnixNano-start) {
			return stamp(start + uint64(math.Round(ns)))
		}
		// amount consumed it; out of range, it stays metadata.
		delete(a.used, msKey)
	}
	return nil
}

// stamp converts Unix nanoseconds (checked to be in range) to a Timestamp.
func stamp(ns uint64) *timestamppb.Timestamp {
	return stampAt(new(timestamppb.Timestamp), ns)
}

// stampAt is stamp into t, one of several allocated together.
func stampAt(t *timestamppb.Timestamp, ns uint64) *timestamppb.Timestamp {
	t.Seconds, t.Nanos = int64(ns/1e9), int32(ns%1e9)
	return t
}

// optional copies s to the heap only when it is set: returning &s would
// move every argument there, empty ones included.
func optional(s string) *string {
	if s == "" {
		return nil
	}
	p := new(string)
	*p = s
	return p
}

// spanIDs hex-encodes a span's ids (checked to be 16 and 8 bytes) into
// one string, "otlp:<trace>:<span>", the id of its observation event, and
// returns it with the trace and span ids, which are parts of it.
func spanIDs(traceID, spanID []byte) (eventID, trace, span string) {
	const prefix = "otlp:"
	var stack [len(prefix) + 32 + 1 + 16]byte
	buf := append(stack[:0], prefix...)
	buf = hex.AppendEncode(buf, traceID)
	buf = append(buf, ':')
	buf = hex.AppendEncode(buf, spanID)
	eventID = string(buf)
	t := len(prefix) + hex.EncodedLen(len(traceID))
	return eventID, eventID[len(prefix):t], eventID[t+1:]
}

func firstSet(values ...string) string {
	for _, v := range values {
		if v != "" {
			return v
		}
	}
	return ""
}

func nonEmpty(m map[string]string) map[string]string {
	if len(m) == 0 {
		return nil
	}
	return m
}
