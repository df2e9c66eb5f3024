package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/structpb"
	"google.golang.org/protobuf/types/known/timestamppb"

	authv1 "github.com/agenttrace/agenttrace/pkg/gen/agenttrace/auth/v1"
	commonv1 "github.com/agenttrace/agenttrace/pkg/gen/agenttrace/common/v1"
	ingestv1 "github.com/agenttrace/agenttrace/pkg/gen/agenttrace/ingest/v1"
	queryv1 "github.com/agenttrace/agenttrace/pkg/gen/agenttrace/query/v1"
)

// webUIDir holds the browser driver (playwright-core from npm; `make test`
// runs npm ci there) and ui.mjs, which walks the UI.
const webUIDir = "web-ui"

// webUIShots is where the walk's screenshots go (git-ignored).
const webUIShots = ".artifacts/web-ui"

// webUIRun is what ui.mjs prints.
type webUIRun struct {
	SignInMs     int    `json:"signInMs"`
	Restored     bool   `json:"restoredAfterReload"`
	ReadsRefresh bool   `json:"pageReadsRefreshToken"`
	SignedOut    bool   `json:"signedOutAfterReload"`
	TracesPageMs int    `json:"tracesPageMs"`
	FilteredMs   int    `json:"filteredMs"`
	TraceMs      int    `json:"traceMs"`
	URL          string `json:"url"`
	TracesListed int    `json:"tracesListed"`
	TracesRow    string `json:"tracesRow"`
	WarningRows  int    `json:"warningRows"`
	ModelRows    int    `json:"modelRows"`
	SortedBy     string `json:"sortedBy"`
	SortedFirst  string `json:"sortedFirst"`
	ScoredRow    string `json:"scoredRow"`
	Live         struct {
		Status int `json:"status"`
		Ms     int `json:"ms"`
		Rows   int `json:"rows"`
	} `json:"live"`
	FirstPage    int      `json:"firstPageRows"`
	AfterMore    int      `json:"afterMoreRows"`
	MoreLeft     int      `json:"moreLeft"`
	TreeItems    int      `json:"treeItems"`
	Header       string   `json:"header"`
	Roles        []string `json:"roles"`
	ToolCalls    []string `json:"toolCalls"`
	Facts        string   `json:"facts"`
	ScoreRow     string   `json:"scoreRow"`
	AfterArrowUp string   `json:"afterArrowUp"`
	SessionTurns int      `json:"sessionTurns"`
	SessionRoles []string `json:"sessionRoles"`
	ByModel      string   `json:"dashboardByModel"`
	Charts       int      `json:"dashboardCharts"`
	ThemeBefore  string   `json:"themeBefore"`
	ThemeAfter   string   `json:"themeAfter"`
	DarkBg       string   `json:"darkBackground"`
	FirstRefusal string   `json:"firstAccountRefusal"`
	KeyMade      struct {
		PublicKey   string `json:"publicKey"`
		SecretShown bool   `json:"secretShown"`
		Status      int    `json:"status"`
	} `json:"keyMade"`
	SecretGone bool `json:"secretGone"`
	KeyRevoked struct {
		Status int `json:"status"`
	} `json:"keyRevoked"`
	HTTPErrors []string `json:"httpErrors"`
	Console    []string `json:"console"`
	Error      string   `json:"error"`
}

