package otlpmap

import (
	"math"
	"strings"
	"time"
)

// Langfuse's SDKs (Python v3+, JS v4+ with @langfuse/otel) write typed
// values as JSON text in single attributes: usage and cost details, model
// parameters, input and output. These helpers decode them; a value that
// does not decode is left in metadata, never dropped.
const (
	langfuseUsageDetails    = "langfuse.observation.usage_details"
	langfuseCostDetails     = "langfuse.observation.cost_details"
	langfuseModelParameters = "langfuse.observation.model.parameters"
	langfuseCompletionStart = "langfuse.observation.completion_start_time"
)

// jsonObject returns the attribute key as an object: a JSON object sent as
// text, or an OTLP key-value list. It does not consume the attribute.
func jsonObject(a *attrs, key string) (map[string]any, bool) {
	v, ok := a.get(key)
	if !ok {
		return nil, false
	}
	obj, isObj := structured(v).(map[string]any)
	return obj, isObj
}

// detailCounts reads an object of token counts such as Langfuse's
// usage_details ({"input":21,"output":7,"input_cached_tokens":16}). It
// returns the entries that are counts; complete is false when some entry
// was not one (the attribute then stays in metadata).
func detailCounts(obj map[string]any) (counts map[string]int64, complete bool) {
	counts = make(map[string]int64, len(obj))
	complete = true
	for k, v := range obj {
		n, ok := jsonCount(v)
		if !ok || k == "" {
			complete = false
			continue
		}
		counts[clip(k, maxNameBytes)] = n
	}
	return counts, complete
}

// jsonCount is a decoded JSON number that is a non-negative integer.
func jsonCount(v any) (int64, bool) {
	f, ok := v.(float64)
	if !ok || f < 0 || f != math.Trunc(f) || f >= 1<<53 {
		return 0, false
	}
	return int64(f), true
}

// jsonAmount is a decoded JSON number that is finite and non-negative.
func jsonAmount(v any) (float64, bool) {
	f, ok := v.(float64)
	return f, ok && f >= 0 && !math.IsInf(f, 0) && !math.IsNaN(f)
}

// parseTime reads a point in time sent as RFC 3339 text, possibly
// JSON-quoted (Langfuse serialises its Date/datetime values with JSON);
// a time without a zone (Python's naive datetimes) is read as UTC.
func parseTime(s string) (uint64, bool) {
	s = strings.TrimSpace(s)
	if len(s) >= 2 && s[0] == '"' && s[len(s)-1] == '"' {
		s = s[1 : len(s)-1]
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		if t, err = time.Parse("2006-01-02T15:04:05.999999999", s); err != nil {
			return 0, false
		}
	}
	if t.Year() < 1970 || t.Year() >= 2262 {
		return 0, false
	}
	return uint64(t.UnixNano()), true
}

// prefixedMetadata moves the attributes under prefix (which ends in a
// dot) into meta, keyed by the rest of their name. With a wholeKey, the
// attribute named like the prefix without its dot (a whole metadata
// object; Langfuse's SDKs send metadata that is not a map so) adds its
// keys, or is kept under wholeKey when it is not an object.
func prefixedMetadata(a *attrs, prefix, wholeKey string, meta map[string]string) {
	if wholeKey != "" {
		whole := prefix[:len(prefix)-1]
		if v, ok := a.get(whole); ok {
			a.use(whole)
			if obj, isObj := structured(v).(map[string]any); isObj {
				for k, mv := range obj {
					meta[clip(k, maxNameBytes)] = clipText(plainText(mv))
				}
			} else {
				meta[wholeKey] = clipText(text(v))
			}
		}
	}
	for _, k := range a.withPrefix(prefix) {
		if a.used[k] {
			continue
		}
		v, _ := a.get(k)
		a.use(k)
		meta[clip(k[len(prefix):], maxNameBytes)] = clipText(text(v))
	}
}
