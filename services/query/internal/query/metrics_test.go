package query_test

import (
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
	"google.golang.org/protobuf/encoding/protojson"

	"github.com/agenttrace/agenttrace/pkg/chschema"
	queryv1 "github.com/agenttrace/agenttrace/pkg/gen/agenttrace/query/v1"
	"github.com/agenttrace/agenttrace/services/query/internal/chtest"

	. "github.com/agenttrace/agenttrace/services/query/internal/query"
)

// The metrics API is checked against a reference computed in Go from the
// objects' final state, which the fixture writes as the worker does: split
// into a create and a later update carrying different fields (and one
// overriding the create's name), some events delivered twice, and a second
// project holding the same ids with other values.

// dayNs is a day in nanoseconds.
const dayNs = uint64(24 * time.Hour)

type mTrace struct {
	id, name, env, release, version, user, session string
	tags                                           []string
	team                                           string // metadata "team"; "" when unset
	ts                                             uint64
}

type mObs struct {
	traceID, id, parent, typ, name, model, env, version, level string
	team                                                       string
	start, end, ttft                                           uint64 // end, ttft 0 when unset
	in, out, total                                             *int64
	costIn, costOut, costTotal                                 *float64
}

type mScore struct {
	id, traceID, name, source, dataType, env, stringValue string
	value                                                 *float64
	ts                                                    uint64
}

type mProject struct {
	traces map[string]*mTrace
	obs    []*mObs
	scores []*mScore
}

func pick[T any](r *rand.Rand, from ...T) T { return from[r.IntN(len(from))] }

// seedMetrics writes a random project under id and returns its final state.
func seedMetrics(t *testing.T, r *rand.Rand, conn driver.Conn, projectID string) *mProject {
	t.Helper()
	p := &mProject{traces: map[string]*mTrace{}}
	var traceRows []chtest.Trace
	var obsRows []chtest.Observation
	var scoreRows []chtest.Score
	const created, updated = 1, 2 // event-time offsets of the two versions
	for i := range 60 {
		// From a day before the window (base) to a day after its end (base+3d).
		ts := base - dayNs + r.Uint64N(5*dayNs)
		tr := &mTrace{
			id: fmt.Sprintf("t%02d", i), name: pick(r, "chat", "rag", "agent"), env: pick(r, "prod", "dev"),
			release: pick(r, "v1", "v2", ""), version: pick(r, "a", "b"), user: pick(r, "u1", "u2", "u3", "u4"),
			session: pick(r, "s1", "s2", "s3", ""), team: pick(r, "x", "y", "xx", ""), ts: ts,
		}
		for _, tag := range []string{"a", "b", "c"} {
			if r.IntN(2) == 0 {
				tr.tags = append(tr.tags, tag)
			}
		}
		p.traces[tr.id] = tr
		// The create carries the first tag, the update the rest (tags merge
		// as a union), the version and the metadata.
		create := chtest.Trace{ProjectID: projectID, ID: tr.id, Timestamp: ts, Name: tr.name, UserID: tr.user,
			SessionID: tr.session, Environment: tr.env, Release: tr.release, EventTS: ts + created}
		update := chtest.Trace{ProjectID: projectID, ID: tr.id, Version: tr.version, EventTS: ts + updated}
		if len(tr.tags) > 0 {
			create.Tags, update.Tags = tr.tags[:1], tr.tags[1:]
		}
		if tr.team != "" {
			update.Metadata = [][2]string{{"team", tr.team}}
		}
		traceRows = append(traceRows, create, update)

		for j := range r.IntN(6) {
			start := ts + uint64(r.Int64N(int64(10*time.Second)))
			o := &mObs{
				traceID: tr.id, id: fmt.Sprintf("o%d", j), typ: pick(r, "GENERATION", "SPAN", "TOOL"),
				name: pick(r, "llm", "search", "plan"), env: tr.env, version: pick(r, "a", "b"),
				level: pick(r, "DEFAULT", "DEFAULT", "ERROR", "WARNING"), team: pick(r, "x", "y", ""), start: start,
			}
			if j > 0 {
				o.parent = "o0"
			}
			if o.typ == "GENERATION" {
				o.model = pick(r, "gpt-4o", "claude", "llama")
				if r.IntN(3) > 0 {
					o.ttft = start + uint64(r.Int64N(int64(time.Second)))
				}
				if r.IntN(4) > 0 {
					o.in, o.out = chtest.I(r.Int64N(2000)), chtest.I(r.Int64N(500))
				} else if r.IntN(2) == 0 {
					o.in = chtest.I(r.Int64N(2000)) // output unknown: the total is the input
				}
				if r.IntN(5) == 0 {
					o.total = chtest.I(r.Int64N(3000)) // a client's total wins over the sum
				}
				if o.in != nil {
					o.costIn, o.costOut = chtest.F(float64(*o.in)*1e-5), chtest.F(float64(r.IntN(500))*3e-5)
					o.costTotal = chtest.F(*o.costIn + *o.costOut)
				}
			}
			if r.IntN(5) > 0 {
				o.end = start + uint64(r.Int64N(int64(5*time.Second)))
			}
			p.obs = append(p.obs, o)
			create := chtest.Observation{ProjectID: projectID, TraceID: o.traceID, ID: o.id, ParentID: o.parent,
				Type: o.typ, Name: "draft-" + o.name, Start: o.start, CompletionStart: o.ttft, Model: o.model,
				Environment: o.env, Version: o.version, Level: "DEFAULT", EventTS: start + created}
			update := chtest.Observation{ProjectID: projectID, TraceID: o.traceID, ID: o.id, Name: o.name,
				End: o.end, Level: o.level, UsageInput: o.in, UsageOutput: o.out, UsageTotal: o.total,
				CostInput: o.costIn, CostOutput: o.costOut, CostTotal: o.costTotal, EventTS: start + updated}
			if o.team != "" {
				update.Metadata = [][2]string{{"team", o.team}}
			}
			obsRows = append(obsRows, create, update)
		}
	}
	for i := range 40 {
		s := &mScore{
			id: fmt.Sprintf("sc%02d", i), traceID: fmt.Sprintf("t%02d", r.IntN(60)), name: pick(r, "quality", "helpful"),
			source: pick(r, "API", "EVAL", "ANNOTATION"), env: pick(r, "prod", "dev"),
			ts: base - dayNs + r.Uint64N(5*dayNs),
		}
		if r.IntN(4) == 0 {
			s.dataType, s.stringValue = "CATEGORICAL", pick(r, "good", "bad")
		} else {
			s.dataType, s.value = "NUMERIC", chtest.F(float64(r.IntN(100))/10)
		}
		p.scores = append(p.scores, s)
		scoreRows = append(scoreRows, chtest.Score{ProjectID: projectID, ID: s.id, TraceID: s.traceID, Name: s.name,
			DataType: s.dataType, Value: s.value, StringValue: s.stringValue, Source: s.source, Timestamp: s.ts,
			Environment: s.env, EventTS: s.ts + created})
	}
	chtest.InsertTraces(t, conn, traceRows...)
	chtest.InsertObservations(t, conn, obsRows...)
	chtest.InsertScores(t, conn, scoreRows...)
	// A redelivery of a third of every kind's events, in another batch.
	third := func(n int) int { return n / 3 }
	chtest.InsertTraces(t, conn, traceRows[:third(len(traceRows))]...)
	chtest.InsertObservations(t, conn, obsRows[third(len(obsRows)):2*third(len(obsRows))]...)
	chtest.InsertScores(t, conn, scoreRows[2*third(len(scoreRows)):]...)
	return p
}

