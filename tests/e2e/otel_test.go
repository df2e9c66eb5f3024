package e2e

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
	coltracepb "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	spb "google.golang.org/genproto/googleapis/rpc/status"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/encoding/gzip"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	authv1 "github.com/agenttrace/agenttrace/pkg/gen/agenttrace/auth/v1"
	commonv1 "github.com/agenttrace/agenttrace/pkg/gen/agenttrace/common/v1"
	queryv1 "github.com/agenttrace/agenttrace/pkg/gen/agenttrace/query/v1"
)

// TestOTLP sends an instrumented agent's spans through the official
// OpenTelemetry Go SDK, over both OTLP exporters, and checks that query
// shows every mapped field, the tree and the costs; then the delivery
// properties (duplicates, order, invalid spans) and the refusals.
func TestOTLP(t *testing.T) {
	s := requireStack(t)
	key := s.bootstrap(t, "e2e-otel", "otel")
	other := s.bootstrap(t, "e2e-otel-other", "otel-other")
	c := s.rest(key.basic())
	prices := fetchPrices(t, c)
	s.waitPricesLoaded(t)
	var sent []string // trace ids of the project, for the tenancy check

	for _, kind := range []exporterKind{viaGRPC, viaHTTP} {
		t.Run("go sdk over "+string(kind), func(t *testing.T) {
			run, err := runAgent(t.Context(), "go-"+string(kind), s.mustExporter(t, kind, otlpHTTPPath, key.basic()), supportAgent(randomHex(4)))
			if err != nil {
				t.Fatalf("export through the SDK's %s exporter: %v", kind, err)
			}
			sent = append(sent, run.traceID)
			want := wantTraceOf(key.ProjectID, run.spans, prices)
			checkCostOracle(t, want)
			waitForTrace(t, c, want)
			checkSessionRollup(t, c, want.GetTrace())
		})
	}

	t.Run("a span sent twice is stored once", func(t *testing.T) {
		run := recordOnly(t, "twice", pipeline(randomHex(4)))
		sent = append(sent, run.traceID)
		grpcExp := s.mustExporter(t, viaGRPC, "", key.basic())
		httpExp := s.mustExporter(t, viaHTTP, otlpHTTPPrefixPath, key.basic())
		for i, exp := range []sdktrace.SpanExporter{grpcExp, grpcExp, httpExp} {
			if err := exp.ExportSpans(t.Context(), run.spans); err != nil {
				t.Fatalf("export %d of the same spans: %v", i+1, err)
			}
		}
		// Observation count, usage and cost of the trace would all show a
		// second copy.
		waitForTrace(t, c, wantTraceOf(key.ProjectID, run.spans, prices))
	})

	t.Run("children exported before their parents", func(t *testing.T) {
		run := recordOnly(t, "orphans", pipeline(randomHex(4)))
		sent = append(sent, run.traceID)
		byName := spansByName(run.spans)
		var root, gen, tool sdktrace.ReadOnlySpan
		for name, sp := range byName {
			switch {
			case strings.HasPrefix(name, "pipeline"):
				root = sp
			case strings.HasPrefix(name, "chat"):
				gen = sp
			default:
				tool = sp
			}
		}
		exp := s.mustExporter(t, viaGRPC, "", key.basic())
		// The grandchild alone first, stored before anything above it.
		if err := exp.ExportSpans(t.Context(), []sdktrace.ReadOnlySpan{tool}); err != nil {
			t.Fatalf("export the grandchild: %v", err)
		}
		waitForTrace(t, c, wantTraceOf(key.ProjectID, []sdktrace.ReadOnlySpan{tool}, prices))
		// Then the root, and last the span between them.
		for _, sp := range []sdktrace.ReadOnlySpan{root, gen} {
			if err := exp.ExportSpans(t.Context(), []sdktrace.ReadOnlySpan{sp}); err != nil {
				t.Fatalf("export %q: %v", sp.Name(), err)
			}
		}
		waitForTrace(t, c, wantTraceOf(key.ProjectID, run.spans, prices))
	})

	for _, kind := range []exporterKind{viaGRPC, viaHTTP} {
		t.Run("an invalid span is rejected, the rest stored, over "+string(kind), func(t *testing.T) {
			run, err := runAgent(t.Context(), "invalid-"+string(kind), s.mustExporter(t, kind, otlpHTTPPath, key.basic()), withInvalidSpan(randomHex(4)))
			if err == nil || !strings.Contains(err.Error(), "(1 spans rejected)") || !strings.Contains(err.Error(), "end_time") {
				t.Fatalf("SDK export with a span that ends before it starts: want the partial success error naming 1 rejected span and end_time, got %v", err)
			}
			sent = append(sent, run.traceID)
			var valid []sdktrace.ReadOnlySpan
			for _, sp := range run.spans {
				if !sp.EndTime().Before(sp.StartTime()) {
					valid = append(valid, sp)
				}
			}
			if len(valid) != len(run.spans)-1 {
				t.Fatalf("the fake agent should record exactly one invalid span, got %d of %d valid", len(valid), len(run.spans))
			}
			waitForTrace(t, c, wantTraceOf(key.ProjectID, valid, prices))
		})
	}

	t.Run("refusals", func(t *testing.T) {
		testOTLPRefusals(t, s, key, c)
	})

	t.Run("another project sees nothing", func(t *testing.T) {
		b := s.rest(other.basic())
		for _, id := range sent {
			r := b.do(t, http.MethodGet, "/api/v1/traces/"+url.PathEscape(id), nil)
			checkError(t, "GetTrace of another project's OTLP trace", r, http.StatusNotFound, "NOT_FOUND")
		}
		traces, err := listTraces(t, b, url.Values{"page_size": {"100"}})
		if err != nil {
			t.Fatal(err)
		}
		obs, err := listObservations(t, b, url.Values{"page_size": {"100"}})
		if err != nil {
			t.Fatal(err)
		}
		if len(traces) != 0 || len(obs) != 0 {
			t.Errorf("a project that sent nothing lists %d traces and %d observations", len(traces), len(obs))
		}
	})
}

