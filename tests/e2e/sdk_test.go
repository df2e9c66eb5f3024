package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"
)

// sdkJSDir holds the real SDKs from npm (`make test` runs npm ci there) and
// one script per SDK; the scripts use the SDKs unmodified, as their docs do.
const sdkJSDir = "sdk-js"

// sdkTimeout bounds one SDK script run.
const sdkTimeout = 60 * time.Second

// sdkProject is a fresh project and key made through the REST API, as a
// user would make them before pointing an SDK at AgentTrace.
type sdkProject struct {
	key    apiKey
	c      *restClient // as the key
	prices *priceBook
}

func newSDKProject(t *testing.T, s *stack, label string) sdkProject {
	t.Helper()
	founder, org := s.founder(t)
	project := s.createProject(t, founder, org, label+"-"+randomHex(3))
	key := s.createKey(t, founder, project.GetId())
	c := s.rest(key.basic())
	prices := fetchPrices(t, c)
	s.waitPricesLoaded(t)
	return sdkProject{key: key, c: c, prices: prices}
}

// requireSDKClient returns the node binary, failing clearly when Node.js or
// the SDK packages are missing.
func requireSDKClient(t *testing.T) string {
	t.Helper()
	node, err := exec.LookPath("node")
	if err != nil {
		t.Fatalf("node not found on PATH: the SDK tests need Node.js >= 20 (%v)", err)
	}
	for _, pkg := range []string{"@langfuse/tracing", "langfuse", "ai"} {
		if _, err := os.Stat(filepath.Join(sdkJSDir, "node_modules", pkg, "package.json")); err != nil {
			t.Fatalf("the SDK packages are not installed: run `make node-deps` (npm ci --prefix tests/e2e/%s): %v", sdkJSDir, err)
		}
	}
	return node
}

// sdkRun is what a script prints: the ids it created and the versions of
// the SDK packages that ran.
type sdkRun struct {
	TraceID      string            `json:"traceId"`
	Observations map[string]string `json:"observations"`
	// Vercel AI: each call's trace id and spans, by functionId.
	Traces   map[string]string    `json:"traces"`
	Spans    map[string][]sdkSpan `json:"spans"`
	Versions map[string]string    `json:"versions"`
}

// sdkSpan is a span as the SDK's tracer provider saw it end.
type sdkSpan struct {
	ID     string   `json:"id"`
	Parent string   `json:"parent"`
	Name   string   `json:"name"`
	Events []string `json:"events"` // the names of its span events
}

// runSDKScript runs one script of sdk-js against the stack with the
// project's key and decodes what it printed.
func runSDKScript(t *testing.T, s *stack, p sdkProject, script, run string, env ...string) sdkRun {
	t.Helper()
	node := requireSDKClient(t)
	ctx, cancel := context.WithTimeout(t.Context(), sdkTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, node, filepath.Join(sdkJSDir, script))
	cmd.Env = processEnv(append([]string{
		"AGENTTRACE_BASE_URL=http://" + s.addr["gateway"].http,
		"AGENTTRACE_PUBLIC_KEY=" + p.key.PublicKey,
		"AGENTTRACE_SECRET_KEY=" + p.key.SecretKey,
		"AGENTTRACE_RUN_ID=" + run,
	}, env...))
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	start := time.Now()
	if err := cmd.Run(); err != nil {
		t.Fatalf("node %s/%s: %v\nstdout:\n%s\nstderr:\n%s", sdkJSDir, script, err,
			secrets.redact(stdout.String()), secrets.redact(stderr.String()))
	}
	var out sdkRun
	if err := json.Unmarshal(stdout.Bytes(), &out); err != nil {
		t.Fatalf("node %s/%s printed no JSON result: %v\n%s", sdkJSDir, script, err, secrets.redact(stdout.String()))
	}
	names := make([]string, 0, len(out.Versions))
	for n, v := range out.Versions {
		names = append(names, n+"@"+v)
	}
	sort.Strings(names)
	t.Logf("%s ran %s in %s", script, strings.Join(names, ", "), time.Since(start).Round(time.Millisecond))
	if stderr.Len() > 0 {
		t.Logf("%s stderr:\n%s", script, secrets.redact(stderr.String()))
	}
	return out
}

