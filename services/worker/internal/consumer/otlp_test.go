package consumer_test

import (
	"context"
	"encoding/hex"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	collectortracev1 "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	otlpcommon "go.opentelemetry.io/proto/otlp/common/v1"
	resourcev1 "go.opentelemetry.io/proto/otlp/resource/v1"
	tracev1 "go.opentelemetry.io/proto/otlp/trace/v1"
	"google.golang.org/protobuf/proto"

	"github.com/agenttrace/agenttrace/pkg/chschema"
	ingestv1 "github.com/agenttrace/agenttrace/pkg/gen/agenttrace/ingest/v1"
	"github.com/agenttrace/agenttrace/services/worker/internal/eventrows"
	"github.com/agenttrace/agenttrace/services/worker/internal/testinfra"
)

const (
	otlpTrace = "5b8efff798038103d269b633813fc60c"
	otlpRoot  = "eee19b7ec3c1b174"
	otlpLLM   = "eee19b7ec3c1b173"
	otlpTool  = "eee19b7ec3c1b172"
)

func mustHex(t *testing.T, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func str(k, v string) *otlpcommon.KeyValue {
	return &otlpcommon.KeyValue{Key: k, Value: &otlpcommon.AnyValue{Value: &otlpcommon.AnyValue_StringValue{StringValue: v}}}
}

func num(k string, v int64) *otlpcommon.KeyValue {
	return &otlpcommon.KeyValue{Key: k, Value: &otlpcommon.AnyValue{Value: &otlpcommon.AnyValue_IntValue{IntValue: v}}}
}

func nanos(d time.Duration) uint64 { return uint64(base.Add(d).UnixNano()) }

// agentSpans is a small agent run: the root agent span, an LLM call with
// usage, and a tool call that recorded an event.
func agentSpans(t *testing.T) map[string]*tracev1.Span {
	return map[string]*tracev1.Span{
		otlpRoot: {
			TraceId: mustHex(t, otlpTrace), SpanId: mustHex(t, otlpRoot), Name: "invoke_agent Planner",
			StartTimeUnixNano: nanos(0), EndTimeUnixNano: nanos(3 * time.Second),
			Attributes: []*otlpcommon.KeyValue{str("gen_ai.operation.name", "invoke_agent"), str("gen_ai.agent.name", "Planner")},
		},
		otlpLLM: {
			TraceId: mustHex(t, otlpTrace), SpanId: mustHex(t, otlpLLM), ParentSpanId: mustHex(t, otlpRoot), Name: "chat gpt-4o",
			StartTimeUnixNano: nanos(100 * time.Millisecond), EndTimeUnixNano: nanos(time.Second),
			Attributes: []*otlpcommon.KeyValue{
				str("gen_ai.operation.name", "chat"), str("gen_ai.request.model", "gpt-4o"),
				num("gen_ai.usage.input_tokens", 100), num("gen_ai.usage.output_tokens", 20),
				str("agenttrace.user.id", "user-1"),
			},
		},
		otlpTool: {
			TraceId: mustHex(t, otlpTrace), SpanId: mustHex(t, otlpTool), ParentSpanId: mustHex(t, otlpRoot), Name: "execute_tool search",
			StartTimeUnixNano: nanos(time.Second), EndTimeUnixNano: nanos(2 * time.Second),
			Attributes: []*otlpcommon.KeyValue{str("gen_ai.operation.name", "execute_tool"), str("gen_ai.tool.name", "search")},
			Events:     []*tracev1.Span_Event{{TimeUnixNano: nanos(1500 * time.Millisecond), Name: "cache.miss"}},
		},
	}
}

// otlpEnvelope wraps spans in an export request, as ingest's OTLP
// receiver publishes it.
func otlpEnvelope(t *testing.T, project string, spans ...*tracev1.Span) *ingestv1.EventEnvelope {
	t.Helper()
	req := &collectortracev1.ExportTraceServiceRequest{ResourceSpans: []*tracev1.ResourceSpans{{
		Resource: &resourcev1.Resource{Attributes: []*otlpcommon.KeyValue{
			str("service.name", "planner"), str("deployment.environment.name", "test"),
		}},
		ScopeSpans: []*tracev1.ScopeSpans{{Spans: spans}},
	}}}
	raw, err := proto.Marshal(req)
	if err != nil {
		t.Fatal(err)
	}
	return &ingestv1.EventEnvelope{ProjectId: project, ReceivedAt: at(time.Hour), OtlpExportRequest: raw}
}

// mergedTree is the read-time merge of docs/ARCHITECTURE.md for one
// project: each trace's name, timestamp, user and environment, then each
// observation's parent, type, name and usage.
func mergedTree(t *testing.T, h *harness, project string) []string {
	t.Helper()
	ctx := context.Background()
	var out []string
	rows, err := h.conn.Query(ctx, "SELECT "+chschema.List(chschema.ColID, chschema.MergeString(chschema.ColName),
		chschema.MergeUint(chschema.ColTimestamp), chschema.MergeString(chschema.ColUserID), chschema.MergeString(chschema.ColEnvironment))+
		" FROM "+chschema.Traces+" WHERE "+chschema.ColProjectID+" = ? GROUP BY "+chschema.ColID+" ORDER BY "+chschema.ColID, project)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var id, name, user, env string
		var ts uint64
		if err := rows.Scan(&id, &name, &ts, &user, &env); err != nil {
			t.Fatal(err)
		}
		out = append(out, strings.Join([]string{"trace", id, name, time.Unix(0, int64(ts)).UTC().Format(time.RFC3339Nano), user, env}, " | "))
	}
	rows.Close()
	rows, err = h.conn.Query(ctx, "SELECT "+chschema.ColID+", "+chschema.Merged(chschema.ColParentObservationID)+", "+
		chschema.Merged(chschema.ColType)+", "+chschema.Merged(chschema.ColName)+", ifNull(toString("+chschema.Merged(chschema.ColUsageInput)+"), '-')"+
		" FROM (SELECT "+chschema.List(chschema.ColID, chschema.MergeString(chschema.ColParentObservationID),
		chschema.MergeString(chschema.ColType), chschema.MergeString(chschema.ColName), chschema.MergeNullable(chschema.ColUsageInput))+
		" FROM "+chschema.Observations+" WHERE "+chschema.ColProjectID+" = ? AND "+chschema.ColTraceID+" = ? GROUP BY "+chschema.ColID+")"+
		" ORDER BY "+chschema.ColID, project, otlpTrace)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	for rows.Next() {
		r := make([]string, 5)
		if err := rows.Scan(&r[0], &r[1], &r[2], &r[3], &r[4]); err != nil {
			t.Fatal(err)
		}
		out = append(out, "obs | "+strings.Join(r, " | "))
	}
	return out
}

