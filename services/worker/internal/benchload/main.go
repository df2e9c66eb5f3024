// Command benchload fills a ClickHouse database of its own with a realistic
// agent workload for `make bench-scale` (services/query/internal/benchread
// then measures the reads). Rows go through the worker's own writer
// (chstore.Writer over the migrated schema, one explicit-column batch insert
// per table per batch), so what is stored, and what a writer maintains
// beside the rows, is what production stores. NATS and the consumer are left
// out: they decide how fast rows arrive, not what the reads find.
//
// The workload is deterministic (one seeded generator per trace): traces over
// -days ending at the load's first midnight, each in a session (95%: a
// conversation, its traces within two hours of its start) whose user is
// skewed (user-000000 holds a few thousand traces), names, tags,
// environments and a release per period; observations are a tree of spans,
// generations (written as a create and a later update, as SDKs do), tool
// calls, retrievals and events, a share of the generations carrying ~2 KB of
// prompt and completion; half of the traces get a later output update, a
// fifth a score. Two traces are large: bench-trace-1k and bench-trace-20k.
//
// A database that already holds a complete load of the same parameters is
// left as it is (reruns are cheap); any other is dropped and filled again.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"hash/fnv"
	"log/slog"
	"math/rand/v2"
	"os"
	"os/signal"
	"slices"
	"strings"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
	"github.com/prometheus/client_golang/prometheus"
	"golang.org/x/sync/errgroup"

	"github.com/agenttrace/agenttrace/pkg/chschema"
	"github.com/agenttrace/agenttrace/pkg/clickhousedb"
	commonv1 "github.com/agenttrace/agenttrace/pkg/gen/agenttrace/common/v1"
	"github.com/agenttrace/agenttrace/services/worker/internal/chmigrate"
	"github.com/agenttrace/agenttrace/services/worker/internal/chstore"
	"github.com/agenttrace/agenttrace/services/worker/internal/eventrows"
	"github.com/agenttrace/agenttrace/services/worker/internal/rollup"
)

// Params are the workload's sizes; a load is reused only for equal Params.
type Params struct {
	Observations int     `json:"observations"`
	Traces       int     `json:"traces"`
	Days         int     `json:"days"`
	Sessions     int     `json:"sessions"`
	Users        int     `json:"users"`
	LLMShare     float64 `json:"llm_share"`
	Project      string  `json:"project"`
	Generator    int     `json:"generator"` // bumped when the workload's shape changes
}

// generatorVersion changes whenever the generated rows change.
const generatorVersion = 2

// Big traces, by id and observation count.
var bigTraces = []struct {
	id string
	n  int
}{{"bench-trace-1k", 1000}, {"bench-trace-20k", 20_000}}

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "benchload:", err)
		os.Exit(1)
	}
}

