// Command benchread measures the reads of `make bench-scale` on the
// database that services/worker/internal/benchload filled. It runs the
// query service's own gRPC server (transport, domain and ClickHouse store,
// as cmd/query wires them) on a loopback port and calls it through a gRPC
// client; only authentication is left out: an interceptor names the bench
// project as the API key's project would. Each read is called once to warm
// up, then -runs times; the table gives p50 and p99 (nearest rank, so with
// 20 runs p99 is the slowest) and the rows of the last answer, with the
// machine's load average (uptime) before and after, since the box may be
// shared.
package main

import (
	"cmp"
	"context"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"runtime/pprof"
	"slices"
	"strings"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/agenttrace/agenttrace/pkg/authn"
	"github.com/agenttrace/agenttrace/pkg/authz"
	"github.com/agenttrace/agenttrace/pkg/clickhousedb"
	commonv1 "github.com/agenttrace/agenttrace/pkg/gen/agenttrace/common/v1"
	queryv1 "github.com/agenttrace/agenttrace/pkg/gen/agenttrace/query/v1"
	"github.com/agenttrace/agenttrace/services/query/internal/chstore"
	"github.com/agenttrace/agenttrace/services/query/internal/query"
	"github.com/agenttrace/agenttrace/services/query/internal/transport"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "benchread:", err)
		os.Exit(1)
	}
}

type bench struct {
	c    queryv1.QueryServiceClient
	runs int
	only string
}