// recordOnly runs a fake agent without exporting.
func recordOnly(t *testing.T, label string, act func(context.Context, trace.Tracer, time.Time)) *recordedRun {
	t.Helper()
	run, err := runAgent(t.Context(), label, nil, act)
	if err != nil {
		t.Fatal(err)
	}
	return run
}

// fetchPrices reads the price table the project sees through the API, from
// which the expected costs are computed.
func fetchPrices(t *testing.T, c *restClient) *priceBook {
	t.Helper()
	var out authv1.ListModelPricesResponse
	c.mustGet(t, "/api/v1/model-prices", &out)
	if len(out.GetPrices()) == 0 {
		t.Fatal("GET /api/v1/model-prices: no prices; the migrations should seed the common models")
	}
	return &priceBook{prices: out.GetPrices()}
}

// waitPricesLoaded waits until the worker has loaded the price table
// (its agenttrace_worker_prices_loaded gauge is positive). The worker
// stores generations that arrive before that unpriced, by design
// (ingestion never waits for prices), and it may start before auth
// answers.
func (s *stack) waitPricesLoaded(t *testing.T) {
	t.Helper()
	const gauge = "agenttrace_worker_prices_loaded"
	eventually(t, "worker price table loaded", visibleTimeout, func() problems {
		resp, err := http.Get("http://" + s.addr["worker"].admin + "/metrics")
		if err != nil {
			return problems{err.Error()}
		}
		defer resp.Body.Close()
		body, err := io.ReadAll(resp.Body)
		if err != nil {
			return problems{err.Error()}
		}
		for _, line := range strings.Split(string(body), "\n") {
			if v, ok := strings.CutPrefix(line, gauge+" "); ok {
				if n, err := strconv.ParseFloat(strings.TrimSpace(v), 64); err == nil && n > 0 {
					return nil
				}
				return problems{gauge + " is " + v}
			}
		}
		return problems{"worker /metrics has no " + gauge}
	})
}

// checkCostOracle guards the test against itself: every generation of the
// support agent must have an expected cost (a seeded price exists for its
// model), and the client's cost must differ from what the prices would
// give, or "the client's cost wins" would prove nothing.
func checkCostOracle(t *testing.T, want *queryv1.GetTraceResponse) {
	t.Helper()
	for _, o := range flatten(want.GetObservations()) {
		if o.GetType() != commonv1.ObservationType_OBSERVATION_TYPE_GENERATION {
			continue
		}
		if o.GetCost() == nil {
			t.Fatalf("no seeded price matches %q: the expected cost of %q is unknown", o.GetModel(), o.GetName())
		}
		if _, ok := o.GetMetadata()["llm.cost.total"]; ok {
			t.Fatalf("llm.cost.total should be mapped to the cost, not kept as metadata")
		}
	}
}