// TestWebUI signs in to the web UI the gateway serves, in Debian's Chromium,
// as a member would: picks the project, finds a trace by name (the filter
// lands in the URL), opens it, sees its tree, opens its generation and
// reads the chat messages, the tool call and the cost, scores it (the
// score is stored, as an ANNOTATION on the generation), moves through the
// tree with the keyboard, opens the trace's session, whose page replays
// the conversation, and the dashboard, whose totals by model hold the
// generation; makes an API key (its secret shown once reads the API) and
// revokes it (401 after); signed out, the first-account form says an
// invitation is needed. The browser console must stay clean, and no call but that
// signup may fail.
func TestWebUI(t *testing.T) {
	s := requireStack(t)
	requireBrowser(t)

	// The gateway must serve the app, not the placeholder of a build
	// without it.
	r, err := s.rest("").request(t.Context(), http.MethodGet, "/", nil)
	if err != nil || r.status != http.StatusOK || !strings.Contains(string(r.body), `id="root"`) {
		t.Fatalf("GET / does not serve the web UI (run `make web` before the test builds the gateway): %v %s", err, r)
	}

	founder, org := s.founder(t)
	label := "web-ui-" + randomHex(3)
	project := s.createProject(t, founder, org, label)
	key := s.createKey(t, founder, project.GetId())
	c := s.rest(key.basic())
	traceID, events := webUITrace(label)
	c.mustIngest(t, events)
	// Older traces, so that the unfiltered list has a second page.
	c.mustIngest(t, olderTraces(label, webUIOlderTraces))
	eventually(t, "the web UI's trace is queryable", 30*time.Second, func() problems {
		var got queryv1.GetTraceResponse
		if err := c.get(t, "/api/v1/traces/"+traceID, &got); err != nil {
			return problems{err.Error()}
		}
		if n := len(got.GetObservations()); n != 1 || len(got.GetObservations()[0].GetChildren()) != 2 {
			return problems{"the tree is not complete yet"}
		}
		var list queryv1.ListTracesResponse
		if err := c.get(t, "/api/v1/traces?page_size=100", &list); err != nil {
			return problems{err.Error()}
		}
		if n := len(list.GetTraces()); n != webUIOlderTraces+1 {
			return problems{fmt.Sprintf("%d traces listed", n)}
		}
		return nil
	})

	var run webUIRun
	runWebUIScript(t, "ui.mjs", s.webUIUser(t, founder, org), label, &run, "AGENTTRACE_TRACE="+label, "AGENTTRACE_SESSION="+webUISession(label),
		"AGENTTRACE_INGEST_AUTH="+key.basic())
	t.Logf("web UI: signed in in %d ms, traces page of 50 rows interactive in %d ms (budget 1000 ms), filtered list in %d ms, trace opened in %d ms",
		run.SignInMs, run.TracesPageMs, run.FilteredMs, run.TraceMs)
	if run.TracesPageMs > 1000 {
		t.Errorf("the traces page was interactive with 50 rows after %d ms, budget 1000 ms", run.TracesPageMs)
	}

	if !run.Restored || run.ReadsRefresh || !run.SignedOut {
		t.Errorf("session cookie: login kept across a reload %v, the page reads the refresh token %v, signed out after sign-out and reload %v; want true, false, true",
			run.Restored, run.ReadsRefresh, run.SignedOut)
	}
	if !strings.Contains(run.URL, "name="+label) {
		t.Errorf("the filter is not in the URL: %s", run.URL)
	}
	if run.FirstPage != 50 || run.AfterMore != webUIOlderTraces+1 || run.MoreLeft != 0 {
		t.Errorf("the unfiltered list showed %d rows, then %d after Load more (%d buttons left); want 50, then %d and none",
			run.FirstPage, run.AfterMore, run.MoreLeft, webUIOlderTraces+1)
	}
	if run.TracesListed != 1 {
		t.Errorf("the list filtered by name shows %d traces, want 1", run.TracesListed)
	}
	for _, want := range []string{"gpt-4o-mini", "1 warning", "$0.00105", "1.20k"} {
		if !strings.Contains(run.TracesRow, want) {
			t.Errorf("the trace's row %q lacks %q", run.TracesRow, want)
		}
	}
	if !strings.HasPrefix(run.SortedBy, "Obs.") || run.SortedFirst != label {
		t.Errorf("sorted by %q, the first row is %q; want Obs. (observations), %s (the only trace with observations)", run.SortedBy, run.SortedFirst, label)
	}
	if run.Live.Status != http.StatusOK || run.Live.Rows != 2 {
		t.Errorf("live list: the trace sent answered %d and the list shows %d rows; want 200 and 2", run.Live.Status, run.Live.Rows)
	}
	t.Logf("web UI: a trace sent with the list live appeared in %d ms (the list reads every 5 s)", run.Live.Ms)
	if !strings.Contains(run.ScoredRow, "helpfulness 0.9") {
		t.Errorf("after the score, the trace's row is %q, want the score's badge (helpfulness 0.9)", run.ScoredRow)
	}
	if run.TreeItems != 3 {
		t.Errorf("the trace's tree shows %d observations, want 3", run.TreeItems)
	}
	for _, want := range []string{label, "$0.00105"} {
		if !strings.Contains(run.Header, want) {
			t.Errorf("the trace's header %q lacks %q", run.Header, want)
		}
	}
	if want := []string{"system", "user", "assistant"}; !slices.Equal(lower(run.Roles), want) {
		t.Errorf("the generation's messages have roles %v, want %v", run.Roles, want)
	}
	if !slices.Equal(run.ToolCalls, []string{"lookup_order"}) {
		t.Errorf("the generation's tool calls: %v, want [lookup_order]", run.ToolCalls)
	}
	for _, want := range []string{"gpt-4o-mini", "$0.00105", "1.20k"} {
		if !strings.Contains(run.Facts, want) {
			t.Errorf("the generation's facts %q lack %q", run.Facts, want)
		}
	}
	for _, want := range []string{"helpfulness", "0.9", "ANNOTATION", "clear and short"} {
		if !strings.Contains(run.ScoreRow, want) {
			t.Errorf("the score added in the UI shows as %q, which lacks %q", run.ScoreRow, want)
		}
	}
	eventually(t, "the score added in the UI is stored", 30*time.Second, func() problems {
		var got queryv1.GetTraceResponse
		if err := c.get(t, "/api/v1/traces/"+traceID, &got); err != nil {
			return problems{err.Error()}
		}
		for _, sc := range got.GetScores() {
			if sc.GetName() == "helpfulness" && sc.GetValue() == 0.9 && sc.GetComment() == "clear and short" &&
				sc.GetSource() == commonv1.ScoreSource_SCORE_SOURCE_ANNOTATION && sc.GetObservationId() == generationOf(events) {
				return nil
			}
		}
		return problems{fmt.Sprintf("no such score among %v", got.GetScores())}
	})
	if !strings.Contains(run.AfterArrowUp, "plan") {
		t.Errorf("ArrowUp from the generation selected %q, want the agent span above it (plan)", run.AfterArrowUp)
	}
	if want := []string{"user", "assistant"}; run.SessionTurns != 1 || !slices.Equal(lower(run.SessionRoles), want) {
		t.Errorf("the session page shows %d turns with roles %v, want 1 with %v", run.SessionTurns, run.SessionRoles, want)
	}
	for _, want := range []string{"gpt-4o-mini", "$0.00105", "1.20k"} {
		if !strings.Contains(run.ByModel, want) {
			t.Errorf("the dashboard's totals by model %q lack %q", run.ByModel, want)
		}
	}
	if run.Charts != 5 {
		t.Errorf("the dashboard draws %d charts, want 5 (cost, traces, latency, tokens, errors)", run.Charts)
	}
	if run.ThemeBefore != "light" || run.ThemeAfter != "dark" || run.DarkBg != "rgb(17, 20, 24)" {
		t.Errorf("theme: %q (the system's), then %q with background %s after choosing dark; want light, then dark on rgb(17, 20, 24)",
			run.ThemeBefore, run.ThemeAfter, run.DarkBg)
	}
	if k := run.KeyMade; !strings.HasPrefix(k.PublicKey, "pk-at-") || !k.SecretShown || k.Status != http.StatusOK {
		t.Errorf("the key made in the UI: %+v; want its public key, its secret shown, and 200 from the API with it", k)
	}
	if !run.SecretGone {
		t.Error("the new key's secret is still on the page after Done")
	}
	if run.KeyRevoked.Status != http.StatusUnauthorized {
		t.Errorf("the key revoked in the UI: the API answers it %d, want 401", run.KeyRevoked.Status)
	}
	if !strings.Contains(strings.ToLower(run.FirstRefusal), "invitation") {
		t.Errorf("a first account on an installation with users: the form says %q, want the need for an invitation", run.FirstRefusal)
	}
	if want := []string{"400 POST /api/v1/auth/signup"}; !slices.Equal(run.HTTPErrors, want) {
		t.Errorf("failed HTTP calls %v, want only the refused signup %v", run.HTTPErrors, want)
	}
	if len(run.Console) > 0 {
		t.Errorf("the browser console reported:\n%s", strings.Join(run.Console, "\n"))
	}
}