func run() error {
	var addr, db, project, cpuProfile string
	var observations int
	b := &bench{}
	flag.StringVar(&addr, "clickhouse", envOr("AGENTTRACE_CLICKHOUSE_ADDR", "127.0.0.1:9000"), "ClickHouse native address")
	flag.IntVar(&observations, "observations", 10_000_000, "size of the load, naming its database when -db is empty")
	flag.StringVar(&db, "db", "", "database (empty: agenttrace_bench_<size>, as benchload names it)")
	flag.StringVar(&project, "project", "bench-project", "project of the load")
	flag.IntVar(&b.runs, "runs", 20, "warm runs per read")
	flag.StringVar(&b.only, "only", "", "measure only the reads whose label contains this")
	flag.StringVar(&cpuProfile, "cpuprofile", "", "write a CPU profile of the whole run (server and client) to this file")
	flag.Parse()
	if cpuProfile != "" {
		f, err := os.Create(cpuProfile)
		if err != nil {
			return err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
		defer pprof.StopCPUProfile()
	}
	if db == "" {
		db = defaultDB(observations)
	}
	ctx := context.Background()
	conn, err := clickhousedb.Open(ctx, clickhousedb.Config{Addr: addr, Database: db, User: "default",
		MaxOpenConns: 16, DialTimeout: 5 * time.Second, QueryTimeout: 60 * time.Second}, "")
	if err != nil {
		return err
	}
	defer conn.Close()

	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	principal := authz.Principal{Kind: authz.KindAPIKey, ProjectID: project}
	srv := grpc.NewServer(grpc.UnaryInterceptor(func(ctx context.Context, req any, _ *grpc.UnaryServerInfo, h grpc.UnaryHandler) (any, error) {
		return h(authn.WithPrincipal(ctx, principal), req)
	}))
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	queryv1.RegisterQueryServiceServer(srv, transport.New(query.New(chstore.New(conn)), log))
	go func() { _ = srv.Serve(lis) }()
	defer srv.Stop()
	cc, err := grpc.NewClient(lis.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithDefaultCallOptions(grpc.MaxCallRecvMsgSize(512<<20)))
	if err != nil {
		return err
	}
	defer cc.Close()
	b.c = queryv1.NewQueryServiceClient(cc)

	fmt.Printf("bench-scale reads on %s (%d warm runs each, after one warm-up)\n", db, b.runs)
	fmt.Printf("load before: %s\n", uptime())
	if err := b.all(ctx); err != nil {
		return err
	}
	fmt.Printf("load after:  %s\n", uptime())
	return nil
}

// all measures every read, discovering the ids and values it filters on
// from the answers of the API itself.
func (b *bench) all(ctx context.Context) error {
	first, err := b.c.ListTraces(ctx, &queryv1.ListTracesRequest{})
	if err != nil {
		return fmt.Errorf("list traces: %w", err)
	}
	if len(first.GetTraces()) == 0 {
		return fmt.Errorf("no traces in the database: run benchload first")
	}
	// The newest trace that has a session and tags is the sample the
	// filters take their values from.
	sample := first.GetTraces()[0]
	for _, t := range first.GetTraces() {
		if t.GetSessionId() != "" && len(t.GetTags()) > 0 {
			sample = t
			break
		}
	}
	newest := sample.GetTimestamp().AsTime()
	fmt.Printf("sample trace %s (name %s, session %s, tags %v, environment %s, release %s)\n\n", sample.GetId(),
		sample.GetName(), sample.GetSessionId(), sample.GetTags(), sample.GetEnvironment(), sample.GetRelease())
	fmt.Printf("%-48s %10s %10s %8s\n", "read", "p50 ms", "p99 ms", "rows")

	getTraceIn := func(id string, view queryv1.ObservationView) func() (int, error) {
		return func() (int, error) {
			n, token := 0, ""
			for {
				r, err := b.c.GetTrace(ctx, &queryv1.GetTraceRequest{TraceId: id, ObservationsPageSize: 10_000, ObservationsPageToken: token, ObservationView: view})
				if err != nil {
					return 0, err
				}
				n += countNodes(r.GetObservations())
				if token = r.GetNextObservationsPageToken(); token == "" {
					return n, nil
				}
			}
		}
	}
	getTrace := func(id string) func() (int, error) {
		return getTraceIn(id, queryv1.ObservationView_OBSERVATION_VIEW_FULL)
	}
	b.measure("GetTrace small (newest)", getTrace(sample.GetId()))
	b.measure("GetTrace bench-trace-1k", getTrace("bench-trace-1k"))
	b.measure("GetTrace bench-trace-20k (whole, 2 pages)", getTrace("bench-trace-20k"))
	b.measure("GetTrace bench-trace-20k (basic view, 2 pages)", getTraceIn("bench-trace-20k", queryv1.ObservationView_OBSERVATION_VIEW_BASIC))

	// A day ending at the newest trace: the time window and the search.
	day := func(r *queryv1.ListTracesRequest) {
		r.FromTime, r.ToTime = timestamppb.New(newest.Add(-24*time.Hour)), timestamppb.New(newest.Add(time.Second))
	}
	traceFilters := []struct {
		label string
		set   func(*queryv1.ListTracesRequest)
	}{
		{"unfiltered", func(*queryv1.ListTracesRequest) {}},
		{"name=" + sample.GetName(), func(r *queryv1.ListTracesRequest) { r.Name = sample.GetName() }},
		{"user=user-000000", func(r *queryv1.ListTracesRequest) { r.UserId = "user-000000" }},
		{"session=" + sample.GetSessionId(), func(r *queryv1.ListTracesRequest) { r.SessionId = sample.GetSessionId() }},
		{"tags=" + sample.GetTags()[0], func(r *queryv1.ListTracesRequest) { r.Tags = sample.GetTags()[:1] }},
		{"environment=" + sample.GetEnvironment(), func(r *queryv1.ListTracesRequest) { r.Environment = sample.GetEnvironment() }},
		{"release=" + sample.GetRelease(), func(r *queryv1.ListTracesRequest) { r.Release = sample.GetRelease() }},
		{"time window (1 day)", day},
	}
	for _, f := range traceFilters {
		b.pages("ListTraces "+f.label, func(token string) (int, string, error) {
			req := &queryv1.ListTracesRequest{PageToken: token}
			f.set(req)
			r, err := b.c.ListTraces(ctx, req)
			return len(r.GetTraces()), r.GetNextPageToken(), err
		})
	}
	b.measure("ListTraces search \"citations\" over 1 day", func() (int, error) {
		req := &queryv1.ListTracesRequest{Search: "citations"}
		day(req)
		r, err := b.c.ListTraces(ctx, req)
		return len(r.GetTraces()), err
	})
	// A common text fills its page from the newest rows; one found
	// nowhere reads the whole day.
	for _, text := range []string{"citations", "no such text"} {
		b.measure(fmt.Sprintf("ListObservations search %q over 1 day", text), func() (int, error) {
			r, err := b.c.ListObservations(ctx, &queryv1.ListObservationsRequest{Search: text,
				FromTime: timestamppb.New(newest.Add(-24 * time.Hour)), ToTime: timestamppb.New(newest.Add(time.Second))})
			return len(r.GetObservations()), err
		})
	}

	obsFilters := []struct {
		label string
		set   func(*queryv1.ListObservationsRequest)
	}{
		{"unfiltered", func(*queryv1.ListObservationsRequest) {}},
		{"model=gpt-4o-mini", func(r *queryv1.ListObservationsRequest) { r.Model = "gpt-4o-mini" }},
		{"type=TOOL", func(r *queryv1.ListObservationsRequest) { r.Type = commonv1.ObservationType_OBSERVATION_TYPE_TOOL }},
		{"level=ERROR", func(r *queryv1.ListObservationsRequest) { r.Level = commonv1.ObservationLevel_OBSERVATION_LEVEL_ERROR }},
		{"name=web-search", func(r *queryv1.ListObservationsRequest) { r.Name = "web-search" }},
	}
	for _, f := range obsFilters {
		b.pages("ListObservations "+f.label, func(token string) (int, string, error) {
			req := &queryv1.ListObservationsRequest{PageToken: token}
			f.set(req)
			r, err := b.c.ListObservations(ctx, req)
			return len(r.GetObservations()), r.GetNextPageToken(), err
		})
	}

	b.pages("ListSessions", func(token string) (int, string, error) {
		r, err := b.c.ListSessions(ctx, &queryv1.ListSessionsRequest{PageToken: token})
		return len(r.GetSessions()), r.GetNextPageToken(), err
	})
	b.pages("ListSessions user=user-000000", func(token string) (int, string, error) {
		r, err := b.c.ListSessions(ctx, &queryv1.ListSessionsRequest{UserId: "user-000000", PageToken: token})
		return len(r.GetSessions()), r.GetNextPageToken(), err
	})
	b.measure("GetSession "+sample.GetSessionId(), func() (int, error) {
		r, err := b.c.GetSession(ctx, &queryv1.GetSessionRequest{SessionId: sample.GetSessionId()})
		return len(r.GetTraces()), err
	})

	// The metrics API over the 30 days that end at the newest trace.
	month := func(q *queryv1.MetricsQuery) *queryv1.QueryMetricsRequest {
		q.FromTimestamp = timestamppb.New(newest.Add(-30 * 24 * time.Hour))
		q.ToTimestamp = timestamppb.New(newest.Add(time.Second))
		return &queryv1.QueryMetricsRequest{Query: q}
	}
	metric := func(measure, aggregation string) *queryv1.MetricsMetric {
		return &queryv1.MetricsMetric{Measure: measure, Aggregation: aggregation}
	}
	for _, m := range []struct {
		label string
		req   *queryv1.QueryMetricsRequest
	}{
		{"QueryMetrics cost by model per day, 30 days", month(&queryv1.MetricsQuery{View: "observations",
			Dimensions: []*queryv1.MetricsDimension{{Field: "model"}}, Metrics: []*queryv1.MetricsMetric{metric("totalCost", "sum")},
			TimeDimension: &queryv1.MetricsTimeDimension{Granularity: "day"}})},
		{"QueryMetrics p95 latency by release, 30 days", month(&queryv1.MetricsQuery{View: "observations",
			Dimensions: []*queryv1.MetricsDimension{{Field: "release"}}, Metrics: []*queryv1.MetricsMetric{metric("latency", "p95")}})},
		{"QueryMetrics error rate by environment, 30 days", month(&queryv1.MetricsQuery{View: "observations",
			Dimensions: []*queryv1.MetricsDimension{{Field: "environment"}}, Metrics: []*queryv1.MetricsMetric{metric("errors", "avg")}})},
	} {
		b.measure(m.label, func() (int, error) {
			r, err := b.c.QueryMetrics(ctx, m.req)
			return len(r.GetData()), err
		})
	}
	return nil
}

// pages measures the first page and page 10 of a list (page 10 reached
// by following the tokens once; its token is reused by every run).
func (b *bench) pages(label string, page func(token string) (int, string, error)) {
	b.measure(label+" (page 1)", func() (int, error) { n, _, err := page(""); return n, err })
	if !b.selected(label + " (page 10)") {
		return
	}
	token := ""
	for i := 1; i < 10; i++ {
		_, next, err := page(token)
		if err != nil {
			b.report(label+" (page 10)", nil, 0, err)
			return
		}
		if next == "" {
			fmt.Printf("%-48s %10s %10s %8s\n", label+" (page 10)", "-", "-", fmt.Sprintf("%d pages", i))
			return
		}
		token = next
	}
	b.measure(label+" (page 10)", func() (int, error) { n, _, err := page(token); return n, err })
}

func (b *bench) selected(label string) bool { return b.only == "" || strings.Contains(label, b.only) }

// measure calls read once to warm up, then b.runs times.
func (b *bench) measure(label string, read func() (int, error)) {
	if !b.selected(label) {
		return
	}
	if _, err := read(); err != nil {
		b.report(label, nil, 0, err)
		return
	}
	times := make([]time.Duration, 0, b.runs)
	n := 0
	for range b.runs {
		start := time.Now()
		rows, err := read()
		if err != nil {
			b.report(label, nil, 0, err)
			return
		}
		times = append(times, time.Since(start))
		n = rows
	}
	b.report(label, times, n, nil)
}

func (b *bench) report(label string, times []time.Duration, rows int, err error) {
	if err != nil {
		fmt.Printf("%-48s error: %v\n", label, err)
		return
	}
	slices.SortFunc(times, cmp.Compare)
	fmt.Printf("%-48s %10.1f %10.1f %8d\n", label, ms(percentile(times, 50)), ms(percentile(times, 99)), rows)
}

// percentile is the nearest-rank percentile of sorted durations.
func percentile(sorted []time.Duration, p int) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	rank := (p*len(sorted) + 99) / 100 // ceil(p/100 * n)
	return sorted[max(rank, 1)-1]
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

func countNodes(nodes []*queryv1.ObservationNode) int {
	n := 0
	for _, o := range nodes {
		n += 1 + countNodes(o.GetChildren())
	}
	return n
}

func uptime() string {
	out, err := exec.Command("uptime").Output()
	if err != nil {
		return "uptime: " + err.Error()
	}
	return strings.TrimSpace(string(out))
}

func defaultDB(n int) string {
	switch {
	case n%1_000_000 == 0:
		return fmt.Sprintf("agenttrace_bench_%dm", n/1_000_000)
	case n%1000 == 0:
		return fmt.Sprintf("agenttrace_bench_%dk", n/1000)
	}
	return fmt.Sprintf("agenttrace_bench_%d", n)
}

func envOr(key, def string) string {
	if v := os.Getenv(key); v != "" {
		return v
	}
	return def
}
