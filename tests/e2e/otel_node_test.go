package e2e

import (
	"bytes"
	"compress/gzip"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"go.opentelemetry.io/otel/attribute"
	otelcodes "go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/sdk/instrumentation"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"
	coltracepb "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	commonpb "go.opentelemetry.io/proto/otlp/common/v1"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
	"google.golang.org/protobuf/proto"
)

// otelJSDir is the Node.js client (`make test` runs npm ci there).
const otelJSDir = "otel-js"

// TestOTLPNode runs a fake agent instrumented with the official
// OpenTelemetry JS SDK (otel-js/agent.js) against the gateway's OTLP/HTTP
// endpoint and checks what query shows, like the Go client's test. The
// script exports the same spans to a local capture server too: the
// expectation is derived from exactly the bytes the JS SDK sent.
func TestOTLPNode(t *testing.T) {
	s := requireStack(t)
	node := requireNodeClient(t)
	key := s.bootstrap(t, "e2e-otel-js", "otel-js")
	c := s.rest(key.basic())
	prices := fetchPrices(t, c)
	s.waitPricesLoaded(t)

	capture := newCaptureServer(t)
	ctx, cancel := context.WithTimeout(t.Context(), 90*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, node, filepath.Join(otelJSDir, "agent.js"))
	cmd.Env = processEnv([]string{
		"AGENTTRACE_OTLP_URL=http://" + s.addr["gateway"].http + otlpHTTPPath,
		"AGENTTRACE_OTLP_AUTHORIZATION=" + key.basic(),
		"AGENTTRACE_RUN_ID=" + randomHex(4),
		"AGENTTRACE_CAPTURE_URL=" + capture.url + otlpHTTPPath,
	})
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("node %s/agent.js: %v\nstderr:\n%s", otelJSDir, err, secrets.redact(stderr.String()))
	}
	traceID := strings.TrimSpace(stdout.String())

	spans := capture.spans(t)
	if len(spans) != 4 {
		t.Fatalf("the JS agent exported %d spans to the capture server, want 4", len(spans))
	}
	want := wantTraceOf(key.ProjectID, spans, prices)
	if got := want.GetTrace().GetId(); got != traceID {
		t.Fatalf("the JS agent printed trace id %q but exported trace %q", traceID, got)
	}
	checkCostOracle(t, want)
	waitForTrace(t, c, want)
	checkSessionRollup(t, c, want.GetTrace())
}

// requireNodeClient returns the node binary, failing clearly when Node.js
// or the client's packages are missing (`make test` installs them).
func requireNodeClient(t *testing.T) string {
	t.Helper()
	node, err := exec.LookPath("node")
	if err != nil {
		t.Fatalf("node not found on PATH: the end-to-end test needs Node.js >= 20 for its OpenTelemetry JS client (%v)", err)
	}
	if _, err := os.Stat(filepath.Join(otelJSDir, "node_modules", "@opentelemetry", "sdk-trace-node")); err != nil {
		t.Fatalf("the JS client's packages are not installed: run `npm ci --prefix tests/e2e/%s` (make test does): %v", otelJSDir, err)
	}
	return node
}

// captureServer receives OTLP/HTTP protobuf exports and keeps them.
type captureServer struct {
	url    string
	mu     sync.Mutex
	bodies [][]byte
}

func newCaptureServer(t *testing.T) *captureServer {
	c := &captureServer{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var body io.Reader = r.Body
		if r.Header.Get("Content-Encoding") == "gzip" {
			zr, err := gzip.NewReader(r.Body)
			if err != nil {
				http.Error(w, err.Error(), http.StatusBadRequest)
				return
			}
			body = zr
		}
		b, err := io.ReadAll(body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		c.mu.Lock()
		c.bodies = append(c.bodies, b)
		c.mu.Unlock()
		w.Header().Set("Content-Type", "application/x-protobuf")
		w.WriteHeader(http.StatusOK)
	}))
	t.Cleanup(srv.Close)
	c.url = srv.URL
	return c
}

// spans decodes every captured export into the spans it carried.
func (c *captureServer) spans(t *testing.T) []sdktrace.ReadOnlySpan {
	t.Helper()
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []sdktrace.ReadOnlySpan
	for i, b := range c.bodies {
		var req coltracepb.ExportTraceServiceRequest
		if err := proto.Unmarshal(b, &req); err != nil {
			t.Fatalf("captured export %d is not an ExportTraceServiceRequest: %v", i, err)
		}
		spans, err := readOnlySpans(&req)
		if err != nil {
			t.Fatalf("captured export %d: %v", i, err)
		}
		out = append(out, spans...)
	}
	return out
}