// refObject is one object of a view as the reference sees it: its fields
// (tags apart), measures and time.
type refObject struct {
	fields   map[string]string
	tags     []string
	team     string
	measures map[string]*float64
	time     uint64
}

func fp(v float64) *float64 { return &v }

func intF(v *int64) *float64 {
	if v == nil {
		return nil
	}
	return fp(float64(*v))
}

func millis(from, to uint64) *float64 {
	if from == 0 || to == 0 || to < from {
		return nil
	}
	return fp(float64(to-from) / 1e6)
}

func effectiveTotal(o *mObs) *float64 {
	switch {
	case o.total != nil:
		return intF(o.total)
	case o.in != nil && o.out != nil:
		return fp(float64(*o.in + *o.out))
	case o.in != nil:
		return intF(o.in)
	default:
		return intF(o.out)
	}
}

// addTo adds v to *sum, leaving nil when nothing was ever added.
func addTo(sum **float64, v *float64) {
	if v == nil {
		return
	}
	if *sum == nil {
		*sum = fp(0)
	}
	**sum += *v
}

func (p *mProject) objects(view string) []refObject {
	var out []refObject
	switch view {
	case ViewObservations:
		for _, o := range p.obs {
			tr := p.traces[o.traceID]
			errs := 0.0
			if o.level == "ERROR" {
				errs = 1
			}
			out = append(out, refObject{
				fields: map[string]string{"name": o.name, "type": o.typ, "model": o.model, "environment": o.env,
					"version": o.version, "level": o.level, "traceName": tr.name, "release": tr.release,
					"id": o.id, "traceId": o.traceID, "parentObservationId": o.parent, "userId": tr.user, "sessionId": tr.session},
				tags: tr.tags, team: o.team, time: o.start,
				measures: map[string]*float64{"count": fp(1), "latency": millis(o.start, o.end),
					"timeToFirstToken": millis(o.start, o.ttft), "inputTokens": intF(o.in), "outputTokens": intF(o.out),
					"totalTokens": effectiveTotal(o), "inputCost": o.costIn, "outputCost": o.costOut,
					"totalCost": o.costTotal, "errors": fp(errs)},
			})
		}
	case ViewTraces:
		for _, tr := range p.traces {
			var in, outTok, total, costIn, costOut, costTotal *float64
			var minStart, maxEnd uint64
			n := 0.0
			for _, o := range p.obs {
				if o.traceID != tr.id {
					continue
				}
				n++
				addTo(&in, intF(o.in))
				addTo(&outTok, intF(o.out))
				addTo(&total, effectiveTotal(o))
				addTo(&costIn, o.costIn)
				addTo(&costOut, o.costOut)
				addTo(&costTotal, o.costTotal)
				if minStart == 0 || o.start < minStart {
					minStart = o.start
				}
				maxEnd = max(maxEnd, o.end)
			}
			m := map[string]*float64{"count": fp(1), "observationsCount": fp(n), "inputTokens": in, "outputTokens": outTok,
				"totalTokens": total, "inputCost": costIn, "outputCost": costOut, "totalCost": costTotal, "latency": nil}
			if minStart != 0 && maxEnd > minStart {
				m["latency"] = millis(minStart, maxEnd)
			}
			out = append(out, refObject{
				fields: map[string]string{"name": tr.name, "environment": tr.env, "release": tr.release,
					"version": tr.version, "id": tr.id, "traceId": tr.id, "userId": tr.user, "sessionId": tr.session},
				tags: tr.tags, team: tr.team, time: tr.ts, measures: m,
			})
		}
	case ViewScores:
		for _, s := range p.scores {
			out = append(out, refObject{
				fields: map[string]string{"name": s.name, "source": s.source, "dataType": s.dataType, "environment": s.env,
					"stringValue": s.stringValue, "id": s.id, "traceId": s.traceID, "observationId": "", "sessionId": ""},
				time: s.ts, measures: map[string]*float64{"count": fp(1), "value": s.value},
			})
		}
	}
	return out
}

