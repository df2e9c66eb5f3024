package e2e

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"flag"
	"fmt"
	"net/http"
	"os"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"text/tabwriter"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"
	coltracepb "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/encoding/gzip"
	"google.golang.org/protobuf/proto"

	"github.com/agenttrace/agenttrace/pkg/chschema"
	"github.com/agenttrace/agenttrace/pkg/clickhousedb"
	queryv1 "github.com/agenttrace/agenttrace/pkg/gen/agenttrace/query/v1"
	"github.com/agenttrace/agenttrace/pkg/otlpmap"
)

// `make bench-otlp` runs BenchmarkOTLP: OTLP ingestion throughput against
// the running stack and the cost of decoding and mapping a span. The
// throughput parts are load tests shaped as benchmarks: each runs once,
// for -otlp.duration, whatever b.N is, and reports its rates as metrics.
var (
	otlpBenchDuration = flag.Duration("otlp.duration", 20*time.Second, "BenchmarkOTLP: how long each throughput measurement sends")
	otlpBenchSenders  = flag.Int("otlp.senders", 4, "BenchmarkOTLP: concurrent exporters")
	otlpBenchDrain    = flag.Duration("otlp.drain", 3*time.Minute, "BenchmarkOTLP: how long to wait for accepted spans to become queryable")
	// The targets are stated for uncompressed OTLP/gRPC, the SDKs' default.
	otlpBenchCompression = flag.String("otlp.compression", "none", "BenchmarkOTLP: the exporters' gRPC compression, none or gzip")
	otlpBenchShapes      = flag.String("otlp.shapes", "small,llm", "BenchmarkOTLP: the span shapes to measure, comma-separated")
)

// spanShape is one kind of load: how big its spans are and how many an
// export carries.
type spanShape struct {
	name string
	// perRequest spans per export, in traces of spansPerTrace.
	perRequest, spansPerTrace int
	// contentBytes of prompt and completion per span (0: a plain span).
	contentBytes int
}

var spanShapes = []spanShape{
	// 512 is the SDK batch processor's default export size.
	{name: "small", perRequest: 512, spansPerTrace: 8},
	// ~2 KB of prompt and completion per span; 100 per export keeps a
	// request (and its stream message) well under a megabyte.
	{name: "llm", perRequest: 100, spansPerTrace: 5, contentBytes: 2048},
}

// benchTemplate records spans of shape through the SDK and returns the
// export request the SDK's exporter would send for them.
func benchTemplate(ctx context.Context, shape spanShape) (*coltracepb.ExportTraceServiceRequest, []byte, error) {
	run, err := runAgent(ctx, "bench-"+shape.name, nil, func(ctx context.Context, tr trace.Tracer, base time.Time) {
		for i := 0; i < shape.perRequest; i += shape.spansPerTrace {
			emitBenchTrace(ctx, tr, base, shape, min(shape.spansPerTrace, shape.perRequest-i))
		}
	})
	if err != nil {
		return nil, nil, err
	}
	body, err := sdkExportBody(ctx, run.spans)
	if err != nil {
		return nil, nil, err
	}
	req := &coltracepb.ExportTraceServiceRequest{}
	if err := proto.Unmarshal(body, req); err != nil {
		return nil, nil, err
	}
	return req, body, nil
}

// emitBenchTrace emits one trace of n spans: a root and its children.
// Small spans look like an instrumented HTTP handler's; LLM-sized ones are
// GenAI chat generations with contentBytes of messages.
func emitBenchTrace(ctx context.Context, tr trace.Tracer, base time.Time, shape spanShape, n int) {
	attrs := func(i int) []attribute.KeyValue {
		if shape.contentBytes == 0 {
			return []attribute.KeyValue{
				attribute.String("http.route", "/api/orders/{id}"),
				attribute.Int("http.response.status_code", 200),
				attribute.String("app.step", fmt.Sprintf("step-%d", i)),
			}
		}
		prompt := strings.Repeat("Summarise the customer's ticket history. ", shape.contentBytes*3/4/41)
		completion := strings.Repeat("The customer asked twice. ", shape.contentBytes/4/26)
		return []attribute.KeyValue{
			attribute.String("gen_ai.operation.name", "chat"),
			attribute.String("gen_ai.provider.name", "openai"),
			attribute.String("gen_ai.request.model", "gpt-4o-mini"),
			attribute.Float64("gen_ai.request.temperature", 0.2),
			attribute.Int("gen_ai.usage.input_tokens", 480),
			attribute.Int("gen_ai.usage.output_tokens", 120),
			attribute.String("gen_ai.input.messages", `[{"role":"user","parts":[{"type":"text","content":"`+prompt+`"}]}]`),
			attribute.String("gen_ai.output.messages", `[{"role":"assistant","parts":[{"type":"text","content":"`+completion+`"}],"finish_reason":"stop"}]`),
		}
	}
	ctx, root := tr.Start(ctx, "handle request", trace.WithTimestamp(base), trace.WithAttributes(attrs(0)...))
	for i := 1; i < n; i++ {
		_, child := tr.Start(ctx, fmt.Sprintf("step %d", i), trace.WithTimestamp(at(base, i)), trace.WithAttributes(attrs(i)...))
		child.End(trace.WithTimestamp(at(base, i+1)))
	}
	root.End(trace.WithTimestamp(at(base, n+1)))
}