// runWebUIScript runs a script of webUIDir signed in as u on the project
// named project, with env added, and decodes the JSON it prints into out
// (which must have the fields Console and Error); it fails the test with
// the script's error, the browser console and its output when the script
// fails. Screenshots go to webUIShots.
func runWebUIScript(t *testing.T, script string, u *user, project string, out any, env ...string) {
	t.Helper()
	s := requireStack(t)
	node, browser := requireBrowser(t)
	shots, err := filepath.Abs(webUIShots)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, node, filepath.Join(webUIDir, script))
	cmd.Env = processEnv(append([]string{
		"AGENTTRACE_BASE_URL=http://" + s.addr["gateway"].http,
		"AGENTTRACE_EMAIL=" + u.Email,
		"AGENTTRACE_PASSWORD=" + u.Password,
		"AGENTTRACE_PROJECT=" + project,
		"AGENTTRACE_SHOTS=" + shots,
		"AGENTTRACE_CHROMIUM=" + browser,
	}, env...))
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	runErr := cmd.Run()
	var failure struct {
		Console []string `json:"console"`
		Error   string   `json:"error"`
	}
	decodeErr := json.Unmarshal(stdout.Bytes(), out)
	_ = json.Unmarshal(stdout.Bytes(), &failure)
	if runErr != nil || decodeErr != nil {
		t.Fatalf("node %s/%s: %v (decode: %v)\nerror: %s\nbrowser console:\n%s\nstdout:\n%s\nstderr:\n%s\nscreenshots: %s",
			webUIDir, script, runErr, decodeErr, failure.Error, strings.Join(failure.Console, "\n"),
			secrets.redact(stdout.String()), secrets.redact(stderr.String()), shots)
	}
	t.Logf("%s: screenshots in %s", script, shots)
}