// refFilter is a filter of the test's cases, in the JSON form.
type refFilter struct {
	Column, Operator, Key string
	Value                 any
}

func (o refObject) passes(f refFilter) bool {
	op := strings.ToLower(f.Operator)
	if v, ok := o.measures[f.Column]; ok {
		if v == nil {
			return false // NULL compares to nothing
		}
		n := f.Value.(float64)
		switch op {
		case "=":
			return *v == n
		case "!=":
			return *v != n
		case ">":
			return *v > n
		case ">=":
			return *v >= n
		case "<":
			return *v < n
		default:
			return *v <= n
		}
	}
	values := func() []string {
		switch v := f.Value.(type) {
		case string:
			return []string{v}
		default:
			return slices.Clone(v.([]string))
		}
	}()
	if f.Column == "tags" {
		hits := 0
		for _, v := range values {
			if slices.Contains(o.tags, v) {
				hits++
			}
		}
		switch op {
		case "any of":
			return hits > 0
		case "all of":
			return hits == len(values)
		default:
			return hits == 0
		}
	}
	s := o.fields[f.Column]
	if f.Column == "metadata" {
		s = o.team // the fixture's only key
		if f.Key != "team" {
			s = ""
		}
	}
	if f.Column == "type" || f.Column == "level" || f.Column == "source" || f.Column == "dataType" {
		for i := range values {
			values[i] = strings.ToUpper(values[i])
		}
	}
	switch op {
	case "=":
		return s == values[0]
	case "!=":
		return s != values[0]
	case "contains":
		return strings.Contains(s, values[0])
	case "does not contain":
		return !strings.Contains(s, values[0])
	case "starts with":
		return strings.HasPrefix(s, values[0])
	case "ends with":
		return strings.HasSuffix(s, values[0])
	case "any of":
		return slices.Contains(values, s)
	default: // none of
		return !slices.Contains(values, s)
	}
}

func bucketOf(granularity string, t uint64) string {
	tm := time.Unix(0, int64(t)).UTC()
	switch granularity {
	case "minute":
		tm = tm.Truncate(time.Minute)
	case "hour":
		tm = tm.Truncate(time.Hour)
	case "day":
		tm = time.Date(tm.Year(), tm.Month(), tm.Day(), 0, 0, 0, 0, time.UTC)
	case "week":
		d := time.Date(tm.Year(), tm.Month(), tm.Day(), 0, 0, 0, 0, time.UTC)
		tm = d.AddDate(0, 0, -((int(d.Weekday()) + 6) % 7))
	case "month":
		tm = time.Date(tm.Year(), tm.Month(), 1, 0, 0, 0, 0, time.UTC)
	}
	return tm.Format(time.RFC3339)
}

// quantileExact is ClickHouse's: the element at floor(level*n) of the
// sorted values.
func quantileExact(values []float64, level float64) float64 {
	s := slices.Clone(values)
	slices.Sort(s)
	return s[min(int(level*float64(len(s))), len(s)-1)]
}

type refMetric struct{ Measure, Aggregation string }

// refCase is a query of the comparison, in the JSON form.
type refCase struct {
	name        string
	view        string
	dims        []string
	metrics     []refMetric
	filters     []refFilter
	granularity string
	from, to    uint64
}

func (c refCase) request(t *testing.T) *queryv1.QueryMetricsRequest {
	t.Helper()
	q := map[string]any{"view": c.view, "metrics": c.metrics,
		"fromTimestamp": time.Unix(0, int64(c.from)).UTC().Format(time.RFC3339Nano),
		"toTimestamp":   time.Unix(0, int64(c.to)).UTC().Format(time.RFC3339Nano)}
	var dims []map[string]string
	for _, d := range c.dims {
		dims = append(dims, map[string]string{"field": d})
	}
	q["dimensions"] = dims
	var filters []map[string]any
	for _, f := range c.filters {
		filters = append(filters, map[string]any{"column": f.Column, "operator": f.Operator, "key": f.Key, "value": f.Value})
	}
	q["filters"] = filters
	if c.granularity != "" {
		q["timeDimension"] = map[string]string{"granularity": c.granularity}
	}
	raw, err := json.Marshal(q)
	if err != nil {
		t.Fatal(err)
	}
	// Lower-case keys as users write them: the JSON form is the API.
	raw = []byte(strings.NewReplacer(`"Measure"`, `"measure"`, `"Aggregation"`, `"aggregation"`).Replace(string(raw)))
	query := &queryv1.MetricsQuery{}
	if err := protojson.Unmarshal(raw, query); err != nil {
		t.Fatalf("%s: %v", raw, err)
	}
	return &queryv1.QueryMetricsRequest{Query: query}
}