// waitForTrace polls GetTrace until it shows want exactly.
func waitForTrace(t *testing.T, c *restClient, want *queryv1.GetTraceResponse) {
	t.Helper()
	id := want.GetTrace().GetId()
	eventually(t, "OTLP trace "+id+" visible and mapped", visibleTimeout, func() problems {
		var got queryv1.GetTraceResponse
		if err := c.get(t, "/api/v1/traces/"+url.PathEscape(id), &got); err != nil {
			return problems{err.Error()}
		}
		var p problems
		checkTrace(&p, "GetTrace "+id, want, &got)
		hasUpdatedAt(&p, "GetTrace trace", []*commonv1.Trace{got.GetTrace()})
		hasUpdatedAt(&p, "GetTrace observation", flatten(got.GetObservations()))
		return p
	})
}

// checkSessionRollup checks that the trace's session (from
// gen_ai.conversation.id) rolls up its usage and cost.
func checkSessionRollup(t *testing.T, c *restClient, tr *commonv1.Trace) {
	t.Helper()
	var got queryv1.GetSessionResponse
	c.mustGet(t, "/api/v1/sessions/"+url.PathEscape(tr.GetSessionId()), &got)
	var p problems
	sess := got.GetSession()
	if sess.GetTraceCount() != 1 || len(got.GetTraces()) != 1 || got.GetTraces()[0].GetId() != tr.GetId() {
		p.addf("session %s: want exactly trace %s, got %d traces", tr.GetSessionId(), tr.GetId(), sess.GetTraceCount())
	}
	p.diff("session usage", tr.GetUsage(), sess.GetUsage())
	p.diff("session cost", tr.GetCost(), sess.GetCost())
	p.diff("session users", []string{tr.GetUserId()}, sess.GetUserIds())
	if err := p.err(); err != nil {
		t.Error(err)
	}
}

