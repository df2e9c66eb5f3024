package query

import (
	"context"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	"google.golang.org/protobuf/types/known/structpb"

	queryv1 "github.com/agenttrace/agenttrace/pkg/gen/agenttrace/query/v1"
)

// The metrics API: one aggregation over a view of merged objects (traces,
// observations or scores) in a time window, grouped by dimensions and
// optionally by time buckets. The request's JSON is Langfuse's metrics v2
// shape; docs/METRICS.md is the user's reference and must follow this
// catalog.

// MetricsStore aggregates merged objects; chstore implements it.
type MetricsStore interface {
	Metrics(ctx context.Context, projectID string, q *MetricsQuery) ([]MetricsRow, error)
}

// Views.
const (
	ViewTraces       = "traces"
	ViewObservations = "observations"
	ViewScores       = "scores"
)

// FieldKind says how a view's field may be used.
type FieldKind int

const (
	// FieldDimension is a string with few values: a group-by or a filter.
	FieldDimension FieldKind = iota + 1
	// FieldIdentifier is a string with many values (ids, users, sessions):
	// a filter only, since grouping by it would return a row per object.
	FieldIdentifier
	// FieldTags is a list of strings: a filter (any of, all of, none of)
	// or a dimension (one group per tag).
	FieldTags
	// FieldMetadata is the key/value metadata: a filter on one key.
	FieldMetadata
	// FieldEnum is a dimension whose values are an enum's names
	// (GENERATION, ERROR, ...): filters match them case-insensitively.
	FieldEnum
)

// MetricsFields are each view's fields; MetricsMeasures its measures (which
// also filter numerically). Both are the catalog that chstore maps to SQL
// (a test checks that every entry has its SQL).
var (
	MetricsFields = map[string]map[string]FieldKind{
		ViewTraces: {
			"name": FieldDimension, "environment": FieldDimension, "release": FieldDimension,
			"version": FieldDimension, "tags": FieldTags, "metadata": FieldMetadata,
			"id": FieldIdentifier, "traceId": FieldIdentifier, "userId": FieldIdentifier, "sessionId": FieldIdentifier,
		},
		ViewObservations: {
			"name": FieldDimension, "type": FieldEnum, "model": FieldDimension, "environment": FieldDimension,
			"version": FieldDimension, "level": FieldEnum, "traceName": FieldDimension, "release": FieldDimension,
			"tags": FieldTags, "metadata": FieldMetadata,
			"id": FieldIdentifier, "traceId": FieldIdentifier, "parentObservationId": FieldIdentifier,
			"userId": FieldIdentifier, "sessionId": FieldIdentifier,
		},
		ViewScores: {
			"name": FieldDimension, "source": FieldEnum, "dataType": FieldEnum, "environment": FieldDimension,
			"stringValue": FieldDimension, "metadata": FieldMetadata,
			"id": FieldIdentifier, "traceId": FieldIdentifier, "observationId": FieldIdentifier, "sessionId": FieldIdentifier,
		},
	}
	MetricsMeasures = map[string][]string{
		ViewTraces: {"count", "latency", "observationsCount", "inputTokens", "outputTokens", "totalTokens",
			"inputCost", "outputCost", "totalCost"},
		ViewObservations: {"count", "latency", "timeToFirstToken", "inputTokens", "outputTokens", "totalTokens",
			"inputCost", "outputCost", "totalCost", "errors"},
		ViewScores: {"count", "value"},
	}
)

// fieldAliases are Langfuse's names for the same fields.
var fieldAliases = map[string]string{
	"providedModelName": "model",
	"scoreName":         "name",
}

// Aggregations, and what they compute over a measure's values (objects
// without the value, e.g. latency of an unfinished observation, are left
// out): sum, avg, min, max, count of values, exact percentiles, and an
// adaptive histogram of Config.bins buckets.
var metricsAggregations = []string{"sum", "avg", "min", "max", "count", "p50", "p75", "p90", "p95", "p99", "histogram"}

// Granularities of the time dimension; Auto picks the one closest to
// about 50 buckets over the window.
var granularitySteps = []struct {
	name string
	step time.Duration // nominal, for counting buckets
}{
	{"minute", time.Minute},
	{"hour", time.Hour},
	{"day", 24 * time.Hour},
	{"week", 7 * 24 * time.Hour},
	{"month", 30 * 24 * time.Hour},
}