// reference computes the case's rows over p, keyed by dimensions and bucket.
func (c refCase) reference(p *mProject, granularity string) map[string]map[string]any {
	type group struct {
		dims   map[string]string
		bucket string
		n      int
		values [][]float64
	}
	groups := map[string]*group{}
	canonical := map[string]string{"providedModelName": "model", "scoreName": "name"}
	for _, o := range p.objects(c.view) {
		if o.time < c.from || o.time >= c.to {
			continue
		}
		ok := true
		for _, f := range c.filters {
			if col, alias := canonical[f.Column]; alias {
				f.Column = col
			}
			ok = ok && o.passes(f)
		}
		if !ok {
			continue
		}
		// Tags as a dimension make a group per tag ("" for none).
		combos := []map[string]string{{}}
		for _, d := range c.dims {
			field := d
			if col, alias := canonical[d]; alias {
				field = col
			}
			values := []string{o.fields[field]}
			if field == "tags" {
				values = o.tags
				if len(values) == 0 {
					values = []string{""}
				}
			}
			var next []map[string]string
			for _, combo := range combos {
				for _, v := range values {
					m := map[string]string{d: v}
					for k, x := range combo {
						m[k] = x
					}
					next = append(next, m)
				}
			}
			combos = next
		}
		for _, combo := range combos {
			g := &group{dims: combo, values: make([][]float64, len(c.metrics))}
			if granularity != "" {
				g.bucket = bucketOf(granularity, o.time)
			}
			key := rowKey(c.dims, combo, g.bucket)
			if prev, ok := groups[key]; ok {
				g = prev
			} else {
				groups[key] = g
			}
			g.n++
			for i, m := range c.metrics {
				if v := o.measures[m.Measure]; v != nil {
					g.values[i] = append(g.values[i], *v)
				}
			}
		}
	}
	out := map[string]map[string]any{}
	for key, g := range groups {
		row := map[string]any{}
		for i, m := range c.metrics {
			row[m.Aggregation+"_"+m.Measure] = aggregate(m, g.n, g.values[i])
		}
		out[key] = row
	}
	return out
}

func aggregate(m refMetric, n int, v []float64) any {
	if m.Measure == "count" {
		return float64(n)
	}
	if m.Aggregation == "count" {
		return float64(len(v))
	}
	if m.Aggregation == "histogram" {
		return float64(len(v)) // compared with the sum of the bins' weights
	}
	if len(v) == 0 {
		return nil
	}
	switch m.Aggregation {
	case "sum", "avg":
		s := 0.0
		for _, x := range v {
			s += x
		}
		if m.Aggregation == "avg" {
			s /= float64(len(v))
		}
		return s
	case "min":
		return slices.Min(v)
	case "max":
		return slices.Max(v)
	default: // pNN
		level, err := strconv.ParseFloat(strings.TrimPrefix(m.Aggregation, "p"), 64)
		if err != nil {
			panic(err)
		}
		return quantileExact(v, level/100)
	}
}

func rowKey(dims []string, values map[string]string, bucket string) string {
	parts := make([]string, 0, len(dims)+1)
	for _, d := range dims {
		parts = append(parts, d+"="+values[d])
	}
	return strings.Join(append(parts, "t="+bucket), "|")
}

// got reads the response into rows keyed like the reference.
func got(t *testing.T, c refCase, resp *queryv1.QueryMetricsResponse) map[string]map[string]any {
	t.Helper()
	out := map[string]map[string]any{}
	for _, row := range resp.GetData() {
		m := row.AsMap()
		dims := map[string]string{}
		for _, d := range c.dims {
			s, ok := m[d].(string)
			if !ok {
				t.Fatalf("row %v: dimension %q is not a string", m, d)
			}
			dims[d] = s
		}
		bucket, _ := m[TimeDimension].(string)
		values := map[string]any{}
		for _, mt := range c.metrics {
			col := mt.Aggregation + "_" + mt.Measure
			v, ok := m[col]
			if !ok {
				t.Fatalf("row %v: no column %q", m, col)
			}
			if mt.Aggregation == "histogram" {
				total := 0.0
				bins, _ := v.([]any)
				for _, b := range bins {
					bin := b.([]any)
					if len(bin) != 3 || bin[0].(float64) > bin[1].(float64) {
						t.Fatalf("histogram bin %v is not [lower, upper, weight]", bin)
					}
					total += bin[2].(float64)
				}
				if len(bins) > 10 {
					t.Errorf("%s: %d bins, want at most the default 10", col, len(bins))
				}
				v = total
			}
			values[col] = v
		}
		key := rowKey(c.dims, dims, bucket)
		if _, dup := out[key]; dup {
			t.Fatalf("two rows for %s", key)
		}
		out[key] = values
	}
	return out
}