// webUIUser is a new admin of org for one browser walk. Each walk signs
// in as a user of its own: logins are rate limited per account, and the
// founder signs in for many tests.
func (s *stack) webUIUser(t *testing.T, founder *user, org string) *user {
	t.Helper()
	return s.newMember(t, founder, org, authv1.Role_ROLE_ADMIN, "web-ui-walker")
}

func lower(ss []string) []string {
	out := make([]string, len(ss))
	for i, s := range ss {
		out[i] = strings.ToLower(s)
	}
	return out
}

// webUITrace is an agent run named label, in its session, with a user's
// question in and the answer out: an agent span ("plan") with a
// generation (OpenAI messages in, a tool call out; 1,200 tokens, $0.00105)
// and a tool call under it, at level WARNING.
func webUITrace(label string) (string, []*ingestv1.IngestEvent) {
	traceID := randomHex(16)
	now := time.Now().UTC().Add(-time.Minute)
	at := func(ms int) *timestamppb.Timestamp {
		return timestamppb.New(now.Add(time.Duration(ms) * time.Millisecond))
	}
	eid := func(kind string) string { return label + "-" + kind + "-" + randomHex(6) }
	agent, gen, tool := randomHex(8), randomHex(8), randomHex(8)
	obs := func(id string, typ commonv1.ObservationType, name string, parent string, start, end int) *ingestv1.ObservationBody {
		b := &ingestv1.ObservationBody{Id: id, TraceId: traceID, Type: typ, Name: proto.String(name), StartTime: at(start), EndTime: at(end)}
		if parent != "" {
			b.ParentObservationId = proto.String(parent)
		}
		return b
	}
	generation := obs(gen, commonv1.ObservationType_OBSERVATION_TYPE_GENERATION, "choose-tool", agent, 10, 1210)
	generation.Model = proto.String("gpt-4o-mini")
	generation.CompletionStartTime = at(400)
	generation.Input = jsonArray(
		map[string]any{"role": "system", "content": "You are a support agent."},
		map[string]any{"role": "user", "content": "Where is order 1042?"},
	)
	generation.Output = jsonValue(map[string]any{"role": "assistant", "content": "", "tool_calls": []any{map[string]any{
		"id": "call_1", "type": "function", "function": map[string]any{"name": "lookup_order", "arguments": `{"order_id":"1042"}`},
	}}})
	generation.Usage = &commonv1.Usage{Input: proto.Int64(1000), Output: proto.Int64(200), Total: proto.Int64(1200)}
	generation.Cost = &commonv1.Cost{Input: proto.Float64(0.00025), Output: proto.Float64(0.0008), Total: proto.Float64(0.00105)}
	slowTool := obs(tool, commonv1.ObservationType_OBSERVATION_TYPE_TOOL, "lookup_order", agent, 1300, 1900)
	slowTool.Level = commonv1.ObservationLevel_OBSERVATION_LEVEL_WARNING
	slowTool.StatusMessage = proto.String("the order service answered slowly")
	events := []*ingestv1.IngestEvent{
		{Id: eid("trace"), Timestamp: at(0), Type: ingestv1.EventType_EVENT_TYPE_TRACE_CREATE, Trace: &ingestv1.TraceBody{
			Id: traceID, Name: proto.String(label), Timestamp: at(0), UserId: proto.String("user-" + label), Tags: []string{"e2e"},
			SessionId: proto.String(webUISession(label)),
			Input:     jsonArray(map[string]any{"role": "user", "content": "Where is order 1042?"}),
			Output:    jsonValue(map[string]any{"role": "assistant", "content": "It was delivered on May 2."}),
		}},
		{Id: eid("agent"), Timestamp: at(0), Type: ingestv1.EventType_EVENT_TYPE_OBSERVATION_CREATE,
			Observation: obs(agent, commonv1.ObservationType_OBSERVATION_TYPE_AGENT, "plan", "", 0, 2000)},
		{Id: eid("gen"), Timestamp: at(10), Type: ingestv1.EventType_EVENT_TYPE_OBSERVATION_CREATE, Observation: generation},
		{Id: eid("tool"), Timestamp: at(1300), Type: ingestv1.EventType_EVENT_TYPE_OBSERVATION_CREATE,
			Observation: slowTool},
	}
	return traceID, events
}

