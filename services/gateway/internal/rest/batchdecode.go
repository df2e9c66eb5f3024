package rest

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"

	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/dynamicpb"

	ingestv1 "github.com/agenttrace/agenttrace/pkg/gen/agenttrace/ingest/v1"
)

// The native batch is decoded event by event, so that one event with a
// wrongly typed field is refused on its own (as ingest refuses an invalid
// one) instead of failing the whole request the way one protojson call
// over the body would.

// eventFailure is an event of the batch that could not be decoded.
type eventFailure struct {
	index int
	// field is the JSON path of the offending field within the event
	// ("observation.usage.input"), empty when the event itself is wrong.
	field string
	msg   string
}

// errNotBatch: the body is not {"batch": [...]}. The whole request is at
// fault, so it is answered 400 like any malformed body.
var errNotBatch = errors.New(`the body must be a JSON object with a "batch" array of events`)

// decodeBatch decodes an IngestBatchRequest body. Events that do not
// decode are left as placeholders carrying only the id they sent (so the
// batch keeps its length and indexes) and reported in failures, in index
// order. The error is set only when the body as a whole is unusable.
func decodeBatch(data []byte, opts protojson.UnmarshalOptions) (*ingestv1.IngestBatchRequest, []eventFailure, error) {
	req := &ingestv1.IngestBatchRequest{}
	if len(bytes.TrimSpace(data)) == 0 {
		return req, nil, nil // an empty request: ingest names what is missing
	}
	var top map[string]json.RawMessage
	if err := json.Unmarshal(data, &top); err != nil {
		return nil, nil, malformedBodyError{jsonError(err)}
	}
	if top == nil { // the body was `null`
		return nil, nil, malformedBodyError{errNotBatch}
	}
	raw, ok := top["batch"]
	if !ok || isNull(raw) {
		return req, nil, nil
	}
	var events []json.RawMessage
	if err := json.Unmarshal(raw, &events); err != nil {
		return nil, nil, malformedBodyError{errNotBatch}
	}
	req.Batch = make([]*ingestv1.IngestEvent, len(events))
	var failures []eventFailure
	for i, rawEvent := range events {
		ev, field, err := decodeEvent(rawEvent, opts)
		if err != nil {
			failures = append(failures, eventFailure{index: i, field: field, msg: err.Error()})
			ev = &ingestv1.IngestEvent{Id: eventID(rawEvent)}
		}
		req.Batch[i] = ev
	}
	return req, failures, nil
}

// decodeEvent decodes one event. The common case costs one protojson call;
// only an event that fails it is normalised (non-string map values, see
// stringifyMaps) and, if it still fails, searched for the field at fault.
func decodeEvent(raw json.RawMessage, opts protojson.UnmarshalOptions) (*ingestv1.IngestEvent, string, error) {
	ev := &ingestv1.IngestEvent{}
	if err := opts.Unmarshal(raw, ev); err == nil {
		return ev, "", nil
	}
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(raw, &obj); err != nil || obj == nil {
		return nil, "", errors.New("an event must be a JSON object")
	}
	normalised, err := stringifyMaps(obj)
	if err != nil {
		return nil, "", err
	}
	ev = &ingestv1.IngestEvent{}
	if err := opts.Unmarshal(normalised, ev); err == nil {
		return ev, "", nil
	}
	field, err := locate(ev.ProtoReflect().Descriptor(), obj, opts)
	return nil, field, err
}

// stringMapFields are the map<string, string> fields of the event bodies
// that accept any JSON value, as every peer's API does: a value that is not
// a string is kept as its compact JSON text (1 -> "1", {"a":1} -> "{\"a\":1}",
// null -> "null"). Both spellings of a field name are accepted, as protojson
// accepts them.
var stringMapFields = map[string][]string{
	"trace":       {"metadata"},
	"observation": {"metadata", "model_parameters", "modelParameters"},
	"score":       {"metadata"},
}

// stringifyMaps returns the event with the values of its string maps
// turned into strings. A map field that is not an object is left alone for
// protojson to refuse.
func stringifyMaps(event map[string]json.RawMessage) ([]byte, error) {
	for body, fields := range stringMapFields {
		rawBody, ok := event[body]
		if !ok {
			continue
		}
		var obj map[string]json.RawMessage
		if json.Unmarshal(rawBody, &obj) != nil || obj == nil {
			continue
		}
		changed := false
		for _, f := range fields {
			m, ok := stringifyValues(obj[f])
			if ok {
				obj[f], changed = m, true
			}
		}
		if changed {
			b, err := json.Marshal(obj)
			if err != nil {
				return nil, err
			}
			event[body] = b
		}
	}
	return json.Marshal(event)
}

