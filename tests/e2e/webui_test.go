package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/structpb"
	"google.golang.org/protobuf/types/known/timestamppb"

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
	SignInMs     int      `json:"signInMs"`
	FilteredMs   int      `json:"filteredMs"`
	TraceMs      int      `json:"traceMs"`
	URL          string   `json:"url"`
	TracesListed int      `json:"tracesListed"`
	TreeItems    int      `json:"treeItems"`
	Header       string   `json:"header"`
	Roles        []string `json:"roles"`
	ToolCalls    []string `json:"toolCalls"`
	Facts        string   `json:"facts"`
	AfterArrowUp string   `json:"afterArrowUp"`
	Console      []string `json:"console"`
	Error        string   `json:"error"`
}

// TestWebUI signs in to the web UI the gateway serves, in Debian's Chromium,
// as a member would: picks the project, finds a trace by name (the filter
// lands in the URL), opens it, sees its tree, opens its generation and
// reads the chat messages, the tool call and the cost, then moves through
// the tree with the keyboard. The browser console must stay clean.
func TestWebUI(t *testing.T) {
	s := requireStack(t)
	node, browser := requireBrowser(t)
	base := "http://" + s.addr["gateway"].http

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
	eventually(t, "the web UI's trace is queryable", 30*time.Second, func() problems {
		var got queryv1.GetTraceResponse
		if err := c.get(t, "/api/v1/traces/"+traceID, &got); err != nil {
			return problems{err.Error()}
		}
		if n := len(got.GetObservations()); n != 1 || len(got.GetObservations()[0].GetChildren()) != 2 {
			return problems{"the tree is not complete yet"}
		}
		return nil
	})

	ctx, cancel := context.WithTimeout(t.Context(), 90*time.Second)
	defer cancel()
	shots, err := filepath.Abs(webUIShots)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.CommandContext(ctx, node, filepath.Join(webUIDir, "ui.mjs"))
	cmd.Env = processEnv([]string{
		"AGENTTRACE_BASE_URL=" + base,
		"AGENTTRACE_EMAIL=" + founder.Email,
		"AGENTTRACE_PASSWORD=" + founder.Password,
		"AGENTTRACE_PROJECT=" + label,
		"AGENTTRACE_TRACE=" + label,
		"AGENTTRACE_SHOTS=" + shots,
		"AGENTTRACE_CHROMIUM=" + browser,
	})
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	runErr := cmd.Run()
	var run webUIRun
	if err := json.Unmarshal(stdout.Bytes(), &run); err != nil || runErr != nil {
		t.Fatalf("node %s/ui.mjs: %v (decode: %v)\nerror: %s\nbrowser console:\n%s\nstdout:\n%s\nstderr:\n%s\nscreenshots: %s",
			webUIDir, runErr, err, run.Error, strings.Join(run.Console, "\n"), secrets.redact(stdout.String()), secrets.redact(stderr.String()), shots)
	}
	t.Logf("web UI: signed in in %d ms, filtered list in %d ms, trace opened in %d ms; screenshots in %s",
		run.SignInMs, run.FilteredMs, run.TraceMs, shots)

	if !strings.Contains(run.URL, "name="+label) {
		t.Errorf("the filter is not in the URL: %s", run.URL)
	}
	if run.TracesListed != 1 {
		t.Errorf("the list filtered by name shows %d traces, want 1", run.TracesListed)
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
	if !strings.Contains(run.AfterArrowUp, "plan") {
		t.Errorf("ArrowUp from the generation selected %q, want the agent span above it (plan)", run.AfterArrowUp)
	}
	if len(run.Console) > 0 {
		t.Errorf("the browser console reported:\n%s", strings.Join(run.Console, "\n"))
	}
}

func lower(ss []string) []string {
	out := make([]string, len(ss))
	for i, s := range ss {
		out[i] = strings.ToLower(s)
	}
	return out
}

// webUITrace is an agent run named label: an agent span ("plan") with a
// generation (OpenAI messages in, a tool call out; 1,200 tokens, $0.00105)
// and a tool call under it.
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
	events := []*ingestv1.IngestEvent{
		{Id: eid("trace"), Timestamp: at(0), Type: ingestv1.EventType_EVENT_TYPE_TRACE_CREATE, Trace: &ingestv1.TraceBody{
			Id: traceID, Name: proto.String(label), Timestamp: at(0), UserId: proto.String("user-" + label), Tags: []string{"e2e"},
		}},
		{Id: eid("agent"), Timestamp: at(0), Type: ingestv1.EventType_EVENT_TYPE_OBSERVATION_CREATE,
			Observation: obs(agent, commonv1.ObservationType_OBSERVATION_TYPE_AGENT, "plan", "", 0, 2000)},
		{Id: eid("gen"), Timestamp: at(10), Type: ingestv1.EventType_EVENT_TYPE_OBSERVATION_CREATE, Observation: generation},
		{Id: eid("tool"), Timestamp: at(1300), Type: ingestv1.EventType_EVENT_TYPE_OBSERVATION_CREATE,
			Observation: obs(tool, commonv1.ObservationType_OBSERVATION_TYPE_TOOL, "lookup_order", agent, 1300, 1900)},
	}
	return traceID, events
}

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