// webUIOlderTraces is how many traces the web UI test's project holds
// besides its agent run: more than a page of 50.
const webUIOlderTraces = 60

// olderTraces are n bare traces named after label, a day old.
func olderTraces(label string, n int) []*ingestv1.IngestEvent {
	at := timestamppb.New(time.Now().UTC().Add(-24 * time.Hour))
	events := make([]*ingestv1.IngestEvent, n)
	for i := range events {
		events[i] = &ingestv1.IngestEvent{Id: fmt.Sprintf("%s-older-%02d", label, i), Timestamp: at, Type: ingestv1.EventType_EVENT_TYPE_TRACE_CREATE,
			Trace: &ingestv1.TraceBody{Id: randomHex(16), Name: proto.String(fmt.Sprintf("%s-older-%02d", label, i)), Timestamp: at}}
	}
	return events
}

// generationOf is the id of the generation among events.
func generationOf(events []*ingestv1.IngestEvent) string {
	for _, e := range events {
		if e.GetObservation().GetType() == commonv1.ObservationType_OBSERVATION_TYPE_GENERATION {
			return e.GetObservation().GetId()
		}
	}
	return ""
}

// webUISession is the session of the web UI test's trace.
func webUISession(label string) string { return "session-" + label }

// requireBrowser returns node and the Chromium binary, failing clearly
// when either, or the driver's package, is missing.
func requireBrowser(t *testing.T) (node, browser string) {
	t.Helper()
	node, err := exec.LookPath("node")
	if err != nil {
		t.Fatalf("node not found on PATH: the web UI test needs Node.js >= 20 (%v)", err)
	}
	if _, err := os.Stat(filepath.Join(webUIDir, "node_modules", "playwright-core", "package.json")); err != nil {
		t.Fatalf("playwright-core is not installed: run `make node-deps` (npm ci --prefix tests/e2e/%s): %v", webUIDir, err)
	}
	browser = os.Getenv("AGENTTRACE_CHROMIUM")
	if browser == "" {
		browser = "/usr/bin/chromium"
	}
	if _, err := os.Stat(browser); err != nil {
		t.Fatalf("Chromium not found at %s (`make test` installs Debian's chromium; AGENTTRACE_CHROMIUM names another): %v", browser, err)
	}
	return node, browser
}

