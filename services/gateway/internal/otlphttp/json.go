package otlphttp

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"

	coltracepb "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	"google.golang.org/protobuf/encoding/protojson"
)

// OTLP/JSON is protobuf's JSON mapping with one exception: trace and span
// ids are hex strings, where protojson expects base64 for bytes fields
// (and would silently decode a 32-digit hex id to 24 wrong bytes). Every
// other rule — lowerCamelCase or proto field names, enums as names or
// numbers, 64-bit integers as strings or numbers, unknown fields ignored,
// other bytes values in base64 — is protojson's. So DecodeJSON rewrites the
// id fields from hex to base64 in a generic JSON tree, then lets protojson
// decode the result.

// idFields are the id fields of a span and of a span link, under both of
// the names protojson accepts.
var (
	spanIDFields = []string{"traceId", "trace_id", "spanId", "span_id", "parentSpanId", "parent_span_id"}
	linkIDFields = []string{"traceId", "trace_id", "spanId", "span_id"}
)

// DecodeJSON decodes an OTLP/JSON ExportTraceServiceRequest. Errors name
// the offending field's path.
func DecodeJSON(body []byte) (*coltracepb.ExportTraceServiceRequest, error) {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber() // numbers are passed through to protojson verbatim
	var root any
	if err := dec.Decode(&root); err != nil {
		return nil, fmt.Errorf("payload is not JSON: %w", err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, errors.New("payload is not JSON: data after the top-level value")
	}
	obj, ok := root.(map[string]any)
	if !ok {
		return nil, errors.New("payload is not a JSON object")
	}
	if err := hexIDsToBase64(obj); err != nil {
		return nil, err
	}
	rewritten, err := json.Marshal(obj)
	if err != nil {
		return nil, fmt.Errorf("payload: %w", err)
	}
	req := &coltracepb.ExportTraceServiceRequest{}
	if err := (protojson.UnmarshalOptions{DiscardUnknown: true}).Unmarshal(rewritten, req); err != nil {
		return nil, fmt.Errorf("payload is not an OTLP/JSON ExportTraceServiceRequest: %w", err)
	}
	return req, nil
}

// hexIDsToBase64 rewrites, in place, the ids of every span and span link
// of a request. Values of an unexpected JSON type are left for protojson
// to reject.
func hexIDsToBase64(req map[string]any) error {
	// Indexing a nil map reads nothing, so non-object elements fall through.
	for ri, rs := range objects(req, "resourceSpans", "resource_spans") {
		for si, ss := range objects(rs, "scopeSpans", "scope_spans") {
			for k, span := range objects(ss, "spans") {
				if span == nil {
					continue
				}
				path := fmt.Sprintf("resourceSpans[%d].scopeSpans[%d].spans[%d]", ri, si, k)
				if err := convertIDs(span, spanIDFields, path); err != nil {
					return err
				}
				for li, link := range objects(span, "links") {
					if link == nil {
						continue
					}
					if err := convertIDs(link, linkIDFields, fmt.Sprintf("%s.links[%d]", path, li)); err != nil {
						return err
					}
				}
			}
		}
	}
	return nil
}

// objects returns the elements of the array under the first of names
// present in obj; an element that is not an object is nil.
func objects(obj map[string]any, names ...string) []map[string]any {
	for _, n := range names {
		arr, ok := obj[n].([]any)
		if !ok {
			continue
		}
		out := make([]map[string]any, len(arr))
		for i, e := range arr {
			out[i], _ = e.(map[string]any)
		}
		return out
	}
	return nil
}

func convertIDs(obj map[string]any, fields []string, path string) error {
	for _, f := range fields {
		v, ok := obj[f]
		if !ok || v == nil {
			continue
		}
		s, ok := v.(string)
		if !ok {
			return fmt.Errorf("%s.%s: must be a hex string", path, f)
		}
		id, err := hex.DecodeString(s)
		if err != nil {
			return fmt.Errorf("%s.%s: %q is not a hex string", path, f, truncate(s))
		}
		obj[f] = base64.StdEncoding.EncodeToString(id)
	}
	return nil
}

// truncate keeps an echoed value short.
func truncate(s string) string {
	const max = 40
	if len(s) <= max {
		return s
	}
	return s[:max] + "..."
}