func near(a, b any) bool {
	if a == nil || b == nil {
		return a == nil && b == nil
	}
	x, y := a.(float64), b.(float64)
	return math.Abs(x-y) <= 1e-6*math.Max(1, math.Max(math.Abs(x), math.Abs(y)))
}

func compareRows(t *testing.T, want, have map[string]map[string]any) {
	t.Helper()
	keys := func(m map[string]map[string]any) []string {
		var k []string
		for key := range m {
			k = append(k, key)
		}
		sort.Strings(k)
		return k
	}
	if !slices.Equal(keys(want), keys(have)) {
		t.Fatalf("groups:\n got %v\nwant %v", keys(have), keys(want))
	}
	for key, w := range want {
		for col, v := range w {
			if !near(v, have[key][col]) {
				t.Errorf("%s %s: got %v, want %v", key, col, have[key][col], v)
			}
		}
	}
}

func TestMetricsMatchTheReference(t *testing.T) {
	svc, conn := newService(t)
	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d", seed)
	projects := map[string]*mProject{
		proj:  seedMetrics(t, rand.New(rand.NewPCG(seed, 1)), conn, proj),
		other: seedMetrics(t, rand.New(rand.NewPCG(seed, 2)), conn, other),
	}
	from, to := base, base+3*dayNs
	all := func(ms ...string) []refMetric { // each measure with each listed aggregation, "measure:agg"
		var out []refMetric
		for _, m := range ms {
			parts := strings.Split(m, ":")
			out = append(out, refMetric{parts[0], parts[1]})
		}
		return out
	}
	cases := []refCase{
		{name: "observations by model per day", view: ViewObservations, dims: []string{"model"}, granularity: "day",
			metrics: all("count:count", "totalCost:sum", "latency:avg", "latency:p95", "timeToFirstToken:max",
				"totalTokens:sum", "errors:avg")},
		{name: "observations by type and level in prod", view: ViewObservations, dims: []string{"type", "level"},
			metrics: all("inputTokens:sum", "outputTokens:min", "totalCost:p50", "latency:count", "count:sum"),
			filters: []refFilter{{Column: "environment", Operator: "=", Value: "prod"}}},
		{name: "observations by trace name and release, trace and metadata filters", view: ViewObservations,
			dims: []string{"traceName", "release"}, granularity: "hour",
			metrics: all("latency:p99", "totalTokens:p75", "inputCost:p90", "count:count"),
			filters: []refFilter{
				{Column: "tags", Operator: "any of", Value: []string{"a", "c"}},
				{Column: "metadata", Key: "team", Operator: "!=", Value: "y"},
				{Column: "userId", Operator: "any of", Value: []string{"u1", "u2", "u3"}},
				{Column: "totalCost", Operator: ">", Value: 0.001},
			}},
		{name: "observations by tag, generations by enum in lower case", view: ViewObservations, dims: []string{"tags"},
			metrics:     all("count:count", "outputCost:sum", "latency:histogram"),
			filters:     []refFilter{{Column: "type", Operator: "=", Value: "generation"}, {Column: "providedModelName", Operator: "none of", Value: []string{"llama"}}},
			granularity: "auto"},
		{name: "observations by Langfuse's model name, string operators", view: ViewObservations, dims: []string{"providedModelName"},
			metrics: all("inputTokens:avg", "outputTokens:max"),
			filters: []refFilter{{Column: "name", Operator: "starts with", Value: "se"}, {Column: "sessionId", Operator: "does not contain", Value: "2"},
				{Column: "parentObservationId", Operator: "ends with", Value: "0"}}},
		{name: "traces by name and environment per day", view: ViewTraces, dims: []string{"name", "environment"}, granularity: "day",
			metrics: all("count:count", "totalCost:sum", "latency:p95", "observationsCount:avg", "totalTokens:sum", "inputTokens:max")},
		{name: "traces by release, tag, session and metadata filters", view: ViewTraces, dims: []string{"release"},
			metrics: all("latency:avg", "outputCost:min", "count:count"),
			filters: []refFilter{{Column: "tags", Operator: "all of", Value: []string{"a", "b"}},
				{Column: "sessionId", Operator: "!=", Value: "s1"}, {Column: "metadata", Key: "team", Operator: "contains", Value: "x"}}},
		{name: "traces per week, no dimension", view: ViewTraces, granularity: "week",
			metrics: all("count:count", "inputCost:sum", "outputCost:sum", "observationsCount:p50")},
		{name: "traces by tag without tags none of", view: ViewTraces, dims: []string{"tags", "version"},
			metrics: all("count:count"), filters: []refFilter{{Column: "tags", Operator: "none of", Value: []string{"c"}}}},
		{name: "scores by name and source per month", view: ViewScores, dims: []string{"name", "source"}, granularity: "month",
			metrics: all("value:avg", "count:count", "value:p50", "value:count"),
			filters: []refFilter{{Column: "dataType", Operator: "=", Value: "numeric"}}},
		{name: "scores by Langfuse's score name and string value", view: ViewScores, dims: []string{"scoreName", "stringValue"},
			metrics: all("value:sum", "count:count"),
			filters: []refFilter{{Column: "traceId", Operator: "any of", Value: []string{"t01", "t02", "t03", "t10", "t20", "t30", "t40"}}}},
		{name: "one row over the whole window", view: ViewObservations, metrics: all("count:count", "totalCost:sum", "latency:histogram")},
		{name: "a measure filter on traces", view: ViewTraces, dims: []string{"environment"}, metrics: all("count:count"),
			filters: []refFilter{{Column: "observationsCount", Operator: ">=", Value: 3.0}, {Column: "latency", Operator: "<", Value: 4000.0}}},
	}
	// Shapes the rollup answers (additive aggregations of the
	// observation's own fields), over windows that do not start or end on
	// the hour, so both paths read a part.
	const minute = uint64(time.Minute)
	rollupCases := []refCase{
		{name: "rollup: by model and level per day in prod", view: ViewObservations, dims: []string{"model", "level"}, granularity: "day",
			metrics: all("count:count", "totalCost:sum", "latency:avg", "latency:min", "timeToFirstToken:max", "totalTokens:sum",
				"errors:avg", "inputTokens:count", "outputCost:max", "count:sum"),
			filters: []refFilter{{Column: "environment", Operator: "=", Value: "prod"}},
			from:    base + 17*minute, to: base + 3*dayNs - 41*minute},
		{name: "rollup: by name and type, string filters, per hour", view: ViewObservations, dims: []string{"name", "type"}, granularity: "hour",
			metrics: all("inputCost:min", "outputTokens:sum", "count:count"),
			filters: []refFilter{{Column: "name", Operator: "does not contain", Value: "plan"},
				{Column: "type", Operator: "any of", Value: []string{"generation", "tool"}}, {Column: "version", Operator: "!=", Value: "b"}},
			from: base - 5*minute, to: base + 2*dayNs + 5*minute},
		{name: "rollup: latency percentiles by release per day, trace filter", view: ViewObservations, dims: []string{"release"},
			granularity: "day", metrics: all("latency:p50", "latency:p95", "latency:p99", "timeToFirstToken:p75", "count:count"),
			filters: []refFilter{{Column: "traceName", Operator: "any of", Value: []string{"chat", "rag"}}},
			from:    base + 7*minute, to: base + 3*dayNs - 7*minute},
		{name: "rollup: one row per week", view: ViewObservations, granularity: "week",
			metrics: all("count:count", "totalCost:sum", "latency:max", "timeToFirstToken:avg")},
		{name: "rollup: by environment and version, whole hours", view: ViewObservations, dims: []string{"environment", "version"},
			metrics: all("errors:sum", "totalTokens:avg", "count:count")},
		{name: "rollup: p90 latency by trace name and model, whole hours", view: ViewObservations, dims: []string{"traceName", "model"},
			metrics: all("latency:p90", "timeToFirstToken:p50", "totalCost:sum"),
			filters: []refFilter{{Column: "release", Operator: "!=", Value: "v2"}}},
	}
	run := func(t *testing.T, cases []refCase) {
		for _, c := range cases {
			if c.from == 0 {
				c.from, c.to = from, to
			}
			t.Run(c.name, func(t *testing.T) {
				gran := c.granularity
				if gran == "auto" {
					gran = "hour" // 72 hours are closer to 50 buckets than 3 days
				}
				for id, p := range projects {
					resp, err := svc.QueryMetrics(ctx, id, c.request(t))
					if err != nil {
						t.Fatal(err)
					}
					compareRows(t, c.reference(p, gran), got(t, c, resp))
				}
			})
		}
	}
	all2 := append(slices.Clone(cases), rollupCases...)
	t.Run("raw", func(t *testing.T) { run(t, all2) })
	// Every hour rolled up: the same answers, the rollup's shapes now read
	// (in part) from it.
	chtest.RollUp(t, conn)
	t.Run("rolled up", func(t *testing.T) { run(t, all2) })
	// A version written after the rollup for a rolled up hour counts at
	// once: the hour is read raw until the rollup has been over it again.
	var at uint64 // in a rolled up hour inside every case's window
	for _, o := range projects[proj].obs {
		if o.start >= base+uint64(time.Hour) && o.start < base+2*dayNs {
			at = o.start / uint64(time.Hour) * uint64(time.Hour)
			break
		}
	}
	late := &mObs{traceID: "t00", id: "late", typ: "GENERATION", name: "llm", model: "gpt-4o", env: projects[proj].traces["t00"].env,
		version: "a", level: "ERROR", start: at + 5*minute, ttft: at + 6*minute,
		in: chtest.I(100), out: chtest.I(10), costIn: chtest.F(0.5), costOut: chtest.F(0.25), costTotal: chtest.F(0.75)}
	late.end = late.start + uint64(3*time.Second)
	projects[proj].obs = append(projects[proj].obs, late)
	chtest.InsertObservations(t, conn, chtest.Observation{ProjectID: proj, TraceID: late.traceID, ID: late.id, Type: late.typ,
		Name: late.name, Start: late.start, End: late.end, CompletionStart: late.ttft, Model: late.model, Environment: late.env,
		Version: late.version, Level: late.level, UsageInput: late.in, UsageOutput: late.out, CostInput: late.costIn,
		CostOutput: late.costOut, CostTotal: late.costTotal, EventTS: uint64(time.Now().UnixNano())})
	t.Run("late version", func(t *testing.T) { run(t, all2) })
	chtest.RollUp(t, conn)
	// Without the raw rows, the shapes the rollup answers over whole
	// closed hours still give the same answers: they are read from it.
	for _, table := range []string{chschema.Observations, chschema.ObservationsByTime} {
		if err := conn.Exec(ctx, "TRUNCATE TABLE "+table); err != nil {
			t.Fatal(err)
		}
	}
	t.Run("rollup only", func(t *testing.T) { run(t, rollupCases[3:]) })
}