// ---- the trace as the REST API shows it --------------------------------

// traceView is GET /api/v1/traces/{id} decoded as plain JSON (numbers kept
// as written), so that the wire shape is what is checked: an SDK user's
// tools read this JSON, not the Go types.
type traceView struct {
	trace  map[string]any
	obs    []map[string]any // depth first, each with "_parent" (from the tree) set
	scores []map[string]any
}

func getTraceView(t *testing.T, c *restClient, id string) (*traceView, error) {
	t.Helper()
	r, err := c.request(t.Context(), http.MethodGet, "/api/v1/traces/"+url.PathEscape(id), nil)
	if err != nil {
		return nil, err
	}
	if r.status != http.StatusOK {
		return nil, fmt.Errorf("GET /api/v1/traces/%s: %s", id, r)
	}
	var body struct {
		Trace        map[string]any   `json:"trace"`
		Observations []jsonNode       `json:"observations"`
		Scores       []map[string]any `json:"scores"`
	}
	if err := decodeJSON(r.body, &body); err != nil {
		return nil, fmt.Errorf("GET /api/v1/traces/%s: %w", id, err)
	}
	v := &traceView{trace: body.Trace, scores: body.Scores}
	var walk func(nodes []jsonNode, parent string)
	walk = func(nodes []jsonNode, parent string) {
		for _, n := range nodes {
			n.Observation["_parent"] = parent
			v.obs = append(v.obs, n.Observation)
			walk(n.Children, str(n.Observation, "id"))
		}
	}
	walk(body.Observations, "")
	return v, nil
}

type jsonNode struct {
	Observation map[string]any `json:"observation"`
	Children    []jsonNode     `json:"children"`
}

// decodeJSON decodes keeping numbers as json.Number, so that a count sent
// as a JSON string ("12") is told apart from a number (12).
func decodeJSON(b []byte, out any) error {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	return dec.Decode(out)
}

// asJSON is v as decodeJSON would read it back, for comparisons.
func asJSON(v any) any {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	var out any
	if err := decodeJSON(b, &out); err != nil {
		panic(err)
	}
	return out
}

func str(m map[string]any, key string) string {
	s, _ := m[key].(string)
	return s
}

func obj(m map[string]any, key string) map[string]any {
	o, _ := m[key].(map[string]any)
	return o
}

func (v *traceView) observation(id string) map[string]any {
	for _, o := range v.obs {
		if str(o, "id") == id {
			return o
		}
	}
	return nil
}

func (v *traceView) child(parent, name string) map[string]any {
	for _, o := range v.obs {
		if str(o, "_parent") == parent && str(o, "name") == name {
			return o
		}
	}
	return nil
}

// summary is one line per observation, for failure messages.
func (v *traceView) summary() string {
	var b strings.Builder
	b.WriteString("the API shows:\n")
	tb, _ := json.Marshal(v.trace)
	fmt.Fprintf(&b, "  trace %s\n", tb)
	for _, o := range v.obs {
		fmt.Fprintf(&b, "  %s %q %s parent=%s model=%q usage=%v cost=%v\n", str(o, "id"), str(o, "name"), str(o, "type"),
			str(o, "_parent"), str(o, "model"), o["usage"], o["cost"])
	}
	return b.String()
}

func (v *traceView) score(name string) map[string]any {
	for _, s := range v.scores {
		if str(s, "name") == name {
			return s
		}
	}
	return nil
}

// ---- expectations --------------------------------------------------------

// anyValue stands for "any value but null or absent" where the exact value
// is the SDK's business (an id it generated, a time).
type anyValue struct{}

// containsText wants a value whose JSON text contains the string, where the
// exact shape is the mapping's choice (a message list, a string, ...) but
// the content must be there.
type containsText string