func TestOTLPEnvelopeIsExpandedIntoRows(t *testing.T) {
	h := newHarness(t)
	h.start(testConfig(), h.conn)
	s := agentSpans(t)
	env := otlpEnvelope(t, "proj-otlp", s[otlpRoot], s[otlpLLM], s[otlpTool])
	h.publish(env, "otlp-1")

	data, err := proto.Marshal(env)
	if err != nil {
		t.Fatal(err)
	}
	want, err := eventrows.Decode(data)
	if err != nil {
		t.Fatal(err)
	}
	// 3 spans + 1 span event, and the trace's two versions.
	if len(want.Rows.Observations) != 4 || len(want.Rows.Traces) != 2 {
		t.Fatalf("decoded %d observations and %d traces, want 4 and 2", len(want.Rows.Observations), len(want.Rows.Traces))
	}
	var got testinfra.Stored
	eventually(t, 10*time.Second, "6 rows", func() bool {
		got = testinfra.ReadRows(t, h.conn)
		return got.Len() == 6
	})
	sortRows(&want.Rows)
	if !reflect.DeepEqual(got.Batch, want.Rows) {
		t.Errorf("stored rows differ from the decoded envelope\n got: %+v\nwant: %+v", got.Batch, want.Rows)
	}
	wantTree := []string{
		"trace | " + otlpTrace + " | invoke_agent Planner | 2025-05-01T10:00:00Z | user-1 | test",
		"obs | " + otlpTool + " | " + otlpRoot + " | TOOL | execute_tool search | -",
		"obs | " + otlpTool + "-0 | " + otlpTool + " | EVENT | cache.miss | -",
		"obs | " + otlpLLM + " | " + otlpRoot + " | GENERATION | chat gpt-4o | 100",
		"obs | " + otlpRoot + " |  | AGENT | invoke_agent Planner | -",
	}
	before := mergedTree(t, h, "proj-otlp")
	if !reflect.DeepEqual(before, wantTree) {
		t.Fatalf("merged tree:\n%s\nwant:\n%s", strings.Join(before, "\n"), strings.Join(wantTree, "\n"))
	}

	// The same spans exported again (an SDK retry after a lost response):
	// the rows are identical, so the merged objects do not change.
	h.publish(otlpEnvelope(t, "proj-otlp", s[otlpRoot], s[otlpLLM], s[otlpTool]), "otlp-2")
	eventually(t, 10*time.Second, "second export acked", func() bool {
		return h.metric("agenttrace_worker_messages_total", "outcome", "acked") == 2
	})
	// Each row is stored twice or, once ClickHouse has merged the parts,
	// once; either way no row differs from those of the first export.
	again := testinfra.ReadRows(t, h.conn)
	if traces := slices.CompactFunc(again.Traces, same[chschema.Trace]); !reflect.DeepEqual(traces, got.Traces) {
		t.Errorf("trace rows after the resend differ:\n got: %+v\nwant: %+v", traces, got.Traces)
	}
	if obs := slices.CompactFunc(again.Observations, same[chschema.Observation]); !reflect.DeepEqual(obs, got.Observations) {
		t.Errorf("observation rows after the resend differ:\n got: %+v\nwant: %+v", obs, got.Observations)
	}
	if after := mergedTree(t, h, "proj-otlp"); !reflect.DeepEqual(after, before) {
		t.Errorf("merge changed after the resend:\n%s", strings.Join(after, "\n"))
	}
}