const (
	// TimeDimension is the time bucket's column in the result and in order_by.
	TimeDimension = "time_dimension"

	maxDimensions  = 3
	maxMetrics     = 10
	maxFilters     = 20
	maxBuckets     = 10_000
	defaultBins    = 10
	maxBins        = 100
	defaultRows    = 1000
	maxRows        = 10_000
	autoBuckets    = 50
	maxFilterValue = 1000 // characters
)

// Filter operators.
const (
	OpEq          = "="
	OpNe          = "!="
	OpGt          = ">"
	OpGe          = ">="
	OpLt          = "<"
	OpLe          = "<="
	OpContains    = "contains"
	OpNotContains = "does not contain"
	OpStartsWith  = "starts with"
	OpEndsWith    = "ends with"
	OpAnyOf       = "any of"
	OpNoneOf      = "none of"
	OpAllOf       = "all of"
)

var (
	stringOps   = []string{OpEq, OpNe, OpContains, OpNotContains, OpStartsWith, OpEndsWith, OpAnyOf, OpNoneOf}
	tagOps      = []string{OpAnyOf, OpAllOf, OpNoneOf}
	metadataOps = []string{OpEq, OpNe, OpContains, OpNotContains, OpStartsWith, OpEndsWith}
	numberOps   = []string{OpEq, OpNe, OpGt, OpGe, OpLt, OpLe}
)

// MetricsQuery is a validated metrics request, in canonical names.
type MetricsQuery struct {
	View       string
	Dimensions []Dimension
	Metrics    []Metric
	Filters    []MetricsFilter
	// Granularity of the time dimension (minute, hour, day, week, month);
	// empty when the result is not grouped by time.
	Granularity string
	Time        TimeRange // both bounds set
	OrderBy     []MetricsOrder
	Bins        int // histogram buckets
	Limit       int // rows
}

// Dimension is a group-by: Field is canonical, Name what the caller wrote
// (the result's key).
type Dimension struct {
	Field, Name string
}

// Metric is a measure with its aggregation.
type Metric struct {
	Measure, Aggregation string
}

// Column is the metric's result column, {aggregation}_{measure}.
func (m Metric) Column() string { return m.Aggregation + "_" + m.Measure }

// MetricsFilter keeps the objects whose Field (a field or a measure)
// compares with Op to Values (strings) or Number (measures).
type MetricsFilter struct {
	Field   string
	Kind    FieldKind // 0 for a measure
	Key     string    // the metadata key
	Op      string
	Values  []string
	Number  float64
	Measure bool
}

// MetricsOrder orders the result by a dimension (its index), a metric (its
// index) or the time bucket.
type MetricsOrder struct {
	Dimension int // -1 when not a dimension
	Metric    int // -1 when not a metric
	Time      bool
	Desc      bool
}

// MetricsRow is one group of the result.
type MetricsRow struct {
	Dimensions []string
	Bucket     uint64 // the time bucket's start in nanoseconds, when grouped by time
	Values     []MetricValue
}

// MetricValue is an aggregate: a number (nil when there was nothing to
// aggregate) or a histogram's buckets.
type MetricValue struct {
	Number    *float64
	Histogram []HistogramBin
}

// HistogramBin is one bucket of a histogram: its bounds and weight.
type HistogramBin struct {
	Lower, Upper, Count float64
}

// QueryMetrics validates the request, aggregates and shapes the rows.
func (s *Service) QueryMetrics(ctx context.Context, projectID string, req *queryv1.QueryMetricsRequest) (*queryv1.QueryMetricsResponse, error) {
	q, err := metricsQueryOf(req.GetQuery())
	if err != nil {
		return nil, err
	}
	rows, err := s.store.Metrics(ctx, projectID, q)
	if err != nil {
		return nil, err
	}
	resp := &queryv1.QueryMetricsResponse{Data: make([]*structpb.Struct, 0, len(rows))}
	for _, r := range rows {
		fields := make(map[string]*structpb.Value, len(r.Dimensions)+len(r.Values)+1)
		for i, d := range q.Dimensions {
			fields[d.Name] = structpb.NewStringValue(r.Dimensions[i])
		}
		if q.Granularity != "" {
			fields[TimeDimension] = structpb.NewStringValue(time.Unix(0, int64(r.Bucket)).UTC().Format(time.RFC3339))
		}
		for i, m := range q.Metrics {
			fields[m.Column()] = metricValue(r.Values[i])
		}
		resp.Data = append(resp.Data, &structpb.Struct{Fields: fields})
	}
	return resp, nil
}