// sdkTrace is what the trace must show. Zero fields are not checked.
type sdkTrace struct {
	id, name, userID, sessionID string
	// nameOneOf: the name must be one of these (when name is not set).
	nameOneOf             []string
	release, version, env string
	tags                  []string
	metadata              map[string]any // a subset of the trace's metadata
	input, output         any
	observations          []sdkObs
	// The trace's usage and cost must be the sum of its generations'.
	rollup bool
}

// sdkObs is one observation of the trace, found by id, or by name and
// parent when the id is the mapping's (a span event's).
type sdkObs struct {
	id, parent, name, typ string
	completionStart       bool // completion_start_time must be set
	model                 string
	modelParams           map[string]any // values compared as text: a map of strings today
	input, output         any
	metadata              map[string]any
	level, statusMessage  string
	usage                 *sdkUsage
	// priced: the cost must be usage × the price table's price of model.
	priced bool
}

// sdkUsage is an observation's native usage: input includes cachedInput,
// which must be the detail "cached_input" when set.
type sdkUsage struct{ input, output, total, cachedInput int64 }

// check compares v with w and the cost with prices.
func (w *sdkTrace) check(v *traceView, project string, prices *priceBook) problems {
	var p problems
	tr := v.trace
	if tr == nil {
		return problems{"no trace in the answer"}
	}
	eqStr := func(what, want, got string) {
		if want != "" && want != got {
			p.addf("%s: want %q, got %q", what, want, got)
		}
	}
	eqStr("trace id", w.id, str(tr, "id"))
	eqStr("trace project_id", project, str(tr, "project_id"))
	eqStr("trace name", w.name, str(tr, "name"))
	if w.nameOneOf != nil && !slices.Contains(w.nameOneOf, str(tr, "name")) {
		p.addf("trace name: want one of %q, got %q", w.nameOneOf, str(tr, "name"))
	}
	eqStr("trace user_id", w.userID, str(tr, "user_id"))
	eqStr("trace session_id", w.sessionID, str(tr, "session_id"))
	eqStr("trace release", w.release, str(tr, "release"))
	eqStr("trace version", w.version, str(tr, "version"))
	eqStr("trace environment", w.env, str(tr, "environment"))
	if w.tags != nil {
		got := strings.Fields(fmt.Sprint(tr["tags"]))
		if tags, ok := tr["tags"].([]any); ok {
			got = got[:0]
			for _, t := range tags {
				got = append(got, fmt.Sprint(t))
			}
		}
		want := slices.Clone(w.tags)
		slices.Sort(got)
		slices.Sort(want)
		if !slices.Equal(want, got) {
			p.addf("trace tags: want %q, got %v", want, tr["tags"])
		}
	}
	checkSubset(&p, "trace metadata", w.metadata, obj(tr, "metadata"))
	checkValue(&p, "trace input", w.input, tr["input"])
	checkValue(&p, "trace output", w.output, tr["output"])
	if n, ok := tr["observation_count"]; ok && fmt.Sprint(n) != fmt.Sprint(len(w.observations)) {
		p.addf("trace observation_count: want %d, got %v", len(w.observations), n)
	}
	if len(v.obs) != len(w.observations) {
		var got []string
		for _, o := range v.obs {
			got = append(got, str(o, "name")+"/"+str(o, "type"))
		}
		p.addf("observations: want %d, got %d: %q", len(w.observations), len(v.obs), got)
	}
	var sumIn, sumOut, sumTotal int64
	var sumCost float64
	for _, wo := range w.observations {
		o := v.observation(wo.id)
		if wo.id == "" {
			o = v.child(wo.parent, wo.name)
		}
		what := fmt.Sprintf("observation %q (%s)", wo.name, wo.id)
		if o == nil {
			p.addf("%s: missing", what)
			continue
		}
		wo.check(&p, what, o, project, prices)
		if wo.usage != nil {
			sumIn, sumOut, sumTotal = sumIn+wo.usage.input, sumOut+wo.usage.output, sumTotal+wo.usage.total
		}
		if wo.priced {
			sumCost += sdkCost(prices, project, wo, o).total
		}
	}
	if w.rollup {
		checkUsage(&p, "trace usage", &sdkUsage{input: sumIn, output: sumOut, total: sumTotal}, obj(tr, "usage"))
		checkCost(&p, "trace cost total", sumCost, obj(tr, "cost"), "total")
	}
	return p
}