func run() error {
	var p Params
	var addr, db string
	var batchTraces, writers int
	flag.IntVar(&p.Observations, "observations", 10_000_000, "observations to store")
	flag.IntVar(&p.Traces, "traces", 0, "traces to store (0: observations/10)")
	flag.IntVar(&p.Days, "days", 30, "days the traces spread over, ending at the load's midnight (UTC)")
	flag.IntVar(&p.Sessions, "sessions", 0, "sessions (0: traces/10)")
	flag.IntVar(&p.Users, "users", 0, "users (0: traces/10)")
	flag.Float64Var(&p.LLMShare, "llm-share", 0.2, "share of generations with ~2 KB of prompt and completion")
	flag.StringVar(&p.Project, "project", "bench-project", "project id of every row")
	flag.StringVar(&addr, "clickhouse", envOr("AGENTTRACE_CLICKHOUSE_ADDR", "127.0.0.1:9000"), "ClickHouse native address")
	flag.StringVar(&db, "db", "", "database (0: agenttrace_bench_<size>, e.g. agenttrace_bench_10m); dropped and refilled unless it holds this load")
	flag.IntVar(&batchTraces, "batch-traces", 2000, "traces per insert batch")
	flag.IntVar(&writers, "writers", 2, "concurrent batch inserts")
	flag.Parse()
	if p.Traces == 0 {
		p.Traces = max(p.Observations/10, 10)
	}
	if p.Sessions == 0 {
		p.Sessions = max(p.Traces/10, 1)
	}
	if p.Users == 0 {
		p.Users = max(p.Traces/10, 1)
	}
	p.Generator = generatorVersion
	if db == "" {
		db = DefaultDB(p.Observations)
	}
	if !strings.Contains(db, "bench") {
		return fmt.Errorf("database %q: a benchmark database's name must contain \"bench\" (it is dropped and refilled)", db)
	}
	big := 0
	for _, b := range bigTraces {
		big += b.n
	}
	if p.Traces <= len(bigTraces) || p.Observations < big+p.Traces {
		return fmt.Errorf("need more than %d traces and at least %d observations (big traces plus one per trace)", len(bigTraces), big+p.Traces)
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	cfg := clickhousedb.Config{Addr: addr, Database: db, User: "default", MaxOpenConns: 8,
		DialTimeout: 5 * time.Second, QueryTimeout: 10 * time.Minute}
	want, _ := json.Marshal(p)

	conn, err := clickhousedb.Open(ctx, cfg, "default")
	if err != nil {
		return err
	}
	defer conn.Close()
	if held, err := loaded(ctx, conn, db); err != nil {
		return err
	} else if held == string(want) {
		fmt.Printf("benchload: %s already holds %s; not loading again\n", db, want)
		if err := migrate(ctx, cfg); err != nil { // a newer build may bring migrations
			return err
		}
		return rollUp(ctx, cfg)
	}
	fmt.Printf("benchload: filling %s with %s\n", db, want)
	if err := conn.Exec(ctx, "DROP DATABASE IF EXISTS "+chmigrate.QuoteIdent(db)); err != nil {
		return fmt.Errorf("drop %s: %w", db, err)
	}
	if err := migrate(ctx, cfg); err != nil {
		return err
	}
	dbConn, err := clickhousedb.Open(ctx, cfg, "")
	if err != nil {
		return err
	}
	defer dbConn.Close()
	w := chstore.NewWriter(dbConn, chstore.NewMetrics(prometheus.NewRegistry()))

	start := time.Now()
	anchor := start.UTC().Truncate(24 * time.Hour)
	g := newGenerator(p, anchor)
	jobs := make(chan [2]int)
	eg, ectx := errgroup.WithContext(ctx)
	eg.Go(func() error {
		defer close(jobs)
		for lo := 0; lo < p.Traces; lo += batchTraces {
			select {
			case jobs <- [2]int{lo, min(lo+batchTraces, p.Traces)}:
			case <-ectx.Done():
				return ectx.Err()
			}
		}
		return nil
	})
	var rows [3]int64
	progress := make(chan [3]int, writers)
	for range writers {
		eg.Go(func() error {
			for j := range jobs {
				var b eventrows.Batch
				for i := j[0]; i < j[1]; i++ {
					g.trace(i, &b)
				}
				if err := w.Write(ectx, b); err != nil {
					return err
				}
				progress <- [3]int{len(b.Traces), len(b.Observations), len(b.Scores)}
			}
			return nil
		})
	}
	done := make(chan error, 1)
	go func() { done <- eg.Wait(); close(progress) }()
	last := time.Now()
	for n := range progress {
		for i := range rows {
			rows[i] += int64(n[i])
		}
		if time.Since(last) > 10*time.Second {
			last = time.Now()
			fmt.Printf("benchload: %d trace, %d observation, %d score rows in %s\n", rows[0], rows[1], rows[2], time.Since(start).Round(time.Second))
		}
	}
	if err := <-done; err != nil {
		return err
	}
	el := time.Since(start)
	fmt.Printf("benchload: stored %d trace, %d observation, %d score rows (%d observations in %d traces) in %s: %.0f rows/s\n",
		rows[0], rows[1], rows[2], p.Observations, p.Traces, el.Round(time.Second), float64(rows[0]+rows[1]+rows[2])/el.Seconds())
	// Recorded last: an interrupted load is never taken for a complete one.
	if err := dbConn.Exec(ctx, "CREATE TABLE bench_load (params String) ENGINE = TinyLog"); err != nil {
		return fmt.Errorf("record the load: %w", err)
	}
	batch, err := dbConn.PrepareBatch(ctx, "INSERT INTO bench_load (params)")
	if err != nil {
		return fmt.Errorf("record the load: %w", err)
	}
	if err := batch.Append(string(want)); err != nil {
		return fmt.Errorf("record the load: %w", err)
	}
	if err := batch.Send(); err != nil {
		return fmt.Errorf("record the load: %w", err)
	}
	return rollUp(ctx, cfg)
}

// rollUp runs the worker's metrics rollup job once, as a worker would
// have while the rows arrived: every closed hour is rolled up (a first run
// rolls up all of them; later ones only what changed).
func rollUp(ctx context.Context, cfg clickhousedb.Config) error {
	conn, err := clickhousedb.Open(ctx, cfg, "")
	if err != nil {
		return err
	}
	defer conn.Close()
	start := time.Now()
	rep, err := rollup.New(conn, rollup.Config{Interval: time.Minute, Settle: 2 * time.Minute}, nil, slog.New(slog.DiscardHandler)).RunOnce(ctx)
	if err != nil {
		return fmt.Errorf("metrics rollup: %w", err)
	}
	fmt.Printf("benchload: metrics rollup of %d hours in %s\n", rep.Hours, time.Since(start).Round(time.Millisecond))
	return nil
}

// DefaultDB names the database of a load of n observations.
func DefaultDB(n int) string {
	switch {
	case n%1_000_000 == 0:
		return fmt.Sprintf("agenttrace_bench_%dm", n/1_000_000)
	case n%1000 == 0:
		return fmt.Sprintf("agenttrace_bench_%dk", n/1000)
	}
	return fmt.Sprintf("agenttrace_bench_%d", n)
}

// loaded returns the parameters of the complete load db holds, "" if none.
func loaded(ctx context.Context, conn driver.Conn, db string) (string, error) {
	var n uint64
	if err := conn.QueryRow(ctx, "SELECT count() FROM system.tables WHERE database = ? AND name = 'bench_load'", db).Scan(&n); err != nil {
		return "", fmt.Errorf("look for an earlier load: %w", err)
	}
	if n == 0 {
		return "", nil
	}
	var params string
	if err := conn.QueryRow(ctx, "SELECT any(params) FROM "+chmigrate.QuoteIdent(db)+".bench_load").Scan(&params); err != nil {
		return "", fmt.Errorf("read the earlier load: %w", err)
	}
	return params, nil
}

func migrate(ctx context.Context, cfg clickhousedb.Config) error {
	m, err := chmigrate.Open(ctx, cfg)
	if err != nil {
		return err
	}
	defer m.Close()
	return m.Up()
}

func envOr(key, def string) string {
	if v := os.Getenv(key); v != "" {
		return v
	}
	return def
}

// generator builds the rows of trace i; it is safe for concurrent use.
type generator struct {
	p      Params
	anchor time.Time // end of the period
	small  int       // traces that are not big
	rest   int       // observations of the small traces
	words  []string
}

func newGenerator(p Params, anchor time.Time) *generator {
	small := p.Traces - len(bigTraces)
	rest := p.Observations
	for _, b := range bigTraces {
		rest -= b.n
	}
	return &generator{p: p, anchor: anchor, small: small, rest: rest, words: strings.Fields(lorem)}
}

var (
	traceNames = []string{"agent-run", "chat", "rag-query", "summarize", "classify", "extract", "plan-and-execute",
		"code-review", "support-reply", "translate", "search", "eval-run"}
	obsNames = []string{"llm-call", "retrieve-docs", "rerank", "web-search", "sql-tool", "parse-output", "plan",
		"reflect", "embed-query", "guardrail", "format-answer", "call-api"}
	models   = []string{"gpt-4o", "gpt-4o-mini", "claude-sonnet-4", "claude-haiku-4", "llama-3.1-70b", "mistral-large"}
	tagSet   = []string{"rag", "tools", "beta", "eval", "customer-a", "customer-b", "long-context", "streaming"}
	envs     = []string{"production", "production", "production", "production", "production", "production", "production", "staging", "staging", "development"}
	releases = 12
)

const lorem = `the agent reads the user question then plans which tools to call and in what order it retrieves
documents from the vector store ranks them by relevance and drafts an answer that cites its sources when the
answer is not grounded it asks a clarifying question or calls the search tool again with a refined query the
model returns a structured object with fields for the answer the confidence and the list of citations which the
application validates against the schema before it shows the result to the user who may rate the answer`

func (g *generator) rng(i int) *rand.Rand {
	return rand.New(rand.NewPCG(uint64(i), 0x9e3779b97f4a7c15))
}

// sessionSpan is how long a session's traces go on after its start.
const sessionSpan = 2 * time.Hour

// sessionStart is when session s starts: anywhere in the period that leaves
// it its span before the anchor.
func (g *generator) sessionStart(s int) time.Time {
	period := time.Duration(g.p.Days)*24*time.Hour - sessionSpan
	r := rand.New(rand.NewPCG(uint64(s), 0x5e55107))
	return g.anchor.Add(-period - sessionSpan + time.Duration(r.Int64N(int64(period))))
}

// obsCount splits the small traces' observations exactly: pairs of traces
// share twice the mean, unevenly.
func (g *generator) obsCount(i int) int {
	mean, extra := g.rest/g.small, g.rest%g.small
	n := mean
	if i < extra {
		n++
	}
	if i^1 < g.small && mean > 1 {
		d := int(hash64(uint64(i/2)) % uint64(mean))
		if i%2 == 0 {
			n += d
		} else {
			n -= d
		}
	}
	return max(n, 1)
}

func hash64(v uint64) uint64 {
	h := fnv.New64a()
	var b [8]byte
	for i := range b {
		b[i] = byte(v >> (8 * i))
	}
	h.Write(b[:])
	return h.Sum64()
}

func hexID(kind string, i int) string {
	return fmt.Sprintf("%016x%016x", hash64(uint64(i)*7919+uint64(len(kind))), hash64(uint64(i)))
}

// userOf is the user of session s, skewed so that a few users hold many
// sessions: user k has about sqrt(k+1)-sqrt(k) of them.
func (g *generator) userOf(s int) string {
	u := float64(hash64(uint64(s)+1_000_003)%1_000_000) / 1_000_000
	return fmt.Sprintf("user-%06d", int(float64(g.p.Users)*u*u))
}

func (g *generator) text(r *rand.Rand, size int) string {
	var b strings.Builder
	for b.Len() < size {
		b.WriteString(g.words[r.IntN(len(g.words))])
		b.WriteByte(' ')
	}
	return b.String()
}

func jsonText(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

var (
	level = func(v commonv1.ObservationLevel) string { s, _ := chschema.EnumName(v); return s }
	typ   = func(v commonv1.ObservationType) string { s, _ := chschema.EnumName(v); return s }
	// Scores' stored enum names.
	numeric, _ = chschema.EnumName(commonv1.ScoreDataType_SCORE_DATA_TYPE_NUMERIC)
	eval, _    = chschema.EnumName(commonv1.ScoreSource_SCORE_SOURCE_EVAL)
)

// trace appends the rows of trace i to b.
func (g *generator) trace(i int, b *eventrows.Batch) {
	r := g.rng(i)
	p := g.p
	period := time.Duration(p.Days) * 24 * time.Hour
	id, n := "", 0
	var ts time.Time
	session, user := "", ""
	s := -1
	if r.Float64() < 0.95 {
		s = r.IntN(p.Sessions)
		session, user = fmt.Sprintf("sess-%07d", s), g.userOf(s)
	} else {
		user = g.userOf(p.Sessions + i)
	}
	switch {
	case i < len(bigTraces):
		id, n = bigTraces[i].id, bigTraces[i].n
		ts = g.anchor.Add(-time.Duration(i+1) * 24 * time.Hour).Add(3 * time.Hour)
	case s >= 0:
		// A session is a conversation: its traces fall within its hours.
		id, n = hexID("trace", i), g.obsCount(i-len(bigTraces))
		ts = g.sessionStart(s).Add(time.Duration(r.Int64N(int64(sessionSpan))))
	default:
		id, n = hexID("trace", i), g.obsCount(i-len(bigTraces))
		ts = g.anchor.Add(-period + time.Duration(r.Int64N(int64(period))))
	}
	start := uint64(ts.UnixNano())
	var tags []string
	for range r.IntN(3) {
		if t := tagSet[r.IntN(len(tagSet))]; !slices.Contains(tags, t) {
			tags = append(tags, t)
		}
	}
	env := envs[r.IntN(len(envs))]
	release := fmt.Sprintf("2026.%02d", 1+int(ts.Sub(g.anchor.Add(-period))*time.Duration(releases)/period)%releases)
	name := traceNames[r.IntN(len(traceNames))]
	pid := p.Project
	b.Traces = append(b.Traces, chschema.Trace{
		ProjectID: pid, ID: id, Timestamp: start, Name: name, UserID: user, SessionID: session,
		Tags: nonNil(tags), MetadataKeys: []string{"tenant", "channel"}, MetadataValues: []string{fmt.Sprint("tenant-", r.IntN(50)), "api"},
		Input:   jsonText(map[string]string{"question": g.text(r, 120)}),
		Release: release, Version: "v3", Environment: env, EventID: id + "-c", EventTS: start,
	})
	var end uint64
	obsIDs := make([]string, 0, n)
	for j := range n {
		oid := fmt.Sprintf("%s-%05d", id[:min(len(id), 16)], j)
		obsIDs = append(obsIDs, oid)
		parent := ""
		kind := commonv1.ObservationType_OBSERVATION_TYPE_AGENT
		if j > 0 {
			parent = obsIDs[r.IntN(min(j, 8))]
			switch x := r.IntN(100); {
			case x < 30:
				kind = commonv1.ObservationType_OBSERVATION_TYPE_GENERATION
			case x < 65:
				kind = commonv1.ObservationType_OBSERVATION_TYPE_SPAN
			case x < 85:
				kind = commonv1.ObservationType_OBSERVATION_TYPE_TOOL
			case x < 95:
				kind = commonv1.ObservationType_OBSERVATION_TYPE_EVENT
			default:
				kind = commonv1.ObservationType_OBSERVATION_TYPE_RETRIEVER
			}
		}
		st := start + uint64(j)*uint64(150*time.Millisecond) + uint64(r.IntN(100))*uint64(time.Millisecond)
		et := st + uint64(50+r.IntN(3000))*uint64(time.Millisecond)
		end = max(end, et)
		lvl := commonv1.ObservationLevel_OBSERVATION_LEVEL_DEFAULT
		status := ""
		switch x := r.IntN(100); {
		case x < 2:
			lvl, status = commonv1.ObservationLevel_OBSERVATION_LEVEL_ERROR, "upstream returned 500"
		case x < 5:
			lvl, status = commonv1.ObservationLevel_OBSERVATION_LEVEL_WARNING, "retried once"
		}
		o := chschema.Observation{
			ProjectID: pid, TraceID: id, ID: oid, ParentObservationID: parent, Type: typ(kind),
			Name: obsNames[r.IntN(len(obsNames))], StartTime: st, Level: level(lvl), StatusMessage: status,
			ModelParametersKeys: []string{}, ModelParametersValues: []string{}, UsageDetailsKeys: []string{}, UsageDetailsValues: []int64{},
			MetadataKeys: []string{}, MetadataValues: []string{}, Version: "v3", Environment: env,
			EventID: oid + "-c", EventTS: st,
		}
		if kind != commonv1.ObservationType_OBSERVATION_TYPE_GENERATION {
			o.EndTime = et
			o.Input = jsonText(map[string]string{"args": g.text(r, 60)})
			o.Output = jsonText(map[string]string{"result": g.text(r, 60)})
			b.Observations = append(b.Observations, o)
			continue
		}
		// A generation: the create names the model and the prompt, the
		// update (when the completion is done) the rest.
		size := 80
		if r.Float64() < p.LLMShare {
			size = 1000
		}
		o.Name = "llm-call"
		o.Model = models[r.IntN(len(models))]
		o.ModelParametersKeys, o.ModelParametersValues = []string{"temperature", "max_tokens"}, []string{"0.2", "1024"}
		o.Input = jsonText([]map[string]string{{"role": "system", "content": "You are a careful assistant."}, {"role": "user", "content": g.text(r, size)}})
		b.Observations = append(b.Observations, o)
		in, out := int64(200+r.IntN(4000)), int64(50+r.IntN(800))
		b.Observations = append(b.Observations, chschema.Observation{
			ProjectID: pid, TraceID: id, ID: oid, EndTime: et, CompletionStartTime: st + (et-st)/4,
			UsageInput: &in, UsageOutput: &out, UsageDetailsKeys: []string{"cached_input"}, UsageDetailsValues: []int64{in / 4},
			CostInput: ptr(float64(in) * 2.5e-6), CostOutput: ptr(float64(out) * 1e-5), CostTotal: ptr(float64(in)*2.5e-6 + float64(out)*1e-5),
			Output:              jsonText(map[string]string{"role": "assistant", "content": g.text(r, size)}),
			ModelParametersKeys: []string{}, ModelParametersValues: []string{}, MetadataKeys: []string{}, MetadataValues: []string{},
			EventID: oid + "-u", EventTS: et,
		})
	}
	if r.IntN(2) == 0 { // the answer, written when the run ends
		b.Traces = append(b.Traces, chschema.Trace{
			ProjectID: pid, ID: id, Tags: []string{}, MetadataKeys: []string{}, MetadataValues: []string{},
			Output: jsonText(map[string]string{"answer": g.text(r, 120)}), EventID: id + "-u", EventTS: end,
		})
	}
	if r.IntN(5) == 0 {
		v := r.Float64()
		b.Scores = append(b.Scores, chschema.Score{
			ProjectID: pid, ID: id + "-s", TraceID: id, Name: "quality", DataType: numeric, Value: &v, Source: eval,
			Timestamp: end, MetadataKeys: []string{}, MetadataValues: []string{}, Environment: env, EventID: id + "-s", EventTS: end,
		})
	}
}

func ptr[T any](v T) *T { return &v }

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}