func metricValue(v MetricValue) *structpb.Value {
	if v.Histogram != nil {
		bins := make([]*structpb.Value, len(v.Histogram))
		for i, b := range v.Histogram {
			bins[i] = structpb.NewListValue(&structpb.ListValue{Values: []*structpb.Value{
				structpb.NewNumberValue(b.Lower), structpb.NewNumberValue(b.Upper), structpb.NewNumberValue(b.Count),
			}})
		}
		return structpb.NewListValue(&structpb.ListValue{Values: bins})
	}
	if v.Number == nil || math.IsNaN(*v.Number) || math.IsInf(*v.Number, 0) {
		return structpb.NewNullValue()
	}
	return structpb.NewNumberValue(*v.Number)
}

// metricsQueryOf validates a request; field names in errors are the JSON
// form's (query.dimensions[0].field, ...).
func metricsQueryOf(in *queryv1.MetricsQuery) (*MetricsQuery, error) {
	if in == nil {
		return nil, invalid("query", "is required")
	}
	view := in.GetView()
	fields, ok := MetricsFields[view]
	if !ok {
		return nil, invalid("query.view", "must be traces, observations or scores")
	}
	q := &MetricsQuery{View: view, Bins: defaultBins, Limit: defaultRows}

	var err error
	if q.Time, err = metricsWindow(in); err != nil {
		return nil, err
	}
	if q.Dimensions, err = metricsDimensions(in.GetDimensions(), fields); err != nil {
		return nil, err
	}
	if q.Metrics, err = metricsMetrics(in.GetMetrics(), view); err != nil {
		return nil, err
	}
	if q.Filters, err = metricsFilters(in.GetFilters(), fields, view); err != nil {
		return nil, err
	}
	if td := in.GetTimeDimension(); td != nil {
		if q.Granularity, err = granularity(td.GetGranularity(), q.Time); err != nil {
			return nil, err
		}
	}
	if c := in.GetConfig(); c != nil {
		if c.GetBins() != 0 {
			if c.GetBins() < 1 || c.GetBins() > maxBins {
				return nil, invalid("query.config.bins", "must be between 1 and 100")
			}
			q.Bins = int(c.GetBins())
		}
		if c.GetRowLimit() != 0 {
			if c.GetRowLimit() < 1 || c.GetRowLimit() > maxRows {
				return nil, invalid("query.config.row_limit", "must be between 1 and 10000")
			}
			q.Limit = int(c.GetRowLimit())
		}
	}
	if q.OrderBy, err = metricsOrder(in.GetOrderBy(), q); err != nil {
		return nil, err
	}
	return q, nil
}

func metricsWindow(in *queryv1.MetricsQuery) (TimeRange, error) {
	if in.GetFromTimestamp() == nil {
		return TimeRange{}, invalid("query.fromTimestamp", "is required")
	}
	if in.GetToTimestamp() == nil {
		return TimeRange{}, invalid("query.toTimestamp", "is required")
	}
	from, err := nanos(in.GetFromTimestamp(), "query.fromTimestamp")
	if err != nil {
		return TimeRange{}, err
	}
	to, err := nanos(in.GetToTimestamp(), "query.toTimestamp")
	if err != nil {
		return TimeRange{}, err
	}
	if to <= from {
		return TimeRange{}, invalid("query.toTimestamp", "must be after fromTimestamp")
	}
	return TimeRange{From: from, To: to}, nil
}

func canonicalField(name string) string {
	if c, ok := fieldAliases[name]; ok {
		return c
	}
	return name
}