// jsonArray is a JSON array of objects as an ingest field's value.
func jsonArray(items ...map[string]any) *structpb.Value {
	values := make([]*structpb.Value, len(items))
	for i, item := range items {
		values[i] = jsonValue(item)
	}
	return structpb.NewListValue(&structpb.ListValue{Values: values})
}

// webUILargeObservations is the size of the large trace, the issue's.
const webUILargeObservations = 20_000

// webUILargeRun is what large.mjs prints.
type webUILargeRun struct {
	SignInMs            int      `json:"signInMs"`
	ThousandRenderedMs  int      `json:"thousandRenderedMs"`
	FirstRowsMs         int      `json:"firstRowsMs"`
	WholeTreeMs         int      `json:"wholeTreeMs"`
	LoadLongestTaskMs   float64  `json:"loadLongestTaskMs"`
	Rows                int      `json:"rows"`
	Rendered            int      `json:"rendered"`
	ScrollLongestTaskMs float64  `json:"scrollLongestTaskMs"`
	ScrollLongTasks     int      `json:"scrollLongTasks"`
	HTTPErrors          []string `json:"httpErrors"`
	LastRow             string   `json:"lastRow"`
	Console             []string `json:"console"`
	Error               string   `json:"error"`
}

// TestWebUILargeTrace opens a trace of 1,000 observations in the web UI,
// which must be fully rendered within 1 s, then one of 20,000, held to its
// budget: the first rows painted within 2 s, no main-thread
// task over 200 ms while the tree is scrolled top to bottom, every row
// there (paged in the background) but only those in view rendered. It
// prints the figures, the whole tree's load time among them.
func TestWebUILargeTrace(t *testing.T) {
	s := requireStack(t)
	requireBrowser(t)
	founder, org := s.founder(t)
	label := "web-ui-large-" + randomHex(3)
	project := s.createProject(t, founder, org, label)
	c := s.rest(s.createKey(t, founder, project.GetId()).basic())

	thousandID, thousand := largeTrace(label+"-1k", 1000)
	traceID, events := largeTrace(label, webUILargeObservations)
	start := time.Now()
	for batch := range slices.Chunk(append(thousand, events...), 500) { // the batch API's most
		c.mustIngest(t, batch)
	}
	for id, n := range map[string]int64{thousandID: 1000, traceID: webUILargeObservations} {
		eventually(t, "the large trace is queryable", 2*time.Minute, func() problems {
			var got queryv1.GetTraceResponse
			if err := c.get(t, "/api/v1/traces/"+id+"?observations_page_size=1&observation_view=OBSERVATION_VIEW_BASIC", &got); err != nil {
				return problems{err.Error()}
			}
			if stored := got.GetTrace().GetObservationCount(); stored != n {
				return problems{"observations stored: " + strconv.FormatInt(stored, 10)}
			}
			return nil
		})
	}
	t.Logf("ingested and stored %d observations in %s", 1000+webUILargeObservations, time.Since(start).Round(time.Millisecond))

	var run webUILargeRun
	runWebUIScript(t, "large.mjs", s.webUIUser(t, founder, org), label, &run, "AGENTTRACE_TRACE_ID="+traceID, "AGENTTRACE_TRACE_1K_ID="+thousandID)
	t.Logf("web UI, 1,000-observation trace: fully rendered in %d ms (budget 1000 ms)", run.ThousandRenderedMs)
	t.Logf("web UI, %d-observation trace: first rows in %d ms (budget 2000 ms), whole tree in %d ms (longest task while loading %.0f ms); "+
		"scrolled top to bottom with %d long tasks, the longest %.0f ms (budget 200 ms); %d of %d rows rendered at the bottom",
		webUILargeObservations, run.FirstRowsMs, run.WholeTreeMs, run.LoadLongestTaskMs,
		run.ScrollLongTasks, run.ScrollLongestTaskMs, run.Rendered, run.Rows)
	if run.ThousandRenderedMs > 1000 {
		t.Errorf("the 1,000-observation trace fully rendered after %d ms, budget 1000 ms", run.ThousandRenderedMs)
	}
	if run.Rows != webUILargeObservations {
		t.Errorf("the tree holds %d rows, want %d", run.Rows, webUILargeObservations)
	}
	if run.Rendered == 0 || run.Rendered > 200 {
		t.Errorf("%d rows rendered: the tree should render only those in view", run.Rendered)
	}
	if run.FirstRowsMs > 2000 {
		t.Errorf("first rows after %d ms, budget 2000 ms", run.FirstRowsMs)
	}
	if run.ScrollLongestTaskMs > 200 {
		t.Errorf("a task of %.0f ms while scrolling, budget 200 ms", run.ScrollLongestTaskMs)
	}
	if len(run.HTTPErrors) > 0 {
		t.Errorf("failed HTTP calls: %v", run.HTTPErrors)
	}
	if !strings.Contains(run.LastRow, "leaf-") {
		t.Errorf("the last row after scrolling to the bottom is %q, want a leaf", run.LastRow)
	}
	if len(run.Console) > 0 {
		t.Errorf("the browser console reported:\n%s", strings.Join(run.Console, "\n"))
	}
}