// remask gives every span of req fresh ids by XORing them with random
// masks (one for the trace ids, one for span and parent ids): the trees
// stay intact and each request's spans are new to the platform. req is the
// sender's own copy, mutated in place; ids XORed with masks again and
// again are as random as the masks.
func remask(req *coltracepb.ExportTraceServiceRequest) {
	var traceMask [16]byte
	var spanMask [8]byte
	_, _ = rand.Read(traceMask[:]) // crypto/rand.Read never fails
	_, _ = rand.Read(spanMask[:])
	for _, rs := range req.GetResourceSpans() {
		for _, ss := range rs.GetScopeSpans() {
			for _, sp := range ss.GetSpans() {
				xor(sp.TraceId, traceMask[:])
				xor(sp.SpanId, spanMask[:])
				if len(sp.ParentSpanId) == 8 {
					xor(sp.ParentSpanId, spanMask[:])
				}
			}
		}
	}
}

func xor(dst, mask []byte) {
	for i := range dst {
		dst[i] ^= mask[i]
	}
}

// throughput is one measurement.
type throughput struct {
	shape              spanShape
	bytesPerSpan       int
	accepted, rejected int64
	failedExports      int64
	sending            time.Duration // first export sent -> last acknowledged
	queryable          time.Duration // first export sent -> every accepted span counted in ClickHouse
	drained            bool
	counted            int64 // spans counted in ClickHouse when the wait ended
	// The box's load averages (/proc/loadavg) when sending ended and when
	// the last span became queryable: the figures of a shared machine mean
	// little without them.
	loadSending, loadDrained string
	mapNsPerSpan             float64
	mapAllocsPerSpan         float64
	mapBytesAllocPerSpan     float64
}

func (r *throughput) acceptedPerSec() float64 { return float64(r.accepted) / r.sending.Seconds() }
func (r *throughput) e2ePerSec() float64 {
	// Redelivered rows are counted twice by count(): never report more than was accepted.
	return float64(min(r.counted, r.accepted)) / r.queryable.Seconds()
}

// BenchmarkOTLP measures, per span shape: the cost of decoding an SDK
// export and mapping it (otlpmap.Map, per span), the spans per second
// ingest acknowledges (after JetStream has them) and the spans per second
// that become queryable. It prints a table at the end.
func BenchmarkOTLP(b *testing.B) {
	if stk == nil {
		b.Skip("needs the running platform (not under -short)")
	}
	if c := *otlpBenchCompression; c != "none" && c != gzip.Name {
		b.Fatalf("-otlp.compression=%q: want none or gzip", c)
	}
	results := map[string]*throughput{}
	for _, shape := range spanShapes {
		if !slices.Contains(strings.Split(*otlpBenchShapes, ","), shape.name) {
			continue
		}
		req, body, err := benchTemplate(b.Context(), shape)
		if err != nil {
			b.Fatal(err)
		}
		r := &throughput{shape: shape, bytesPerSpan: len(body) / shape.perRequest}
		results[shape.name] = r
		b.Run("decode+map/"+shape.name, func(b *testing.B) { benchDecodeMap(b, body, r) })
		if !b.Run("ingest/"+shape.name, func(b *testing.B) { benchIngest(b, stk, req, r) }) {
			// A backlog left behind would share the worker with the next
			// shape and make its figures meaningless.
			b.Logf("stopping after %s: its spans did not all become queryable; measure the next shape on its own (-otlp.shapes)", shape.name)
			break
		}
	}
	printThroughput(results)
}