func metricsDimensions(in []*queryv1.MetricsDimension, fields map[string]FieldKind) ([]Dimension, error) {
	if len(in) > maxDimensions {
		return nil, invalid("query.dimensions", fmt.Sprintf("at most %d", maxDimensions))
	}
	out := make([]Dimension, 0, len(in))
	for i, d := range in {
		name := d.GetField()
		at := fmt.Sprintf("query.dimensions[%d].field", i)
		field := canonicalField(name)
		switch fields[field] {
		case FieldDimension, FieldEnum, FieldTags:
		case FieldIdentifier:
			return nil, invalid(at, fmt.Sprintf("%q has a value per object and cannot be grouped by; use it as a filter", name))
		case FieldMetadata:
			return nil, invalid(at, "metadata cannot be grouped by; filter on a metadata key instead")
		default:
			return nil, invalid(at, fmt.Sprintf("unknown field %q for this view (one of %s)", name, strings.Join(dimensionNames(fields), ", ")))
		}
		for _, prev := range out {
			if prev.Field == field {
				return nil, invalid(at, fmt.Sprintf("%q is already a dimension", name))
			}
		}
		out = append(out, Dimension{Field: field, Name: name})
	}
	return out, nil
}

func dimensionNames(fields map[string]FieldKind) []string {
	var names []string
	for f, k := range fields {
		if k == FieldDimension || k == FieldEnum || k == FieldTags {
			names = append(names, f)
		}
	}
	slices.Sort(names)
	return names
}

func metricsMetrics(in []*queryv1.MetricsMetric, view string) ([]Metric, error) {
	switch {
	case len(in) == 0:
		return nil, invalid("query.metrics", "at least one metric is required")
	case len(in) > maxMetrics:
		return nil, invalid("query.metrics", fmt.Sprintf("at most %d", maxMetrics))
	}
	measures := MetricsMeasures[view]
	out := make([]Metric, 0, len(in))
	for i, m := range in {
		if !slices.Contains(measures, m.GetMeasure()) {
			return nil, invalid(fmt.Sprintf("query.metrics[%d].measure", i),
				fmt.Sprintf("unknown measure %q for this view (one of %s)", m.GetMeasure(), strings.Join(measures, ", ")))
		}
		agg := m.GetAggregation()
		if !slices.Contains(metricsAggregations, agg) {
			return nil, invalid(fmt.Sprintf("query.metrics[%d].aggregation", i),
				"must be one of "+strings.Join(metricsAggregations, ", "))
		}
		if m.GetMeasure() == "count" && agg != "count" && agg != "sum" {
			return nil, invalid(fmt.Sprintf("query.metrics[%d].aggregation", i), "the count measure takes count (or sum)")
		}
		metric := Metric{Measure: m.GetMeasure(), Aggregation: agg}
		if slices.Contains(out, metric) {
			return nil, invalid(fmt.Sprintf("query.metrics[%d]", i), metric.Column()+" is already a metric")
		}
		out = append(out, metric)
	}
	return out, nil
}

func metricsFilters(in []*queryv1.MetricsFilter, fields map[string]FieldKind, view string) ([]MetricsFilter, error) {
	if len(in) > maxFilters {
		return nil, invalid("query.filters", fmt.Sprintf("at most %d", maxFilters))
	}
	out := make([]MetricsFilter, 0, len(in))
	for i, f := range in {
		at := fmt.Sprintf("query.filters[%d]", i)
		column := canonicalField(f.GetColumn())
		op := strings.ToLower(strings.TrimSpace(f.GetOperator()))
		if slices.Contains(MetricsMeasures[view], column) {
			if !slices.Contains(numberOps, op) {
				return nil, invalid(at+".operator", "a measure compares with one of "+strings.Join(numberOps, " "))
			}
			n, ok := f.GetValue().GetKind().(*structpb.Value_NumberValue)
			if !ok || math.IsNaN(n.NumberValue) || math.IsInf(n.NumberValue, 0) {
				return nil, invalid(at+".value", "must be a number")
			}
			out = append(out, MetricsFilter{Field: column, Op: op, Number: n.NumberValue, Measure: true})
			continue
		}
		kind, ok := fields[column]
		if !ok {
			return nil, invalid(at+".column", fmt.Sprintf("unknown column %q for this view", f.GetColumn()))
		}
		filter := MetricsFilter{Field: column, Kind: kind, Op: op}
		allowed := stringOps
		switch kind {
		case FieldTags:
			allowed = tagOps
		case FieldMetadata:
			allowed = metadataOps
			if f.GetKey() == "" {
				return nil, invalid(at+".key", "is required for a metadata filter")
			}
			filter.Key = f.GetKey()
		}
		if !slices.Contains(allowed, op) {
			return nil, invalid(at+".operator", fmt.Sprintf("%q takes one of: %s", f.GetColumn(), strings.Join(allowed, ", ")))
		}
		values, err := filterStrings(f.GetValue(), op)
		if err != nil {
			return nil, invalid(at+".value", err.Error())
		}
		if kind == FieldEnum {
			for j, v := range values {
				values[j] = strings.ToUpper(v)
			}
		}
		filter.Values = values
		out = append(out, filter)
	}
	return out, nil
}

