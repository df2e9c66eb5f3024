package chschema

import (
	"cmp"
	"fmt"
	"slices"
	"strings"

	commonv1 "github.com/agenttrace/agenttrace/pkg/gen/agenttrace/common/v1"
)

// The read side of the versioning model. A merged object takes, per scalar
// field, the value of the newest version that set it (argMaxIf over
// VersionOrder, so equal event timestamps still resolve the same way every
// time), the union of tags, and per map key the value of the newest version
// holding that key. Copies of one event (redeliveries) share event_ts and
// event_id and are identical rows, so they never change a merge.
//
// Each merge expression yields the merged value of one column of the rows
// grouped by id under the alias Merged(column): m_<column>, never the
// column's own name, since current ClickHouse resolves an alias that
// shadows a column inside aggregate arguments too. The expressions are
// plain SQL that ClickHouse 18.16 and current releases both run.

// VersionOrder orders the versions of one object: the event timestamp, then
// the event id so that two events with the same timestamp merge
// deterministically.
const VersionOrder = "(" + ColEventTS + ", " + ColEventID + ")"

// Merged is the alias a merge expression gives column col.
func Merged(col string) string { return "m_" + col }

// MergeString is the newest non-empty value of a String column.
func MergeString(col string) string { return MergeStringAs(col, Merged(col)) }

// MergeStringAs is MergeString under another alias (a joined side's columns
// must not collide with the objects' m_*).
func MergeStringAs(col, alias string) string {
	return fmt.Sprintf("argMaxIf(%[1]s, %[2]s, %[1]s != '') AS %[3]s", col, VersionOrder, alias)
}

// MergeUint is the newest non-zero value of a UInt64 column (times).
func MergeUint(col string) string {
	return fmt.Sprintf("argMaxIf(%[1]s, %[2]s, %[1]s != 0) AS %[3]s", col, VersionOrder, Merged(col))
}

// MergeNullable is the newest non-NULL value of a Nullable column, NULL
// when no version set it. toNullable pins the result type across releases.
func MergeNullable(col string) string {
	return fmt.Sprintf("toNullable(argMaxIf(%[1]s, %[2]s, isNotNull(%[1]s))) AS %[3]s", col, VersionOrder, Merged(col))
}

// MergeMapVersions collects every version that set the map, as tuples
// (event_ts, event_id, keys, values); MergeStringMap and MergeInt64Map
// resolve them per key in Go.
func MergeMapVersions(m MapColumns) string {
	return MergeMapVersionsOf("", m, Merged(m.Name))
}

// MergeMapVersionsOf is MergeMapVersions under alias, each version's tuple
// led by the value of column by (id, ...) when it is set: versions of many
// objects collected together (by groupArrayArray over their merges) can
// then be told apart (MapVersionsBy).
func MergeMapVersionsOf(by string, m MapColumns, alias string) string {
	if by != "" {
		by += ", "
	}
	return fmt.Sprintf("groupArrayIf((%s%s, %s, %s, %s), notEmpty(%[4]s)) AS %[6]s",
		by, ColEventTS, ColEventID, m.Keys, m.Values, alias)
}

// MapVersionsBy splits versions collected by MergeMapVersionsOf with a
// String column by their first field.
func MapVersionsBy(versions []MapVersion) map[string][]MapVersion {
	out := map[string][]MapVersion{}
	for _, v := range versions {
		if len(v) == 0 {
			continue
		}
		by, _ := v[0].(string)
		out[by] = append(out[by], v[1:])
	}
	return out
}

// MergeTags is the union of the tags of every version, sorted.
const MergeTags = "arraySort(groupUniqArrayArray(" + ColTags + ")) AS m_" + ColTags

// MergedUpdated is the alias of MergeUpdated.
const MergedUpdated = "m_updated"

// MergeUpdated is when the newest version happened.
const MergeUpdated = "max(" + ColEventTS + ") AS " + MergedUpdated