// benchDecodeMap is the worker's per-message work on an SDK export:
// protobuf decoding and otlpmap.Map.
func benchDecodeMap(b *testing.B, body []byte, r *throughput) {
	b.ReportAllocs()
	b.SetBytes(int64(len(body)))
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	spans := r.shape.perRequest
	for b.Loop() {
		req := &coltracepb.ExportTraceServiceRequest{}
		if err := proto.Unmarshal(body, req); err != nil {
			b.Fatal(err)
		}
		if _, err := otlpmap.Map(req); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	runtime.ReadMemStats(&after)
	n := float64(b.N) * float64(spans)
	r.mapNsPerSpan = float64(b.Elapsed().Nanoseconds()) / n
	r.mapAllocsPerSpan = float64(after.Mallocs-before.Mallocs) / n
	r.mapBytesAllocPerSpan = float64(after.TotalAlloc-before.TotalAlloc) / n
	b.ReportMetric(r.mapNsPerSpan, "ns/span")
	b.ReportMetric(r.mapAllocsPerSpan, "allocs/span")
}

// benchIngest sends copies of template with fresh ids from several
// exporters for -otlp.duration into a new project, then waits until
// ClickHouse holds every accepted span.
func benchIngest(b *testing.B, s *stack, template *coltracepb.ExportTraceServiceRequest, r *throughput) {
	key := benchKey(b, s, "bench-"+r.shape.name)
	opts := []grpc.DialOption{grpc.WithTransportCredentials(insecure.NewCredentials())}
	if *otlpBenchCompression == gzip.Name {
		opts = append(opts, grpc.WithDefaultCallOptions(grpc.UseCompressor(gzip.Name)))
	}
	conn, err := grpc.NewClient(s.addr["ingest"].otlp, opts...)
	if err != nil {
		b.Fatal(err)
	}
	defer conn.Close()
	client := coltracepb.NewTraceServiceClient(conn)
	ctx := withKey(b.Context(), key)

	var (
		accepted, rejected, failed atomic.Int64
		lastAck                    atomic.Int64
		sample                     atomic.Value // a trace id of an accepted export
		firstErr                   sync.Once
		wg                         sync.WaitGroup
	)
	start := time.Now()
	deadline := start.Add(*otlpBenchDuration)
	for range *otlpBenchSenders {
		req := proto.CloneOf(template)
		wg.Go(func() {
			for time.Now().Before(deadline) {
				remask(req)
				resp, err := client.Export(ctx, req)
				if err != nil {
					failed.Add(1)
					firstErr.Do(func() { b.Logf("export refused (counted, not retried): %v", err) })
					continue
				}
				n := int64(r.shape.perRequest) - resp.GetPartialSuccess().GetRejectedSpans()
				accepted.Add(n)
				rejected.Add(resp.GetPartialSuccess().GetRejectedSpans())
				lastAck.Store(int64(time.Since(start)))
				if n == int64(r.shape.perRequest) {
					sample.Store(hex.EncodeToString(req.GetResourceSpans()[0].GetScopeSpans()[0].GetSpans()[0].GetTraceId()))
				}
			}
		})
	}
	wg.Wait()
	r.accepted, r.rejected, r.failedExports = accepted.Load(), rejected.Load(), failed.Load()
	r.sending = time.Duration(lastAck.Load())
	r.loadSending = loadAverage()
	if r.accepted == 0 {
		b.Fatalf("no span accepted in %s", *otlpBenchDuration)
	}

	counted, err := waitCounted(b, s, key.ProjectID, r.accepted)
	r.queryable, r.drained, r.counted = time.Since(start), err == nil, counted
	r.loadDrained = loadAverage()
	if err != nil {
		b.Errorf("%d of %d accepted spans queryable after %s: %v", counted, r.accepted, *otlpBenchDrain, err)
	}
	if id, ok := sample.Load().(string); ok && r.drained {
		checkSampleTrace(b, s, key, id, r.shape.spansPerTrace)
	}
	b.ReportMetric(r.acceptedPerSec(), "accepted_spans/s")
	b.ReportMetric(r.e2ePerSec(), "e2e_spans/s")
}

// checkSampleTrace reads one trace the load sent through the query API:
// what ClickHouse counted is what the API serves.
func checkSampleTrace(b *testing.B, s *stack, key apiKey, id string, spans int) {
	r, err := s.rest(key.basic()).request(b.Context(), http.MethodGet, "/api/v1/traces/"+id, nil)
	if err != nil {
		b.Fatal(err)
	}
	var got queryv1.GetTraceResponse
	if r.status != http.StatusOK {
		b.Errorf("GetTrace of a benchmark trace: %s", r)
	} else if err := strictJSON.Unmarshal(r.body, &got); err != nil {
		b.Errorf("GetTrace of a benchmark trace: %v", err)
	} else if n := len(flatten(got.GetObservations())); n != spans {
		b.Errorf("GetTrace of a benchmark trace: %d observations, want %d", n, spans)
	}
}

// benchKey bootstraps a project of its own for one measurement, so that
// counting its rows counts only what it sent.
func benchKey(b *testing.B, s *stack, project string) apiKey {
	out, err := s.command(b.Context(), "auth", "bootstrap", "--org", "e2e-bench", "--project", project)
	if err != nil {
		b.Fatal(err)
	}
	var k apiKey
	if err := json.Unmarshal(out, &k); err != nil || k.ProjectID == "" || k.SecretKey == "" {
		b.Fatalf("bootstrap output is not the documented JSON object: %v", err)
	}
	secrets.addAPIKey(k.PublicKey, k.SecretKey)
	return k
}

// waitCounted polls ClickHouse until the project's observations number
// want, returning the last count.
func waitCounted(b *testing.B, s *stack, project string, want int64) (int64, error) {
	ch, err := clickhousedb.Open(b.Context(), clickhousedb.Config{Addr: clickhouseServer, User: "default",
		DialTimeout: 5 * time.Second, MaxOpenConns: 1, QueryTimeout: 30 * time.Second}, s.iso.clickhouseDB)
	if err != nil {
		return 0, err
	}
	defer ch.Close()
	deadline := time.Now().Add(*otlpBenchDrain)
	var n uint64
	for {
		if err := ch.QueryRow(b.Context(), "SELECT count() FROM "+chschema.Observations+" WHERE project_id = ?", project).Scan(&n); err != nil {
			return int64(n), err
		}
		if int64(n) >= want {
			return int64(n), nil
		}
		if time.Now().After(deadline) {
			return int64(n), fmt.Errorf("timed out")
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// loadAverage is the 1, 5 and 15 minute load averages, as uptime prints
// them, or "?" where /proc/loadavg is not.
func loadAverage() string {
	b, err := os.ReadFile("/proc/loadavg")
	if f := strings.Fields(string(b)); err == nil && len(f) >= 3 {
		return strings.Join(f[:3], " ")
	}
	return "?"
}

func printThroughput(results map[string]*throughput) {
	w := tabwriter.NewWriter(os.Stdout, 2, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintf(os.Stdout, "\nOTLP ingestion (%d concurrent gRPC exporters, compression %s, %s of sending per shape, %d CPUs shared by the load and the stack)\n",
		*otlpBenchSenders, *otlpBenchCompression, *otlpBenchDuration, runtime.NumCPU())
	fmt.Fprintln(w, "shape\tspans/export\tbytes/span\taccepted spans/s\tend-to-end spans/s\tspans accepted\tqueryable after\tdecode+map ns/span\tallocs/span\tB alloc/span\tload avg, sent\tload avg, drained\t")
	for _, shape := range spanShapes {
		r := results[shape.name]
		if r == nil || r.sending == 0 {
			continue
		}
		e2e := fmt.Sprintf("%.0f", r.e2ePerSec())
		if !r.drained {
			// What became queryable over the whole window, not the rate
			// of the accepted spans: a floor, since the backlog remains.
			e2e = fmt.Sprintf("%s (incomplete: %d left)", e2e, r.accepted-r.counted)
		}
		fmt.Fprintf(w, "%s\t%d\t%d\t%.0f\t%s\t%d\t%s\t%.0f\t%.1f\t%.0f\t%s\t%s\t\n",
			shape.name, shape.perRequest, r.bytesPerSpan, r.acceptedPerSec(), e2e, r.accepted,
			r.queryable.Round(100*time.Millisecond), r.mapNsPerSpan, r.mapAllocsPerSpan, r.mapBytesAllocPerSpan,
			r.loadSending, r.loadDrained)
		if r.rejected > 0 || r.failedExports > 0 {
			fmt.Fprintf(w, "%s: %d spans rejected, %d exports refused\t\t\t\t\t\t\t\t\t\t\t\t\n", shape.name, r.rejected, r.failedExports)
		}
	}
	w.Flush()
}