// filterStrings reads a string filter's value: a list for any of / none of
// / all of (a single string is a list of one), else one string.
func filterStrings(v *structpb.Value, op string) ([]string, error) {
	list := op == OpAnyOf || op == OpNoneOf || op == OpAllOf
	var values []string
	switch k := v.GetKind().(type) {
	case *structpb.Value_StringValue:
		values = []string{k.StringValue}
	case *structpb.Value_ListValue:
		if !list {
			return nil, fmt.Errorf("must be a string for %q", op)
		}
		for _, e := range k.ListValue.GetValues() {
			s, ok := e.GetKind().(*structpb.Value_StringValue)
			if !ok {
				return nil, fmt.Errorf("must be a list of strings")
			}
			values = append(values, s.StringValue)
		}
	default:
		return nil, fmt.Errorf("must be a string or a list of strings")
	}
	if len(values) == 0 {
		return nil, fmt.Errorf("must name at least one value")
	}
	if len(values) > maxFilters*10 {
		return nil, fmt.Errorf("at most %d values", maxFilters*10)
	}
	for _, s := range values {
		if len(s) > maxFilterValue {
			return nil, fmt.Errorf("values are at most %d characters", maxFilterValue)
		}
	}
	return values, nil
}

// granularity validates a time dimension over the window, resolving auto,
// and refuses one that would make more than maxBuckets buckets.
func granularity(name string, tr TimeRange) (string, error) {
	window := time.Duration(tr.To - tr.From)
	if name == "auto" || name == "" {
		best, bestDist := "", math.Inf(1)
		for _, g := range granularitySteps {
			n := float64(window) / float64(g.step)
			if dist := math.Abs(math.Log(max(n, 1) / autoBuckets)); dist < bestDist {
				best, bestDist = g.name, dist
			}
		}
		return best, nil
	}
	for _, g := range granularitySteps {
		if g.name != name {
			continue
		}
		if window/g.step > maxBuckets {
			return "", invalid("query.timeDimension.granularity",
				fmt.Sprintf("%s buckets over this window would be more than %d; choose a coarser granularity or auto", name, maxBuckets))
		}
		return name, nil
	}
	return "", invalid("query.timeDimension.granularity", "must be minute, hour, day, week, month or auto")
}

func metricsOrder(in []*queryv1.MetricsOrderBy, q *MetricsQuery) ([]MetricsOrder, error) {
	out := make([]MetricsOrder, 0, len(in))
	for i, o := range in {
		at := fmt.Sprintf("query.orderBy[%d]", i)
		order := MetricsOrder{Dimension: -1, Metric: -1}
		switch strings.ToLower(o.GetDirection()) {
		case "", "asc":
		case "desc":
			order.Desc = true
		default:
			return nil, invalid(at+".direction", "must be asc or desc")
		}
		field := o.GetField()
		switch field {
		case TimeDimension, "timeDimension":
			if q.Granularity == "" {
				return nil, invalid(at+".field", "the query has no time dimension")
			}
			order.Time = true
		default:
			order.Dimension = slices.IndexFunc(q.Dimensions, func(d Dimension) bool { return d.Name == field || d.Field == field })
			order.Metric = slices.IndexFunc(q.Metrics, func(m Metric) bool { return m.Column() == field })
			if order.Dimension < 0 && order.Metric < 0 {
				return nil, invalid(at+".field", fmt.Sprintf("%q is not a dimension, a metric column ({aggregation}_{measure}) or time_dimension of the query", field))
			}
			if order.Metric >= 0 && q.Metrics[order.Metric].Aggregation == "histogram" {
				return nil, invalid(at+".field", "a histogram cannot be ordered by")
			}
		}
		out = append(out, order)
	}
	return out, nil
}