// stringifyValues rewrites a JSON object's non-string values as strings
// holding their compact JSON; ok is false when raw is not an object or
// needs no change.
func stringifyValues(raw json.RawMessage) (json.RawMessage, bool) {
	if len(raw) == 0 {
		return nil, false
	}
	var m map[string]json.RawMessage
	if json.Unmarshal(raw, &m) != nil || m == nil {
		return nil, false
	}
	out := make(map[string]string, len(m))
	changed := false
	for k, v := range m {
		var s string
		if !isNull(v) && json.Unmarshal(v, &s) == nil {
			out[k] = s
			continue
		}
		var buf bytes.Buffer
		if err := json.Compact(&buf, v); err != nil {
			return nil, false // cannot happen for a value json.Unmarshal split out
		}
		out[k], changed = buf.String(), true
	}
	if !changed {
		return nil, false
	}
	b, err := json.Marshal(out)
	if err != nil {
		return nil, false
	}
	return b, true
}

// locate finds the field of obj (a JSON object decoding to md) that
// protojson refuses, by decoding one field at a time and descending into
// nested messages and maps, and returns its JSON path and the error. Only a
// refused event pays for this.
func locate(md protoreflect.MessageDescriptor, obj map[string]json.RawMessage, opts protojson.UnmarshalOptions) (string, error) {
	if field, err := locateField(md, obj, "", opts); err != nil {
		return field, err
	}
	return "", errors.New("invalid event") // every field decodes alone
}

// locateField is locate within the message at prefix; it returns a nil
// error when every field of obj decodes on its own (the fault is in how
// they combine: a field sent under both its names, say), so that the
// caller names the message and protojson's error for it.
func locateField(md protoreflect.MessageDescriptor, obj map[string]json.RawMessage, prefix string, opts protojson.UnmarshalOptions) (string, error) {
	keys := make([]string, 0, len(obj))
	for k := range obj {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		single, err := json.Marshal(map[string]json.RawMessage{k: obj[k]})
		if err != nil {
			continue
		}
		err = opts.Unmarshal(single, dynamicpb.NewMessage(md))
		if err == nil {
			continue
		}
		fd := md.Fields().ByJSONName(k)
		if fd == nil {
			fd = md.Fields().ByTextName(k)
		}
		if fd == nil { // a field protojson knows and we do not: name it as sent
			return prefix + k, protoError(err)
		}
		path := prefix + string(fd.Name())
		var inner map[string]json.RawMessage
		if json.Unmarshal(obj[k], &inner) != nil || inner == nil {
			return path, protoError(err)
		}
		switch {
		case fd.IsMap():
			if f, ferr := locateMapEntry(fd, inner, path, opts); ferr != nil {
				return f, ferr
			}
		case fd.Message() != nil && !fd.IsList() && !strings.HasPrefix(string(fd.Message().FullName()), "google.protobuf."):
			if f, ferr := locateField(fd.Message(), inner, path+".", opts); ferr != nil {
				return f, ferr
			}
		}
		return path, protoError(err)
	}
	return "", nil
}

// locateMapEntry names the key of a map field whose value is refused.
func locateMapEntry(fd protoreflect.FieldDescriptor, m map[string]json.RawMessage, path string, opts protojson.UnmarshalOptions) (string, error) {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	parent := fd.ContainingMessage()
	for _, k := range keys {
		single, err := json.Marshal(map[string]map[string]json.RawMessage{fd.JSONName(): {k: m[k]}})
		if err != nil {
			continue
		}
		if err := opts.Unmarshal(single, dynamicpb.NewMessage(parent)); err != nil {
			return path + "." + k, protoError(err)
		}
	}
	return "", nil
}

// protoPosition is protojson's " (line 1:12)", which points into the
// fragment locate decoded, not into the caller's body.
var protoPosition = regexp.MustCompile(`\s*\(line \d+:\d+\)`)

// protoError strips protojson's prefixes from err: the field path says
// where the fault is.
func protoError(err error) error {
	msg := strings.TrimLeft(strings.TrimPrefix(err.Error(), "proto:"), " \u00a0")
	msg = strings.TrimPrefix(protoPosition.ReplaceAllString(msg, ""), ": ")
	return errors.New(msg)
}

// jsonError keeps encoding/json's syntax errors, which name the offset.
func jsonError(err error) error {
	var se *json.SyntaxError
	if errors.As(err, &se) {
		return fmt.Errorf("syntax error at byte %d: %w", se.Offset, err)
	}
	return errNotBatch // valid JSON of another shape (an array, a string, ...)
}

// eventID is the id a refused event sent, if it is a string, so the result
// can echo it (ingest decides whether it is well formed enough to).
func eventID(raw json.RawMessage) string {
	var obj struct {
		ID json.RawMessage `json:"id"`
	}
	if json.Unmarshal(raw, &obj) != nil {
		return ""
	}
	var id string
	if json.Unmarshal(obj.ID, &id) != nil {
		return ""
	}
	return id
}

func isNull(raw json.RawMessage) bool { return string(bytes.TrimSpace(raw)) == "null" }