// Spans exported before their parent and root (a batch processor flushes
// children first, since they end first) still assemble into the same tree
// as when everything arrives at once, whatever the order.
func TestOTLPChildrenBeforeTheirRootAssembleTheSameTree(t *testing.T) {
	h := newHarness(t)
	h.start(testConfig(), h.conn)
	s := agentSpans(t)

	h.publish(otlpEnvelope(t, "proj-all", s[otlpRoot], s[otlpLLM], s[otlpTool]), "all")
	h.publish(otlpEnvelope(t, "proj-split", s[otlpTool]), "split-1")
	h.publish(otlpEnvelope(t, "proj-split", s[otlpLLM]), "split-2")
	eventually(t, 10*time.Second, "the children stored", func() bool {
		return h.metric("agenttrace_worker_messages_total", "outcome", "acked") == 3
	})
	// Before the root arrives the trace already exists: unnamed, attributed
	// to its user, and placed at the earliest span start of the newest
	// export (the tool's: each export's guess is versioned at that start,
	// and the root's timestamp outranks all guesses once it arrives).
	rootless := mergedTree(t, h, "proj-split")
	if want := "trace | " + otlpTrace + " |  | 2025-05-01T10:00:01Z | user-1 | test"; len(rootless) == 0 || rootless[0] != want {
		t.Errorf("trace before its root = %q, want %q", rootless, want)
	}

	h.publish(otlpEnvelope(t, "proj-split", s[otlpRoot]), "split-3")
	eventually(t, 10*time.Second, "the root stored", func() bool {
		return h.metric("agenttrace_worker_messages_total", "outcome", "acked") == 4
	})
	whole, split := mergedTree(t, h, "proj-all"), mergedTree(t, h, "proj-split")
	if !reflect.DeepEqual(split, whole) {
		t.Errorf("tree assembled from parts:\n%s\nwant (sent at once):\n%s", strings.Join(split, "\n"), strings.Join(whole, "\n"))
	}
}

func TestOTLPEnvelopeWithAnInvalidSpanIsDeadLettered(t *testing.T) {
	h := newHarness(t)
	h.start(testConfig(), h.conn)
	bad := agentSpans(t)[otlpRoot]
	bad.EndTimeUnixNano = bad.StartTimeUnixNano - 1
	h.publish(otlpEnvelope(t, "proj-bad", bad), "bad")
	eventually(t, 10*time.Second, "dead-lettered", func() bool {
		return h.streamMsgs(h.scfg.DeadLetterStream()) == 1
	})
	if n := testinfra.ReadRows(t, h.conn).Len(); n != 0 {
		t.Errorf("%d rows stored from an envelope with an invalid span", n)
	}
}

// sortRows orders b like testinfra.ReadRows reads the tables.
func sortRows(b *eventrows.Batch) {
	slices.SortFunc(b.Traces, func(x, y chschema.Trace) int {
		return strings.Compare(x.ProjectID+"\x00"+x.ID+"\x00"+x.EventID, y.ProjectID+"\x00"+y.ID+"\x00"+y.EventID)
	})
	slices.SortFunc(b.Observations, func(x, y chschema.Observation) int {
		return strings.Compare(x.ProjectID+"\x00"+x.TraceID+"\x00"+x.ID+"\x00"+x.EventID,
			y.ProjectID+"\x00"+y.TraceID+"\x00"+y.ID+"\x00"+y.EventID)
	})
}

func same[T any](a, b T) bool { return reflect.DeepEqual(a, b) }