func (wo *sdkObs) check(p *problems, what string, o map[string]any, project string, prices *priceBook) {
	eq := func(field, want, got string) {
		if want != "" && want != got {
			p.addf("%s %s: want %q, got %q", what, field, want, got)
		}
	}
	eq("name", wo.name, str(o, "name"))
	eq("type", wo.typ, str(o, "type"))
	eq("project_id", project, str(o, "project_id"))
	if got := str(o, "_parent"); got != wo.parent {
		p.addf("%s: want parent %q in the tree, got %q", what, wo.parent, got)
	}
	if got := str(o, "parent_observation_id"); got != wo.parent {
		p.addf("%s parent_observation_id: want %q, got %q", what, wo.parent, got)
	}
	eq("model", wo.model, str(o, "model"))
	if wo.completionStart && str(o, "completion_start_time") == "" {
		p.addf("%s: want a completion_start_time, got none", what)
	}
	eq("level", wo.level, str(o, "level"))
	eq("status_message", wo.statusMessage, str(o, "status_message"))
	if wo.modelParams != nil {
		got := obj(o, "model_parameters")
		for k, want := range wo.modelParams {
			if g, ok := got[k]; !ok || fmt.Sprint(g) != fmt.Sprint(want) {
				p.addf("%s model_parameters[%q]: want %v, got %v (all: %v)", what, k, want, g, got)
			}
		}
	}
	checkValue(p, what+" input", wo.input, o["input"])
	checkValue(p, what+" output", wo.output, o["output"])
	checkSubset(p, what+" metadata", wo.metadata, obj(o, "metadata"))
	if wo.usage != nil {
		checkUsage(p, what+" usage", wo.usage, obj(o, "usage"))
	}
	if wo.priced {
		c := sdkCost(prices, project, *wo, o)
		if c.missing != "" {
			p.addf("%s: %s", what, c.missing)
			return
		}
		checkCost(p, what+" cost input", c.input, obj(o, "cost"), "input")
		checkCost(p, what+" cost output", c.output, obj(o, "cost"), "output")
		checkCost(p, what+" cost total", c.total, obj(o, "cost"), "total")
	}
}

type costFigures struct {
	input, output, total float64
	missing              string
}

// sdkCost is usage × the price of wo.model in effect at o's start, with
// the prices the project sees through GET /api/v1/model-prices, priced as
// the worker documents it (docs/ARCHITECTURE.md, "Usage counts"): the
// cached input tokens at the "cached_input" price when the model has one,
// the rest of the input at the input price.
func sdkCost(prices *priceBook, project string, wo sdkObs, o map[string]any) costFigures {
	at, err := time.Parse(time.RFC3339Nano, str(o, "start_time"))
	if err != nil {
		at = time.Now()
	}
	pr := prices.lookup(project, wo.model, at)
	if pr == nil {
		return costFigures{missing: fmt.Sprintf("no price for model %q in the price table: the expected cost is unknown", wo.model)}
	}
	price := pr.GetPrices()
	in := float64(wo.usage.input) * price["input"]
	if c := wo.usage.cachedInput; c > 0 {
		cached, ok := price["cached_input"]
		if !ok {
			return costFigures{missing: fmt.Sprintf("no cached_input price for model %q: cached tokens could not be told from the rest by their cost", wo.model)}
		}
		in = float64(wo.usage.input-c)*price["input"] + float64(c)*cached
	}
	out := float64(wo.usage.output) * price["output"]
	return costFigures{input: in, output: out, total: in + out}
}