// metricsRequest reads a request in the API's JSON form.
func metricsRequest(t *testing.T, query string) *queryv1.QueryMetricsRequest {
	t.Helper()
	req := &queryv1.QueryMetricsRequest{Query: &queryv1.MetricsQuery{}}
	if err := protojson.Unmarshal([]byte(query), req.Query); err != nil {
		t.Fatalf("%s: %v", query, err)
	}
	return req
}

func TestQueryMetricsRefusesWithTheField(t *testing.T) {
	svc, _ := newService(t)
	const window = `"fromTimestamp": "2025-01-01T00:00:00Z", "toTimestamp": "2025-01-31T00:00:00Z"`
	count := `"metrics": [{"measure": "count", "aggregation": "count"}]`
	tests := []struct{ name, query, field string }{
		{"no view", `{` + count + `, ` + window + `}`, "query.view"},
		{"unknown view", `{"view": "spans", ` + count + `, ` + window + `}`, "query.view"},
		{"no from", `{"view": "traces", ` + count + `, "toTimestamp": "2025-01-31T00:00:00Z"}`, "query.fromTimestamp"},
		{"no to", `{"view": "traces", ` + count + `, "fromTimestamp": "2025-01-31T00:00:00Z"}`, "query.toTimestamp"},
		{"to before from", `{"view": "traces", ` + count + `, "fromTimestamp": "2025-01-31T00:00:00Z", "toTimestamp": "2025-01-01T00:00:00Z"}`, "query.toTimestamp"},
		{"no metric", `{"view": "traces", ` + window + `}`, "query.metrics"},
		{"unknown measure", `{"view": "scores", "metrics": [{"measure": "latency", "aggregation": "avg"}], ` + window + `}`, "query.metrics[0].measure"},
		{"unknown aggregation", `{"view": "traces", "metrics": [{"measure": "latency", "aggregation": "median"}], ` + window + `}`, "query.metrics[0].aggregation"},
		{"count averaged", `{"view": "traces", "metrics": [{"measure": "count", "aggregation": "avg"}], ` + window + `}`, "query.metrics[0].aggregation"},
		{"the same metric twice", `{"view": "traces", "metrics": [{"measure": "latency", "aggregation": "avg"}, {"measure": "latency", "aggregation": "avg"}], ` + window + `}`, "query.metrics[1]"},
		{"group by user", `{"view": "traces", "dimensions": [{"field": "userId"}], ` + count + `, ` + window + `}`, "query.dimensions[0].field"},
		{"group by observation id", `{"view": "observations", "dimensions": [{"field": "name"}, {"field": "id"}], ` + count + `, ` + window + `}`, "query.dimensions[1].field"},
		{"group by metadata", `{"view": "traces", "dimensions": [{"field": "metadata"}], ` + count + `, ` + window + `}`, "query.dimensions[0].field"},
		{"unknown dimension", `{"view": "scores", "dimensions": [{"field": "model"}], ` + count + `, ` + window + `}`, "query.dimensions[0].field"},
		{"a dimension twice, by alias", `{"view": "observations", "dimensions": [{"field": "model"}, {"field": "providedModelName"}], ` + count + `, ` + window + `}`, "query.dimensions[1].field"},
		{"four dimensions", `{"view": "observations", "dimensions": [{"field": "name"}, {"field": "type"}, {"field": "model"}, {"field": "level"}], ` + count + `, ` + window + `}`, "query.dimensions"},
		{"unknown filter column", `{"view": "traces", "filters": [{"column": "colour", "operator": "=", "value": "red"}], ` + count + `, ` + window + `}`, "query.filters[0].column"},
		{"a number on a string", `{"view": "traces", "filters": [{"column": "name", "operator": "=", "value": 3}], ` + count + `, ` + window + `}`, "query.filters[0].value"},
		{"a string on a measure", `{"view": "traces", "filters": [{"column": "latency", "operator": ">", "value": "3"}], ` + count + `, ` + window + `}`, "query.filters[0].value"},
		{"contains on a measure", `{"view": "traces", "filters": [{"column": "latency", "operator": "contains", "value": 3}], ` + count + `, ` + window + `}`, "query.filters[0].operator"},
		{"greater than on a string", `{"view": "traces", "filters": [{"column": "name", "operator": ">", "value": "a"}], ` + count + `, ` + window + `}`, "query.filters[0].operator"},
		{"equals on tags", `{"view": "traces", "filters": [{"column": "tags", "operator": "=", "value": "a"}], ` + count + `, ` + window + `}`, "query.filters[0].operator"},
		{"metadata without a key", `{"view": "traces", "filters": [{"column": "metadata", "operator": "=", "value": "a"}], ` + count + `, ` + window + `}`, "query.filters[0].key"},
		{"a list for equals", `{"view": "traces", "filters": [{"column": "name", "operator": "=", "value": ["a", "b"]}], ` + count + `, ` + window + `}`, "query.filters[0].value"},
		{"an empty list", `{"view": "traces", "filters": [{"column": "name", "operator": "any of", "value": []}], ` + count + `, ` + window + `}`, "query.filters[0].value"},
		{"a list of numbers", `{"view": "traces", "filters": [{"column": "name", "operator": "any of", "value": [1]}], ` + count + `, ` + window + `}`, "query.filters[0].value"},
		{"a long value", `{"view": "traces", "filters": [{"column": "name", "operator": "=", "value": "` + strings.Repeat("x", 1001) + `"}], ` + count + `, ` + window + `}`, "query.filters[0].value"},
		{"unknown granularity", `{"view": "traces", "timeDimension": {"granularity": "fortnight"}, ` + count + `, ` + window + `}`, "query.timeDimension.granularity"},
		{"too many buckets", `{"view": "traces", "timeDimension": {"granularity": "minute"}, ` + count + `, ` + window + `}`, "query.timeDimension.granularity"},
		{"too many bins", `{"view": "traces", "config": {"bins": 101}, ` + count + `, ` + window + `}`, "query.config.bins"},
		{"too many rows", `{"view": "traces", "config": {"rowLimit": 10001}, ` + count + `, ` + window + `}`, "query.config.row_limit"},
		{"order by an unknown column", `{"view": "traces", "orderBy": [{"field": "sum_latency"}], ` + count + `, ` + window + `}`, "query.orderBy[0].field"},
		{"order by time without a time dimension", `{"view": "traces", "orderBy": [{"field": "time_dimension"}], ` + count + `, ` + window + `}`, "query.orderBy[0].field"},
		{"order sideways", `{"view": "traces", "orderBy": [{"field": "count_count", "direction": "up"}], ` + count + `, ` + window + `}`, "query.orderBy[0].direction"},
		{"order by a histogram", `{"view": "traces", "metrics": [{"measure": "latency", "aggregation": "histogram"}], "orderBy": [{"field": "histogram_latency"}], ` + window + `}`, "query.orderBy[0].field"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := svc.QueryMetrics(ctx, proj, metricsRequest(t, tt.query))
			if got := fieldOf(t, err); got != tt.field {
				t.Errorf("field %q, want %q (%v)", got, tt.field, err)
			}
		})
	}
	if _, err := svc.QueryMetrics(ctx, proj, &queryv1.QueryMetricsRequest{}); fieldOf(t, err) != "query" {
		t.Errorf("no query: %v", err)
	}
}