// EffectiveUsageTotal is an observation's total tokens after its versions
// are merged (over the Merged usage aliases): the total a client sent, else
// input + output, else whichever of the two is set, else NULL. UsageTotal
// is the same rule in Go.
//
// It is applied at read time, and not when the worker writes a row,
// because a row is one partial version: a create may carry input only and
// a later update output only, so no single event knows whether the total is
// missing or what it adds up to. Only the merge sees the whole observation;
// a total that any version sent always wins over the sum.
//
// Usage details are never added: every detail the API and the OTel mapping
// know (cached_input, cache_creation_input, reasoning_output, audio_*) is a
// breakdown already counted in input or output, as GenAI's conventions
// count them, so none is exclusive of them and adding one would count it
// twice. Details alone (no input, no output) make no total.
var EffectiveUsageTotal = fmt.Sprintf("coalesce(%[1]s, %[2]s + %[3]s, %[2]s, %[3]s)",
	Merged(ColUsageTotal), Merged(ColUsageInput), Merged(ColUsageOutput))

// List joins select expressions.
func List(exprs ...string) string { return strings.Join(exprs, ", ") }

// MapVersion is one version's map as scanned from a MergeMapVersions
// column: a tuple (event_ts, event_id, keys, values).
type MapVersion = []any

// MergeStringMap resolves map versions: per key, the newest version holding it.
func MergeStringMap(versions []MapVersion) map[string]string {
	return mergeMap(versions, func(v any) ([]string, bool) { s, ok := v.([]string); return s, ok })
}

// MergeInt64Map is MergeStringMap for Int64 values (usage details).
func MergeInt64Map(versions []MapVersion) map[string]int64 {
	return mergeMap(versions, func(v any) ([]int64, bool) { s, ok := v.([]int64); return s, ok })
}