// checkUsage wants each count as a JSON number equal to want's.
func checkUsage(p *problems, what string, want *sdkUsage, got map[string]any) {
	for _, f := range []struct {
		key  string
		want int64
	}{{"input", want.input}, {"output", want.output}, {"total", want.total}} {
		g, ok := got[f.key]
		n, isNum := g.(json.Number)
		switch {
		case !ok && f.want == 0:
			// proto3 JSON leaves a zero out
		case !ok:
			p.addf("%s.%s: want %d, absent (usage %v)", what, f.key, f.want, got)
		case !isNum:
			p.addf("%s.%s: want the JSON number %d, got %#v (a %T)", what, f.key, f.want, g, g)
		case n.String() != fmt.Sprint(f.want):
			p.addf("%s.%s: want %d, got %s", what, f.key, f.want, n)
		}
	}
	if want.cachedInput > 0 {
		if g := fmt.Sprint(obj(got, "details")["cached_input"]); g != fmt.Sprint(want.cachedInput) {
			p.addf("%s.details.cached_input: want %d, got %s (usage %v)", what, want.cachedInput, g, got)
		}
	}
}

func checkCost(p *problems, what string, want float64, cost map[string]any, key string) {
	g, present := cost[key]
	if !present && want == 0 {
		return // proto3 JSON leaves a zero out
	}
	n, ok := g.(json.Number)
	if !ok {
		p.addf("%s: want %.9g USD, got %#v (cost %v)", what, want, cost[key], cost)
		return
	}
	got, err := n.Float64()
	if err != nil || !approxEqual(got, want) {
		p.addf("%s: want %.9g USD (usage × price), got %s", what, want, n)
	}
}

// checkValue compares a JSON value: nil want is not checked, anyValue wants
// any non-null value, otherwise the values must be equal as JSON.
func checkValue(p *problems, what string, want, got any) {
	switch want := want.(type) {
	case nil:
		return
	case anyValue:
		if got == nil {
			p.addf("%s: want a value, got none", what)
		}
		return
	case containsText:
		var b bytes.Buffer
		enc := json.NewEncoder(&b)
		enc.SetEscapeHTML(false)
		_ = enc.Encode(got)
		if got == nil || !strings.Contains(b.String(), string(want)) {
			p.addf("%s: want a value containing %q, got %s", what, want, strings.TrimSpace(b.String()))
		}
		return
	}
	if w := asJSON(want); !reflect.DeepEqual(w, got) {
		wb, _ := json.Marshal(w)
		gb, _ := json.Marshal(got)
		p.addf("%s: want %s, got %s", what, wb, gb)
	}
}

// checkSubset wants every key of want in got with an equal JSON value.
func checkSubset(p *problems, what string, want map[string]any, got map[string]any) {
	keys := make([]string, 0, len(want))
	for k := range want {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		g, ok := got[k]
		if !ok {
			p.addf("%s[%q]: missing (got keys %v)", what, k, mapKeys(got))
			continue
		}
		checkValue(p, fmt.Sprintf("%s[%q]", what, k), want[k], g)
	}
}

func mapKeys(m map[string]any) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// sdkScore is one score on the trace, found by name.
type sdkScore struct {
	name, dataType, comment, observationID string
	value                                  any // a number, or the category
	source                                 string
}

func checkScores(p *problems, v *traceView, traceID string, want []sdkScore) {
	for _, ws := range want {
		s := v.score(ws.name)
		what := fmt.Sprintf("score %q", ws.name)
		if s == nil {
			var names []string
			for _, s := range v.scores {
				names = append(names, str(s, "name"))
			}
			p.addf("%s: missing (scores: %q)", what, names)
			continue
		}
		for _, f := range []struct{ field, want string }{
			{"trace_id", traceID}, {"observation_id", ws.observationID}, {"data_type", ws.dataType},
			{"comment", ws.comment}, {"source", ws.source},
		} {
			if got := str(s, f.field); got != f.want {
				p.addf("%s %s: want %q, got %q", what, f.field, f.want, got)
			}
		}
		switch w := ws.value.(type) {
		case string:
			if got := str(s, "string_value"); got != w {
				p.addf("%s string_value: want %q, got %q", what, w, got)
			}
		default:
			if got := fmt.Sprint(s["value"]); got != fmt.Sprint(w) {
				p.addf("%s value: want %v, got %v", what, w, s["value"])
			}
		}
	}
}

