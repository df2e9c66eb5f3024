package chstore

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
)

// Merge expressions. Each yields the merged value of one field of the rows
// grouped by id, under the alias m_<column> (never the column's own name:
// current ClickHouse resolves an alias that shadows a column inside
// aggregate arguments too).

// mergeString: the newest non-empty value.
func mergeString(col string) string {
	return fmt.Sprintf("argMaxIf(%[1]s, %[2]s, %[1]s != '') AS m_%[1]s", col, version)
}

// mergeUint: the newest non-zero value (timestamps).
func mergeUint(col string) string {
	return fmt.Sprintf("argMaxIf(%[1]s, %[2]s, %[1]s != 0) AS m_%[1]s", col, version)
}

// mergeNullable: the newest non-NULL value, NULL when no version set it.
// toNullable pins the result type across ClickHouse releases.
func mergeNullable(col string) string {
	return fmt.Sprintf("toNullable(argMaxIf(%[1]s, %[2]s, isNotNull(%[1]s))) AS m_%[1]s", col, version)
}

// mergeMapVersions: every version that set the map, merged per key in Go.
func mergeMapVersions(prefix string) string {
	return fmt.Sprintf("groupArrayIf((event_ts, event_id, %[1]s_keys, %[1]s_values), notEmpty(%[1]s_keys)) AS m_%[1]s", prefix)
}

// effectiveUsageTotal is an observation's total tokens after its versions
// are merged (over the m_usage_* aliases): the total a client sent, else
// input + output, else whichever of the two is set, else NULL. usageTotal
// is the same rule in Go.
//
// It is applied here, at read time, and not when the worker writes a row,
// because a row is one partial version: a create may carry input only and a
// later update output only, so no single event knows whether the total is
// missing or what it adds up to. Only the merge sees the whole observation;
// a total that any version sent always wins over the sum.
//
// Usage details are never added: every detail the API and the OTel mapping
// know (cached_input, cache_creation_input, reasoning_output, audio_*) is a
// breakdown already counted in input or output, as GenAI's conventions
// count them, so none is exclusive of them and adding one would count it
// twice. Details alone (no input, no output) make no total.
const effectiveUsageTotal = "coalesce(m_usage_total, m_usage_input + m_usage_output, m_usage_input, m_usage_output)"

// mergeTags: the union of the tags of every version.
const mergeTags = "arraySort(groupUniqArrayArray(tags)) AS m_tags"

// mergeUpdated: when the newest version happened.
const mergeUpdated = "max(event_ts) AS m_updated"

func columns(cols ...string) string { return strings.Join(cols, ", ") }

// mapVersion is one version's map as scanned from a mergeMapVersions column:
// a tuple (event_ts, event_id, keys, values).
type mapVersion = []any

// mergeStringMap resolves map versions: per key, the newest version holding it.
func mergeStringMap(versions []mapVersion) map[string]string {
	return mergeMap(versions, func(v any) ([]string, bool) { s, ok := v.([]string); return s, ok })
}

// mergeInt64Map is mergeStringMap for Int64 values (usage details).
func mergeInt64Map(versions []mapVersion) map[string]int64 {
	return mergeMap(versions, func(v any) ([]int64, bool) { s, ok := v.([]int64); return s, ok })
}

func mergeMap[V any](versions []mapVersion, values func(any) ([]V, bool)) map[string]V {
	type entry struct {
		ts   uint64
		id   string
		keys []string
		vals []V
	}
	entries := make([]entry, 0, len(versions))
	for _, v := range versions {
		if len(v) != 4 {
			continue
		}
		ts, _ := v[0].(uint64)
		id, _ := v[1].(string)
		keys, _ := v[2].([]string)
		vals, ok := values(v[3])
		if !ok {
			continue
		}
		entries = append(entries, entry{ts, id, keys, vals})
	}
	if len(entries) == 0 {
		return nil
	}
	// Newest first, so the first version to hold a key wins it.
	slices.SortFunc(entries, func(a, b entry) int {
		return cmp.Or(cmp.Compare(b.ts, a.ts), cmp.Compare(b.id, a.id))
	})
	out := make(map[string]V)
	for _, e := range entries {
		for i := range min(len(e.keys), len(e.vals)) {
			if _, taken := out[e.keys[i]]; !taken {
				out[e.keys[i]] = e.vals[i]
			}
		}
	}
	return out
}