// testOTLPRefusals: no or wrong credentials are refused with 401 /
// Unauthenticated, credentials without write access to the project with
// 403 / PermissionDenied, through the SDK's exporters and raw calls; and a
// refused export stores nothing.
func testOTLPRefusals(t *testing.T, s *stack, key apiKey, c *restClient) {
	founder, org := s.founder(t)
	project := s.createProject(t, founder, org, "otel-refusals-"+randomHex(3))
	readOnly := s.createKey(t, founder, project.GetId(), authv1.APIKeyScope_API_KEY_SCOPE_READ)
	outsider := s.bootstrap(t, "e2e-otel-outsider", "outsider")
	wrongSecret := apiKey{PublicKey: key.PublicKey, SecretKey: "sk-at-" + strings.Repeat("A", 43)}

	cases := []struct {
		name     string
		headers  map[string]string
		httpCode int
		grpcCode codes.Code
	}{
		{"no credentials", nil, http.StatusUnauthorized, codes.Unauthenticated},
		{"wrong secret", map[string]string{"Authorization": wrongSecret.basic()}, http.StatusUnauthorized, codes.Unauthenticated},
		{"read-only key", map[string]string{"Authorization": readOnly.basic()}, http.StatusForbidden, codes.PermissionDenied},
		{"user naming a project of another organization", map[string]string{
			"Authorization": founder.bearer(), projectHeader: outsider.ProjectID}, http.StatusForbidden, codes.PermissionDenied},
	}
	var refusedTraces []string
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			for _, kind := range []exporterKind{viaGRPC, viaHTTP} {
				exp, err := s.newExporter(t.Context(), kind, otlpHTTPPath, "", tc.headers)
				if err != nil {
					t.Fatal(err)
				}
				run, err := runAgent(t.Context(), "refused", exp, pipeline(randomHex(4)))
				_ = exp.Shutdown(context.Background())
				switch {
				case kind == viaGRPC && status.Code(err) != tc.grpcCode:
					t.Errorf("SDK gRPC export: want %s, got %v", tc.grpcCode, err)
				case kind == viaHTTP && (err == nil || !strings.Contains(err.Error(), strconv.Itoa(tc.httpCode))):
					t.Errorf("SDK HTTP export: want HTTP %d, got %v", tc.httpCode, err)
				}
				if run != nil {
					refusedTraces = append(refusedTraces, run.traceID)
				}
			}
			// The same through raw calls, where the status is exact.
			body := exportRequestBody(t)
			r := rawOTLPHTTP(t, s, otlpHTTPPath, tc.headers, body)
			if r.status != tc.httpCode {
				t.Errorf("POST %s: want HTTP %d, got %s", otlpHTTPPath, tc.httpCode, r)
			}
			_, err := rawOTLPGRPC(t, s, tc.headers, body)
			if status.Code(err) != tc.grpcCode {
				t.Errorf("TraceService/Export: want %s, got %v", tc.grpcCode, err)
			}
		})
	}

	// A body that is no ExportTraceServiceRequest: the gateway forwards
	// protobuf undecoded and ingest refuses it as the client's fault.
	t.Run("malformed protobuf", func(t *testing.T) {
		r := rawOTLPHTTP(t, s, otlpHTTPPath, map[string]string{"Authorization": key.basic()}, []byte{0x0a, 0x64, 1, 2})
		var st spb.Status
		if r.status != http.StatusBadRequest || proto.Unmarshal(r.body, &st) != nil || codes.Code(st.GetCode()) != codes.InvalidArgument {
			t.Errorf("POST %s with a truncated body: want HTTP 400 and an InvalidArgument status, got %s", otlpHTTPPath, r)
		}
	})

	// The refused runs were never accepted: after an accepted export has
	// become visible, they still are not.
	marker := recordOnly(t, "marker", pipeline(randomHex(4)))
	if err := s.mustExporter(t, viaGRPC, "", key.basic()).ExportSpans(t.Context(), marker.spans); err != nil {
		t.Fatal(err)
	}
	prices := fetchPrices(t, c)
	waitForTrace(t, c, wantTraceOf(key.ProjectID, marker.spans, prices))
	founderView := s.asUser(founder, project.GetId())
	for _, id := range refusedTraces {
		for _, reader := range []*restClient{c, founderView, s.rest(outsider.basic())} {
			r := reader.do(t, http.MethodGet, "/api/v1/traces/"+url.PathEscape(id), nil)
			if r.status != http.StatusNotFound {
				t.Errorf("trace %s of a refused export: want 404 for every project, got %s", id, r)
			}
		}
	}
}

// exportRequestBody is a small valid OTLP export request (protobuf), the
// same the SDK would send for one recorded pipeline run.
func exportRequestBody(t *testing.T) []byte {
	t.Helper()
	run := recordOnly(t, "raw", pipeline(randomHex(4)))
	body, err := sdkExportBody(t.Context(), run.spans)
	if err != nil {
		t.Fatal(err)
	}
	return body
}

// rawOTLPHTTP posts an OTLP/HTTP protobuf body with headers.
func rawOTLPHTTP(t *testing.T, s *stack, path string, headers map[string]string, body []byte) response {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, "http://"+s.addr["gateway"].http+path, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-protobuf")
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("POST %s: %v", path, err)
	}
	defer resp.Body.Close()
	var buf bytes.Buffer
	_, _ = buf.ReadFrom(resp.Body)
	return response{status: resp.StatusCode, header: resp.Header, body: buf.Bytes()}
}

// rawOTLPGRPC calls TraceService/Export on ingest's OTLP port with headers
// as metadata, gzip-compressed.
func rawOTLPGRPC(t *testing.T, s *stack, headers map[string]string, body []byte) (*coltracepb.ExportTraceServiceResponse, error) {
	t.Helper()
	var req coltracepb.ExportTraceServiceRequest
	if err := proto.Unmarshal(body, &req); err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	for k, v := range headers {
		ctx = metadata.AppendToOutgoingContext(ctx, strings.ToLower(k), v)
	}
	client := coltracepb.NewTraceServiceClient(dial(t, s.addr["ingest"].otlp))
	return client.Export(ctx, &req, grpc.UseCompressor(gzip.Name))
}
