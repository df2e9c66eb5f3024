package e2e

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"maps"
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

	"github.com/ClickHouse/clickhouse-go/v2"
	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"

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
	// A paced load shows whether storage keeps up with a given rate (the
	// backlog stays bounded) and what freshness is at that rate.
	otlpBenchRate  = flag.Int("otlp.rate", 0, "BenchmarkOTLP: spans per second the exporters offer together (0: as fast as ingest acknowledges)")
	otlpBenchProbe = flag.Duration("otlp.probe", time.Second, "BenchmarkOTLP: interval of the freshness probe, a one-span trace sent while the load runs and timed until ClickHouse has it (0: off)")
	// The peer to beat on acceptance: Jaeger v2 with its memory store, fed
	// by the same loader just before AgentTrace (make bench-otlp-jaeger).
	otlpBenchJaeger = flag.String("otlp.jaeger", "", "BenchmarkOTLP: a Jaeger v2 binary; each shape's load is then also sent to it (memory store, OTLP/gRPC) and the ratio of accepted spans/s printed")
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

// throughput is one measurement: what the exporters got back (sent) and
// what became of it.
type throughput struct {
	sent
	shape        spanShape
	bytesPerSpan int
	queryable    time.Duration // first export sent -> every accepted span counted in ClickHouse
	drained      bool
	counted      int64 // spans counted in ClickHouse when the wait ended
	// The box's load averages (/proc/loadavg) when sending ended and when
	// the last span became queryable: the figures of a shared machine mean
	// little without them.
	loadSending, loadDrained string
	// backlog is the largest number of accepted spans not yet stored seen
	// while sending (sampled each second), backlogAtEnd the number when
	// sending ended: bounded under a paced load that storage keeps up with.
	backlog, backlogAtEnd int64
	// freshness holds the probes' delays from export to queryable, sorted;
	// probeExports how long their exports took (ingest's part of them).
	freshness, probeExports []time.Duration
	probesLost              int
	mapNsPerSpan            float64
	mapAllocsPerSpan        float64
	mapBytesAllocPerSpan    float64
	// jaeger is the same load sent to Jaeger (-otlp.jaeger), nil when not.
	jaeger *sent
}

// sent is what the exporters of one load got back.
type sent struct {
	accepted, rejected, failed int64
	// sending is from the first export sent to the last acknowledged.
	sending time.Duration
	// sample is a trace id of an export accepted whole ("" if none).
	sample string
}

func (s *sent) acceptedPerSec() float64 { return float64(s.accepted) / s.sending.Seconds() }

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
		if *otlpBenchJaeger != "" {
			b.Run("jaeger/"+shape.name, func(b *testing.B) { benchJaeger(b, req, r) })
		}
		if !b.Run("ingest/"+shape.name, func(b *testing.B) { benchIngest(b, stk, req, r) }) {
			// A backlog left behind would share the worker with the next
			// shape and make its figures meaningless.
			b.Logf("stopping after %s: its spans did not all become queryable; measure the next shape on its own (-otlp.shapes)", shape.name)
			break
		}
	}
	printThroughput(results)
	printJaeger(results)
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
	client := exporter(b, s.addr["ingest"].otlp)
	ctx := withKey(b.Context(), key)

	counter, err := newRowCounter(b, s)
	if err != nil {
		b.Fatal(err)
	}
	defer counter.Close()
	probes := startProbes(b, s, template)

	var accepted atomic.Int64
	sendersDone := make(chan struct{})
	var sampler sync.WaitGroup
	sampler.Go(func() { r.backlog = counter.maxBacklog(b, &accepted, sendersDone) })
	start := time.Now()
	out := sendLoad(b, ctx, client, template, r.shape, &accepted)
	close(sendersDone)
	sampler.Wait()
	r.sent = *out
	r.loadSending = loadAverage()
	if stored, err := counter.stored(b.Context()); err == nil {
		r.backlogAtEnd = max(0, r.accepted-stored)
	}
	r.freshness, r.probeExports, r.probesLost = probes.stop()
	if r.accepted == 0 {
		b.Fatalf("no span accepted in %s", *otlpBenchDuration)
	}

	counted, err := counter.wait(b, key.ProjectID, r.accepted)
	r.queryable, r.drained, r.counted = time.Since(start), err == nil, counted
	r.loadDrained = loadAverage()
	if err != nil {
		b.Errorf("%d of %d accepted spans queryable after %s: %v", counted, r.accepted, *otlpBenchDrain, err)
	}
	if r.sample != "" && r.drained {
		checkSampleTrace(b, s, key, r.sample, r.shape.spansPerTrace)
	}
	b.ReportMetric(r.acceptedPerSec(), "accepted_spans/s")
	b.ReportMetric(r.e2ePerSec(), "e2e_spans/s")
}