func TestQueryMetricsOrderLimitAndEmptyWindow(t *testing.T) {
	svc, conn := newService(t)
	var rows []chtest.Observation
	for i, model := range []string{"a", "b", "b", "c", "c", "c", "d"} {
		rows = append(rows, chtest.Observation{ProjectID: proj, TraceID: "t", ID: fmt.Sprint(i), Type: "GENERATION",
			Model: model, Start: at(float64(i)), CostTotal: chtest.F(float64(i)), EventTS: at(float64(i))})
	}
	chtest.InsertObservations(t, conn, rows...)
	q := `{"view": "observations", "dimensions": [{"field": "model"}],
		"metrics": [{"measure": "count", "aggregation": "count"}, {"measure": "totalCost", "aggregation": "sum"}],
		"fromTimestamp": "2025-01-01T00:00:00Z", "toTimestamp": "2025-01-02T00:00:00Z",
		"orderBy": [{"field": "count_count", "direction": "desc"}], "config": {"rowLimit": 3}}`
	resp, err := svc.QueryMetrics(ctx, proj, metricsRequest(t, q))
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, r := range resp.GetData() {
		m := r.AsMap()
		got = append(got, fmt.Sprintf("%v:%v:%v", m["model"], m["count_count"], m["sum_totalCost"]))
	}
	if want := []string{"c:3:12", "b:2:3", "a:1:0"}; !slices.Equal(got, want) {
		t.Errorf("got %v, want %v (ties by dimension ascending, three rows)", got, want)
	}

	// A window without objects: one row of zero counts and null
	// aggregates when nothing groups, no rows when something does.
	empty := `{"view": "observations", "metrics": [{"measure": "count", "aggregation": "count"}, {"measure": "totalCost", "aggregation": "sum"}, {"measure": "latency", "aggregation": "histogram"}],
		"fromTimestamp": "2026-01-01T00:00:00Z", "toTimestamp": "2026-01-02T00:00:00Z"}`
	resp, err = svc.QueryMetrics(ctx, proj, metricsRequest(t, empty))
	if err != nil {
		t.Fatal(err)
	}
	if len(resp.GetData()) != 1 {
		t.Fatalf("got %d rows, want one", len(resp.GetData()))
	}
	row := resp.GetData()[0].AsMap()
	if row["count_count"] != 0.0 || row["sum_totalCost"] != nil || len(row["histogram_latency"].([]any)) != 0 {
		t.Errorf("empty window: %v", row)
	}
	grouped := strings.Replace(empty, `"metrics"`, `"timeDimension": {"granularity": "hour"}, "metrics"`, 1)
	if resp, err = svc.QueryMetrics(ctx, proj, metricsRequest(t, grouped)); err != nil || len(resp.GetData()) != 0 {
		t.Errorf("empty window by hour: %v rows, %v", len(resp.GetData()), err)
	}
}