func mergeMap[V any](versions []MapVersion, values func(any) ([]V, bool)) map[string]V {
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

// Scan reads one result row into dest (driver.Rows.Scan).
type Scan func(dest ...any) error

// MergedTraceColumns merge every field of a trace grouped by id;
// ScanMergedTrace reads them.
var MergedTraceColumns = List(
	ColID,
	MergeUint(ColTimestamp),
	MergeString(ColName),
	MergeString(ColUserID),
	MergeString(ColSessionID),
	MergeTags,
	MergeMapVersions(Metadata),
	MergeString(ColInput),
	MergeString(ColOutput),
	MergeString(ColRelease),
	MergeString(ColVersion),
	MergeString(ColEnvironment),
	MergeUpdated,
)

// ScanMergedTrace decodes a row of MergedTraceColumns.
func ScanMergedTrace(scan Scan, projectID string) (*commonv1.Trace, error) {
	var (
		t             commonv1.Trace
		ts, updated   uint64
		metadata      []MapVersion
		input, output string
	)
	err := scan(&t.Id, &ts, &t.Name, &t.UserId, &t.SessionId, &t.Tags, &metadata,
		&input, &output, &t.Release, &t.Version, &t.Environment, &updated)
	if err != nil {
		return nil, fmt.Errorf("scan trace: %w", err)
	}
	t.ProjectId = projectID
	t.Timestamp = Timestamp(ts)
	t.Metadata = MergeStringMap(metadata)
	t.Input = JSONValue(input)
	t.Output = JSONValue(output)
	t.UpdatedAt = Timestamp(updated)
	if len(t.Tags) == 0 {
		t.Tags = nil
	}
	return &t, nil
}

// MergedObservationColumns merge every field of an observation grouped by
// (trace_id, id): every version carries its trace id, which is part of an
// observation's identity. ScanMergedObservation reads them.
var MergedObservationColumns = mergedObservationColumns(MergeString(ColInput), MergeString(ColOutput))

// MergedObservationBasicColumns are MergedObservationColumns without input
// and output (not read; ScanMergedObservation leaves them unset): most of
// an LLM observation's bytes, which a trace's tree does not need.
var MergedObservationBasicColumns = mergedObservationColumns("'' AS "+Merged(ColInput), "'' AS "+Merged(ColOutput))

func mergedObservationColumns(input, output string) string {
	return List(
		ColID,
		ColTraceID,
		MergeString(ColParentObservationID),
		MergeString(ColType),
		MergeString(ColName),
		MergeUint(ColStartTime),
		MergeUint(ColEndTime),
		MergeUint(ColCompletionStartTime),
		MergeString(ColLevel),
		MergeString(ColStatusMessage),
		MergeString(ColModel),
		MergeMapVersions(ModelParameters),
		MergeNullable(ColUsageInput),
		MergeNullable(ColUsageOutput),
		MergeNullable(ColUsageTotal),
		MergeMapVersions(UsageDetails),
		MergeNullable(ColCostInput),
		MergeNullable(ColCostOutput),
		MergeNullable(ColCostTotal),
		input,
		output,
		MergeMapVersions(Metadata),
		MergeString(ColVersion),
		MergeString(ColEnvironment),
		MergeUpdated,
	)
}

// ObservationKey is the GROUP BY key of merged observations.
const ObservationKey = ColTraceID + ", " + ColID

// ScanMergedObservation decodes a row of MergedObservationColumns (or
// MergedObservationBasicColumns).
func ScanMergedObservation(scan Scan, projectID string) (*commonv1.Observation, error) {
	var (
		o                           commonv1.Observation
		typ, level, input, output   string
		start, end, completion, upd uint64
		params, details, metadata   []MapVersion
		usageIn, usageOut, usageTot *int64
		costIn, costOut, costTot    *float64
	)
	err := scan(&o.Id, &o.TraceId, &o.ParentObservationId, &typ, &o.Name,
		&start, &end, &completion, &level, &o.StatusMessage, &o.Model, &params,
		&usageIn, &usageOut, &usageTot, &details, &costIn, &costOut, &costTot,
		&input, &output, &metadata, &o.Version, &o.Environment, &upd)
	if err != nil {
		return nil, fmt.Errorf("scan observation: %w", err)
	}
	o.ProjectId = projectID
	o.Type = ObservationType(typ)
	o.Level = ObservationLevel(level)
	o.StartTime, o.EndTime, o.CompletionStartTime = Timestamp(start), Timestamp(end), Timestamp(completion)
	o.ModelParameters = MergeStringMap(params)
	o.Usage = Usage(usageIn, usageOut, usageTot, MergeInt64Map(details))
	o.Cost = Cost(costIn, costOut, costTot)
	o.Input, o.Output = JSONValue(input), JSONValue(output)
	o.Metadata = MergeStringMap(metadata)
	o.UpdatedAt = Timestamp(upd)
	return &o, nil
}

// MergedScoreColumns merge every field of a score grouped by id. A score's
// identity is its id alone: an update need not repeat the trace id, so
// trace_id is merged like any other field. ScanMergedScore reads them.
var MergedScoreColumns = List(
	ColID,
	MergeString(ColTraceID),
	MergeString(ColObservationID),
	MergeString(ColSessionID),
	MergeString(ColName),
	MergeString(ColDataType),
	MergeNullable(ColValue),
	MergeString(ColStringValue),
	MergeString(ColComment),
	MergeString(ColSource),
	MergeUint(ColTimestamp),
	MergeMapVersions(Metadata),
	MergeString(ColEnvironment),
	MergeUpdated,
)

// ScanMergedScore decodes a row of MergedScoreColumns.
func ScanMergedScore(scan Scan, projectID string) (*commonv1.Score, error) {
	var (
		sc               commonv1.Score
		dataType, source string
		value            *float64
		ts, upd          uint64
		metadata         []MapVersion
	)
	err := scan(&sc.Id, &sc.TraceId, &sc.ObservationId, &sc.SessionId, &sc.Name, &dataType,
		&value, &sc.StringValue, &sc.Comment, &source, &ts, &metadata, &sc.Environment, &upd)
	if err != nil {
		return nil, fmt.Errorf("scan score: %w", err)
	}
	sc.ProjectId = projectID
	sc.DataType = ScoreDataType(dataType)
	if value != nil {
		sc.Value = *value
	}
	sc.Source = ScoreSource(source)
	sc.Timestamp = Timestamp(ts)
	sc.Metadata = MergeStringMap(metadata)
	sc.UpdatedAt = Timestamp(upd)
	return &sc, nil
}