// exporter is the loader's OTLP/gRPC client of addr, compressing as
// -otlp.compression says; closed when b ends.
func exporter(b *testing.B, addr string) coltracepb.TraceServiceClient {
	opts := []grpc.DialOption{grpc.WithTransportCredentials(insecure.NewCredentials())}
	if *otlpBenchCompression == gzip.Name {
		opts = append(opts, grpc.WithDefaultCallOptions(grpc.UseCompressor(gzip.Name)))
	}
	conn, err := grpc.NewClient(addr, opts...)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = conn.Close() })
	return coltracepb.NewTraceServiceClient(conn)
}

// sendLoad sends copies of template with fresh ids through client from
// -otlp.senders exporters for -otlp.duration, adding the spans accepted to
// accepted as they are, and returns when the last export is answered.
// Under -otlp.rate each exporter sends one export every interval, the
// exporters spread evenly over it; one that falls behind sends at once
// until it has caught up.
func sendLoad(b *testing.B, ctx context.Context, client coltracepb.TraceServiceClient, template *coltracepb.ExportTraceServiceRequest, shape spanShape, accepted *atomic.Int64) *sent {
	var (
		rejected, failed atomic.Int64
		lastAck          atomic.Int64
		sample           atomic.Value // a trace id of an accepted export
		firstErr         sync.Once
		wg               sync.WaitGroup
	)
	start := time.Now()
	deadline := start.Add(*otlpBenchDuration)
	var interval time.Duration
	if *otlpBenchRate > 0 {
		interval = time.Duration(float64(time.Second) * float64(shape.perRequest**otlpBenchSenders) / float64(*otlpBenchRate))
	}
	for i := range *otlpBenchSenders {
		req := proto.CloneOf(template)
		wg.Go(func() {
			next := start.Add(time.Duration(i) * interval / time.Duration(*otlpBenchSenders))
			for time.Now().Before(deadline) {
				if interval > 0 {
					time.Sleep(time.Until(next))
					next = next.Add(interval)
				}
				remask(req)
				resp, err := client.Export(ctx, req)
				if err != nil {
					failed.Add(1)
					firstErr.Do(func() { b.Logf("export refused (counted, not retried): %v", err) })
					continue
				}
				n := int64(shape.perRequest) - resp.GetPartialSuccess().GetRejectedSpans()
				accepted.Add(n)
				rejected.Add(resp.GetPartialSuccess().GetRejectedSpans())
				lastAck.Store(int64(time.Since(start)))
				if n == int64(shape.perRequest) {
					sample.Store(hex.EncodeToString(req.GetResourceSpans()[0].GetScopeSpans()[0].GetSpans()[0].GetTraceId()))
				}
			}
		})
	}
	wg.Wait()
	out := &sent{accepted: accepted.Load(), rejected: rejected.Load(), failed: failed.Load(), sending: time.Duration(lastAck.Load())}
	out.sample, _ = sample.Load().(string)
	return out
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

// rowCounter follows what the stack's ClickHouse stores while the load
// runs. Its progress reads are cheap (the row counts of the active parts of
// the observations table, less what they held before the load): a count()
// over the project would read a column of every stored row, many times a
// second, and tax the ClickHouse under test. Those counts include the
// freshness probes' rows and redelivered duplicates not merged away yet;
// the final check counts the project's rows exactly.
type rowCounter struct {
	ch   driver.Conn
	db   string
	base int64
}

func newRowCounter(b *testing.B, s *stack) (*rowCounter, error) {
	ch, err := clickhousedb.Open(b.Context(), clickhousedb.Config{Addr: clickhouseServer, User: "default",
		DialTimeout: 5 * time.Second, MaxOpenConns: 2, QueryTimeout: 30 * time.Second}, s.iso.clickhouseDB)
	if err != nil {
		return nil, err
	}
	c := &rowCounter{ch: ch, db: s.iso.clickhouseDB}
	if c.base, err = c.stored(b.Context()); err != nil {
		_ = ch.Close()
		return nil, err
	}
	return c, nil
}

func (c *rowCounter) Close() error { return c.ch.Close() }

// stored is the rows stored since the counter was made.
func (c *rowCounter) stored(ctx context.Context) (int64, error) {
	var n uint64
	err := c.ch.QueryRow(ctx, "SELECT sum(rows) FROM system.parts WHERE database = ? AND table = ? AND active",
		c.db, chschema.ObservationTable.Name).Scan(&n)
	return int64(n) - c.base, err
}

// maxBacklog samples accepted minus stored each second until done is
// closed and returns the largest difference seen.
func (c *rowCounter) maxBacklog(b *testing.B, accepted *atomic.Int64, done <-chan struct{}) int64 {
	t := time.NewTicker(time.Second)
	defer t.Stop()
	var most int64
	for {
		select {
		case <-done:
			return most
		case <-t.C:
		}
		if n, err := c.stored(b.Context()); err == nil {
			most = max(most, accepted.Load()-n)
		}
	}
}

// wait returns once the project's observations number want (exactly,
// by count()) or -otlp.drain has passed, with the last count.
func (c *rowCounter) wait(b *testing.B, project string, want int64) (int64, error) {
	deadline := time.Now().Add(*otlpBenchDrain)
	var n uint64
	for {
		if stored, err := c.stored(b.Context()); err != nil {
			return int64(n), err
		} else if stored >= want {
			if err := c.ch.QueryRow(b.Context(), "SELECT count() FROM "+chschema.Observations+" WHERE project_id = ?", project).Scan(&n); err != nil {
				return int64(n), err
			}
			if int64(n) >= want {
				return int64(n), nil
			}
		}
		if time.Now().After(deadline) {
			return int64(n), fmt.Errorf("timed out")
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// probes measures freshness under the load: every -otlp.probe it sends
// one single-span trace to a project of its own and times it until
// ClickHouse returns it, from before the export to the first read that
// finds it. One poller looks for every probe in flight at once, so the
// probing costs ClickHouse the same however far behind it is.
type probes struct {
	stopSending context.CancelFunc
	wg          sync.WaitGroup
	mu          sync.Mutex
	inFlight    map[string]time.Time // trace id -> sent
	delays      []time.Duration
	exports     []time.Duration
	lost        int
	logf        func(format string, args ...any)
	failedReads sync.Once
}

// probeWait is how long a probe is looked for before it counts as lost;
// probePoll how often the probes in flight are looked for.
const (
	probeWait = 30 * time.Second
	probePoll = 20 * time.Millisecond
)

func startProbes(b *testing.B, s *stack, template *coltracepb.ExportTraceServiceRequest) *probes {
	p := &probes{stopSending: func() {}, inFlight: map[string]time.Time{}, logf: b.Logf}
	if *otlpBenchProbe <= 0 {
		return p
	}
	key := benchKey(b, s, "bench-probe")
	conn, err := grpc.NewClient(s.addr["ingest"].otlp, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		b.Fatal(err)
	}
	ch, err := clickhousedb.Open(b.Context(), clickhousedb.Config{Addr: clickhouseServer, User: "default",
		DialTimeout: 5 * time.Second, MaxOpenConns: 1, QueryTimeout: 5 * time.Second}, s.iso.clickhouseDB)
	if err != nil {
		b.Fatal(err)
	}
	// The probe is the template's first span made a root.
	probe := proto.CloneOf(&coltracepb.ExportTraceServiceRequest{ResourceSpans: template.GetResourceSpans()[:1]})
	rs := probe.GetResourceSpans()[0]
	rs.ScopeSpans = rs.GetScopeSpans()[:1]
	rs.ScopeSpans[0].Spans = rs.GetScopeSpans()[0].GetSpans()[:1]
	rs.ScopeSpans[0].Spans[0].ParentSpanId = nil

	ctx, cancel := context.WithCancel(withKey(b.Context(), key))
	p.stopSending = cancel
	client := coltracepb.NewTraceServiceClient(conn)
	sending := make(chan struct{})
	p.wg.Go(func() {
		defer close(sending)
		defer conn.Close()
		t := time.NewTicker(*otlpBenchProbe)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
			req := proto.CloneOf(probe)
			remask(req)
			id := hex.EncodeToString(req.GetResourceSpans()[0].GetScopeSpans()[0].GetSpans()[0].GetTraceId())
			sent := time.Now()
			if _, err := client.Export(ctx, req); err != nil {
				if ctx.Err() == nil {
					p.record(nil, 1)
				}
				continue
			}
			p.mu.Lock()
			p.inFlight[id] = sent
			p.exports = append(p.exports, time.Since(sent))
			p.mu.Unlock()
		}
	})
	p.wg.Go(func() {
		defer ch.Close()
		t := time.NewTicker(probePoll)
		defer t.Stop()
		for {
			select {
			case <-b.Context().Done():
				return
			case <-t.C:
			}
			if !p.poll(b.Context(), ch, key.ProjectID) {
				select {
				case <-sending:
					return // nothing in flight, and nothing more coming
				default:
				}
			}
		}
	})
	return p
}

// poll looks for the probes in flight once and reports whether any
// remain.
func (p *probes) poll(ctx context.Context, ch driver.Conn, project string) bool {
	p.mu.Lock()
	ids := slices.Collect(maps.Keys(p.inFlight))
	p.mu.Unlock()
	if len(ids) == 0 {
		return false
	}
	// Found or not, every probe is lost after probeWait: a read that
	// fails must not keep the poller (and the benchmark) waiting.
	now := time.Now()
	var found []time.Duration
	set := clickhouse.GroupSet{Value: make([]any, len(ids))}
	for i, id := range ids {
		set.Value[i] = id
	}
	rows, err := ch.Query(ctx, "SELECT DISTINCT trace_id FROM "+chschema.Observations+" WHERE project_id = ? AND trace_id IN ?", project, set)
	if err == nil {
		for rows.Next() {
			var id string
			if rows.Scan(&id) == nil {
				p.mu.Lock()
				found = append(found, now.Sub(p.inFlight[id]))
				delete(p.inFlight, id)
				p.mu.Unlock()
			}
		}
		err = errors.Join(rows.Err(), rows.Close())
	}
	if err != nil {
		p.failedReads.Do(func() { p.logf("freshness probe read failed (probes not found count as lost): %v", err) })
	}
	p.mu.Lock()
	lost := 0
	for id, sent := range p.inFlight {
		if now.Sub(sent) > probeWait {
			delete(p.inFlight, id)
			lost++
		}
	}
	remain := len(p.inFlight) > 0
	p.mu.Unlock()
	p.record(found, lost)
	return remain
}

func (p *probes) record(found []time.Duration, lost int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.delays = append(p.delays, found...)
	p.lost += lost
}

// stop ends the probing, waits for the probes in flight (found, or lost
// after probeWait) and returns the delays and the exports' durations,
// sorted, and how many probes were lost.
func (p *probes) stop() (delays, exports []time.Duration, lost int) {
	p.stopSending()
	p.wg.Wait()
	slices.Sort(p.delays)
	slices.Sort(p.exports)
	return p.delays, p.exports, p.lost
}

// quantile is the q-quantile (nearest rank) of sorted delays.
func quantile(sorted []time.Duration, q float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	return sorted[min(len(sorted)-1, int(q*float64(len(sorted))))]
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
		if r.rejected > 0 || r.failed > 0 {
			fmt.Fprintf(w, "%s: %d spans rejected, %d exports refused\t\t\t\t\t\t\t\t\t\t\t\t\n", shape.name, r.rejected, r.failed)
		}
	}
	w.Flush()

	fmt.Fprintf(os.Stdout, "\nBacklog and freshness (offered: %s; a probe trace every %s, timed from export to queryable)\n", offered(), *otlpBenchProbe)
	w = tabwriter.NewWriter(os.Stdout, 2, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(w, "shape\tmax backlog while sending\tbacklog when sending ended\tprobes found\tlost\tfreshness p50\tp95\tp99\tmax\tof which export p50\tp99\t")
	for _, shape := range spanShapes {
		r := results[shape.name]
		if r == nil || r.sending == 0 {
			continue
		}
		f, e := r.freshness, r.probeExports
		fmt.Fprintf(w, "%s\t%d\t%d\t%d\t%d\t%s\t%s\t%s\t%s\t%s\t%s\t\n", shape.name, r.backlog, r.backlogAtEnd, len(f), r.probesLost,
			round(quantile(f, 0.5)), round(quantile(f, 0.95)), round(quantile(f, 0.99)), round(quantile(f, 1)),
			round(quantile(e, 0.5)), round(quantile(e, 0.99)))
	}
	w.Flush()
}

// printJaeger sets AgentTrace's acceptance beside Jaeger's for the same
// load, when -otlp.jaeger was given.
func printJaeger(results map[string]*throughput) {
	if *otlpBenchJaeger == "" {
		return
	}
	fmt.Fprintf(os.Stdout, "\nAcceptance beside Jaeger v2 (memory store, batch processor; the same loader, %s each, Jaeger alone on the box, AgentTrace with its whole stack)\n", *otlpBenchDuration)
	w := tabwriter.NewWriter(os.Stdout, 2, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(w, "shape\tJaeger accepted spans/s\tAgentTrace accepted spans/s\tratio\t")
	for _, shape := range spanShapes {
		r := results[shape.name]
		if r == nil || r.jaeger == nil || r.jaeger.sending == 0 || r.sending == 0 {
			continue
		}
		fmt.Fprintf(w, "%s\t%.0f\t%.0f\t%.2f\t\n", shape.name, r.jaeger.acceptedPerSec(), r.acceptedPerSec(), r.acceptedPerSec()/r.jaeger.acceptedPerSec())
		if r.jaeger.rejected > 0 || r.jaeger.failed > 0 {
			fmt.Fprintf(w, "%s: Jaeger rejected %d spans, refused %d exports\t\t\t\t\n", shape.name, r.jaeger.rejected, r.jaeger.failed)
		}
	}
	w.Flush()
}

func offered() string {
	if *otlpBenchRate > 0 {
		return fmt.Sprintf("%d spans/s", *otlpBenchRate)
	}
	return "as fast as acknowledged"
}

func round(d time.Duration) time.Duration { return d.Round(time.Millisecond) }