// readOnlySpans turns the spans of an OTLP request back into the SDK's
// view of them, so that one oracle (wantTraceOf) serves both clients.
func readOnlySpans(req *coltracepb.ExportTraceServiceRequest) ([]sdktrace.ReadOnlySpan, error) {
	var stubs tracetest.SpanStubs
	for _, rs := range req.GetResourceSpans() {
		resAttrs, err := attributesOf(rs.GetResource().GetAttributes())
		if err != nil {
			return nil, err
		}
		res := resource.NewSchemaless(resAttrs...)
		for _, ss := range rs.GetScopeSpans() {
			scope := instrumentation.Scope{Name: ss.GetScope().GetName(), Version: ss.GetScope().GetVersion()}
			for _, sp := range ss.GetSpans() {
				stub, err := stubOf(sp, res, scope)
				if err != nil {
					return nil, fmt.Errorf("span %q: %w", sp.GetName(), err)
				}
				stubs = append(stubs, stub)
			}
		}
	}
	return stubs.Snapshots(), nil
}

func stubOf(sp *tracepb.Span, res *resource.Resource, scope instrumentation.Scope) (tracetest.SpanStub, error) {
	var (
		tid    trace.TraceID
		sid    trace.SpanID
		parent trace.SpanContext
	)
	if copy(tid[:], sp.GetTraceId()) != 16 || copy(sid[:], sp.GetSpanId()) != 8 {
		return tracetest.SpanStub{}, fmt.Errorf("bad ids %x/%x", sp.GetTraceId(), sp.GetSpanId())
	}
	if len(sp.GetParentSpanId()) == 8 {
		var pid trace.SpanID
		copy(pid[:], sp.GetParentSpanId())
		parent = trace.NewSpanContext(trace.SpanContextConfig{TraceID: tid, SpanID: pid})
	}
	attrs, err := attributesOf(sp.GetAttributes())
	if err != nil {
		return tracetest.SpanStub{}, err
	}
	var events []sdktrace.Event
	for _, ev := range sp.GetEvents() {
		ea, err := attributesOf(ev.GetAttributes())
		if err != nil {
			return tracetest.SpanStub{}, err
		}
		events = append(events, sdktrace.Event{Name: ev.GetName(), Attributes: ea, Time: nanos(ev.GetTimeUnixNano())})
	}
	// OTLP numbers status codes UNSET, OK, ERROR; the Go API Unset, Error, Ok.
	code := map[tracepb.Status_StatusCode]otelcodes.Code{
		tracepb.Status_STATUS_CODE_UNSET: otelcodes.Unset,
		tracepb.Status_STATUS_CODE_OK:    otelcodes.Ok,
		tracepb.Status_STATUS_CODE_ERROR: otelcodes.Error,
	}[sp.GetStatus().GetCode()]
	return tracetest.SpanStub{
		Name:                 sp.GetName(),
		SpanContext:          trace.NewSpanContext(trace.SpanContextConfig{TraceID: tid, SpanID: sid, TraceFlags: trace.FlagsSampled}),
		Parent:               parent,
		SpanKind:             trace.SpanKind(sp.GetKind()), // same numbering in OTLP and the Go API
		StartTime:            nanos(sp.GetStartTimeUnixNano()),
		EndTime:              nanos(sp.GetEndTimeUnixNano()),
		Attributes:           attrs,
		Events:               events,
		Status:               sdktrace.Status{Code: code, Description: sp.GetStatus().GetMessage()},
		Resource:             res,
		InstrumentationScope: scope,
	}, nil
}

func nanos(ns uint64) time.Time { return time.Unix(0, int64(ns)) }

// attributesOf converts OTLP attributes to the SDK's; the JS client sends
// only scalars and homogeneous arrays.
func attributesOf(kvs []*commonpb.KeyValue) ([]attribute.KeyValue, error) {
	out := make([]attribute.KeyValue, 0, len(kvs))
	for _, kv := range kvs {
		k := attribute.Key(kv.GetKey())
		switch v := kv.GetValue().GetValue().(type) {
		case *commonpb.AnyValue_StringValue:
			out = append(out, k.String(v.StringValue))
		case *commonpb.AnyValue_IntValue:
			out = append(out, k.Int64(v.IntValue))
		case *commonpb.AnyValue_DoubleValue:
			out = append(out, k.Float64(v.DoubleValue))
		case *commonpb.AnyValue_BoolValue:
			out = append(out, k.Bool(v.BoolValue))
		case *commonpb.AnyValue_ArrayValue:
			var strs []string
			for _, e := range v.ArrayValue.GetValues() {
				s, ok := e.GetValue().(*commonpb.AnyValue_StringValue)
				if !ok {
					return nil, fmt.Errorf("attribute %s: only string arrays are expected", k)
				}
				strs = append(strs, s.StringValue)
			}
			out = append(out, k.StringSlice(strs))
		default:
			return nil, fmt.Errorf("attribute %s: unexpected value type %T", k, v)
		}
	}
	return out, nil
}