// waitSDKTrace polls GetTrace until the trace shows want (and, when given,
// scores), then returns what it showed; on timeout it fails with every
// problem and what the API showed.
func waitSDKTrace(t *testing.T, p sdkProject, w *sdkTrace, scores []sdkScore) *traceView {
	t.Helper()
	start := time.Now()
	for {
		v, err := getTraceView(t, p.c, w.id)
		var pr problems
		if err != nil {
			pr = problems{err.Error()}
		} else {
			pr = w.check(v, p.key.ProjectID, p.prices)
			checkScores(&pr, v, w.id, scores)
		}
		if len(pr) == 0 {
			t.Logf("trace %s (%s) visible and mapped after %s", w.id, str(v.trace, "name"), time.Since(start).Round(10*time.Millisecond))
			return v
		}
		if time.Since(start) > visibleTimeout {
			shown := ""
			if v != nil {
				shown = v.summary()
			}
			t.Fatalf("trace %s: still wrong after %s (%d problems):\n  %s\n%s", w.id, visibleTimeout, len(pr),
				strings.Join(pr, "\n  "), shown)
		}
		time.Sleep(250 * time.Millisecond)
	}
}

// checkSDKSession checks GET /api/v1/sessions/{id}: the session holds
// exactly the given traces of the given user.
func checkSDKSession(t *testing.T, p sdkProject, sessionID, userID string, traceIDs ...string) {
	t.Helper()
	r := p.c.do(t, http.MethodGet, "/api/v1/sessions/"+url.PathEscape(sessionID), nil)
	if r.status != http.StatusOK {
		t.Errorf("GET /api/v1/sessions/%s: %s", sessionID, r)
		return
	}
	var body struct {
		Session map[string]any   `json:"session"`
		Traces  []map[string]any `json:"traces"`
	}
	if err := decodeJSON(r.body, &body); err != nil {
		t.Errorf("GET /api/v1/sessions/%s: %v", sessionID, err)
		return
	}
	var got []string
	for _, tr := range body.Traces {
		got = append(got, str(tr, "id"))
	}
	want := slices.Clone(traceIDs)
	slices.Sort(want)
	slices.Sort(got)
	if !slices.Equal(want, got) {
		t.Errorf("session %s: want traces %q, got %q", sessionID, want, got)
	}
	if n := fmt.Sprint(body.Session["trace_count"]); n != fmt.Sprint(len(traceIDs)) {
		t.Errorf("session %s trace_count: want %d, got %s", sessionID, len(traceIDs), n)
	}
	if users := fmt.Sprint(body.Session["user_ids"]); users != fmt.Sprint([]any{userID}) {
		t.Errorf("session %s user_ids: want [%s], got %s", sessionID, userID, users)
	}
}

// checkSDKListed checks that GET /api/v1/traces filtered by user and by a
// tag finds exactly the given traces.
func checkSDKListed(t *testing.T, p sdkProject, userID, tag string, traceIDs ...string) {
	t.Helper()
	for _, q := range []url.Values{{"user_id": {userID}}, {"tags": {tag}}} {
		r := p.c.do(t, http.MethodGet, "/api/v1/traces?"+q.Encode(), nil)
		if r.status != http.StatusOK {
			t.Errorf("GET /api/v1/traces?%s: %s", q.Encode(), r)
			continue
		}
		var body struct {
			Traces []map[string]any `json:"traces"`
		}
		if err := decodeJSON(r.body, &body); err != nil {
			t.Errorf("GET /api/v1/traces?%s: %v", q.Encode(), err)
			continue
		}
		var got []string
		for _, tr := range body.Traces {
			got = append(got, str(tr, "id"))
		}
		want := slices.Clone(traceIDs)
		slices.Sort(want)
		slices.Sort(got)
		if !slices.Equal(want, got) {
			t.Errorf("GET /api/v1/traces?%s: want %q, got %q", q.Encode(), want, got)
		}
	}
}