// largeTrace is a trace of n observations: an agent span, 200 steps under
// it and the rest as leaves spread over the steps, a millisecond apart.
func largeTrace(label string, n int) (string, []*ingestv1.IngestEvent) {
	traceID := randomHex(16)
	begin := time.Now().UTC().Add(-time.Hour)
	at := func(i int) *timestamppb.Timestamp {
		return timestamppb.New(begin.Add(time.Duration(i) * time.Millisecond))
	}
	events := []*ingestv1.IngestEvent{{Id: label + "-trace", Timestamp: at(0), Type: ingestv1.EventType_EVENT_TYPE_TRACE_CREATE,
		Trace: &ingestv1.TraceBody{Id: traceID, Name: proto.String(label), Timestamp: at(0)}}}
	const steps = 200
	root := "root"
	add := func(i int, id, parent, name string, typ commonv1.ObservationType) {
		end := i + 5
		if parent == "" {
			end = n + 5 // the agent spans the run
		}
		body := &ingestv1.ObservationBody{Id: id, TraceId: traceID, Type: typ, Name: proto.String(name), StartTime: at(i), EndTime: at(end)}
		if parent != "" {
			body.ParentObservationId = proto.String(parent)
		}
		events = append(events, &ingestv1.IngestEvent{Id: label + "-" + id, Timestamp: at(i), Type: ingestv1.EventType_EVENT_TYPE_OBSERVATION_CREATE, Observation: body})
	}
	add(0, root, "", "agent", commonv1.ObservationType_OBSERVATION_TYPE_AGENT)
	for i := 1; i < n; i++ {
		if i <= steps {
			add(i, fmt.Sprintf("step-%03d", i), root, fmt.Sprintf("step-%03d", i), commonv1.ObservationType_OBSERVATION_TYPE_SPAN)
			continue
		}
		add(i, fmt.Sprintf("leaf-%05d", i), fmt.Sprintf("step-%03d", 1+i%steps), fmt.Sprintf("leaf-%05d", i), commonv1.ObservationType_OBSERVATION_TYPE_TOOL)
	}
	return traceID, events
}
