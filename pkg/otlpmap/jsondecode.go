package otlpmap

import "github.com/agenttrace/agenttrace/pkg/chschema/jsonvalue"

// parseJSON decodes s when it is a JSON document no deeper than maxDepth
// (no value nested more than maxDepth levels below the top).
//
// It yields what encoding/json's Unmarshal into an any yields (map[string]any,
// []any, string, float64, bool, nil; the last of repeated keys wins; bad
// UTF-8 in strings and unpaired surrogates become U+FFFD; a number out of
// float64's range refuses the document), through jsonvalue.ParseAny rather
// than encoding/json's reflection and validation pass, which took most of
// the time spent on LLM spans, whose content arrives as JSON text.
// FuzzParseJSON holds it to encoding/json. Strings without escapes share
// s's memory.
func parseJSON(s string) (any, bool) {
	// ParseAny counts the top level as depth 1, maxDepth levels below it.
	v, err := jsonvalue.ParseAny(s, maxDepth+1)
	return v, err == nil
}
