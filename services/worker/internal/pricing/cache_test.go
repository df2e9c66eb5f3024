package pricing_test

import (
	"bytes"
	"context"
	"log/slog"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"go.uber.org/goleak"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/agenttrace/agenttrace/pkg/chschema"
	"github.com/agenttrace/agenttrace/pkg/config"
	authv1 "github.com/agenttrace/agenttrace/pkg/gen/agenttrace/auth/v1"
	"github.com/agenttrace/agenttrace/pkg/grpctest"
	"github.com/agenttrace/agenttrace/pkg/jwtkeys"
	"github.com/agenttrace/agenttrace/services/worker/internal/authclient"
	"github.com/agenttrace/agenttrace/services/worker/internal/pricing"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

const jwtSecret = "pricing-test-secret-0123456789abcdef"

// fakeAuth serves PricingService.ListModelPrices to callers with a worker
// service token asking for all projects; it can be switched to failing.
type fakeAuth struct {
	authv1.UnimplementedPricingServiceServer
	ring *jwtkeys.Ring

	mu     sync.Mutex
	prices []*authv1.ModelPrice
	down   bool
	calls  int
}

func (f *fakeAuth) ListModelPrices(ctx context.Context, req *authv1.ListModelPricesRequest) (*authv1.ListModelPricesResponse, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls++
	md, _ := metadata.FromIncomingContext(ctx)
	v := md.Get("authorization")
	if len(v) != 1 {
		return nil, status.Error(codes.Unauthenticated, "no token")
	}
	if svc, err := f.ring.VerifyServiceToken(strings.TrimPrefix(v[0], "Bearer ")); err != nil || svc != "worker" {
		return nil, status.Error(codes.Unauthenticated, "bad token")
	}
	if !req.GetAllProjects() {
		return nil, status.Error(codes.InvalidArgument, "the worker must ask for all projects")
	}
	if f.down {
		return nil, status.Error(codes.Unavailable, "database down")
	}
	return &authv1.ListModelPricesResponse{Prices: f.prices}, nil
}

func (f *fakeAuth) set(down bool, prices ...*authv1.ModelPrice) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.down, f.prices = down, prices
}

func (f *fakeAuth) callCount() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.calls
}

func price(id, project, pattern string, input float64) *authv1.ModelPrice {
	return &authv1.ModelPrice{Id: id, ProjectId: project, ModelName: pattern, MatchPattern: pattern,
		Prices:        map[string]float64{"input": input},
		EffectiveFrom: timestamppb.New(time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC))}
}

// env is a cache reading from a fake auth over real gRPC with service
// tokens, as the worker runs it.
type env struct {
	auth  *fakeAuth
	cache *pricing.Cache
	reg   *prometheus.Registry
	logs  *bytes.Buffer
	mu    *sync.Mutex
}

// newEnv serves f (or nothing, when f is nil: auth is down) and builds a
// cache over it.
func newEnv(t *testing.T, f *fakeAuth, refresh time.Duration) *env {
	t.Helper()
	ring, err := jwtkeys.NewRing(jwtkeys.Config{Secret: config.Secret(jwtSecret)})
	if err != nil {
		t.Fatal(err)
	}
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	if f == nil {
		lis.Close()
	} else {
		f.ring = ring
		srv := grpc.NewServer()
		authv1.RegisterPricingServiceServer(srv, f)
		grpctest.Serve(t, srv, lis)
	}
	conn, err := authclient.Dial(lis.Addr().String(), ring)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	e := &env{auth: f, reg: prometheus.NewRegistry(), logs: &bytes.Buffer{}, mu: &sync.Mutex{}}
	log := slog.New(slog.NewTextHandler(lockedWriter{e.mu, e.logs}, nil))
	e.cache = pricing.NewCache(authclient.NewPrices(conn, 2*time.Second), log, pricing.NewMetrics(e.reg), pricing.Config{Refresh: refresh})
	return e
}

type lockedWriter struct {
	mu *sync.Mutex
	w  *bytes.Buffer
}

func (l lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

func (e *env) metric(t *testing.T, name, outcome string) float64 {
	t.Helper()
	mfs, err := e.reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.GetMetric() {
			if outcome == "" {
				return m.GetGauge().GetValue()
			}
			for _, l := range m.GetLabel() {
				if l.GetValue() == outcome {
					return m.GetCounter().GetValue()
				}
			}
		}
	}
	t.Fatalf("no metric %s{%s}", name, outcome)
	return 0
}

func lookup(c *pricing.Cache, model string) *pricing.Price {
	t := c.Table()
	if t == nil {
		return nil
	}
	return t.Lookup("p1", model, time.Now())
}

// TestCacheKeepsLastTable: a failed refresh leaves the last good table in
// use.
func TestCacheKeepsLastTable(t *testing.T) {
	f := &fakeAuth{}
	f.set(false, price("a", "", "m-a", 1), price("b", "p1", "m-b", 2))
	e := newEnv(t, f, time.Minute)
	ctx := context.Background()
	if err := e.cache.Load(ctx); err != nil {
		t.Fatal(err)
	}
	first := e.cache.Table()
	if first.Len() != 2 || lookup(e.cache, "m-b").ID != "b" {
		t.Fatalf("loaded %d prices", first.Len())
	}
	if got := e.metric(t, "agenttrace_worker_prices_loaded", ""); got != 2 {
		t.Fatalf("prices_loaded = %v", got)
	}

	f.set(true)
	if err := e.cache.Load(ctx); err == nil || status.Code(err) != codes.Unavailable {
		t.Fatalf("Load with auth failing = %v", err)
	}
	if e.cache.Table() != first || lookup(e.cache, "m-a").ID != "a" {
		t.Fatal("the last good table was dropped")
	}
	if e.metric(t, "agenttrace_worker_prices_refreshes_total", "failed") != 1 ||
		e.metric(t, "agenttrace_worker_prices_refreshes_total", "loaded") != 1 {
		t.Fatal("refreshes not counted")
	}

	// A price with a pattern that does not compile is left out and logged
	// by id, the rest loads.
	f.set(false, price("a", "", "m-a", 1), price("bad", "", "a)|(b", 1))
	if err := e.cache.Load(ctx); err != nil {
		t.Fatal(err)
	}
	if e.cache.Table().Len() != 1 || !strings.Contains(e.logs.String(), "price_id=bad") {
		t.Fatalf("invalid price: %d loaded, logs %s", e.cache.Table().Len(), e.logs.String())
	}
}

// TestCacheRunRefreshes: Run loads at once, picks up changes every
// interval, keeps the table through an outage, and stops with its context.
func TestCacheRunRefreshes(t *testing.T) {
	f := &fakeAuth{}
	f.set(false, price("a", "", "m-a", 1))
	e := newEnv(t, f, 50*time.Millisecond)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- e.cache.Run(ctx) }()

	if !e.cache.WaitLoaded(ctx, 5*time.Second) || e.cache.Check(ctx) != nil {
		t.Fatal("first load not seen by WaitLoaded/Check")
	}
	eventually(t, "the first load", func() bool { return lookup(e.cache, "m-a") != nil })
	f.set(false, price("a2", "", "m-a", 3))
	eventually(t, "the refreshed price", func() bool { p := lookup(e.cache, "m-a"); return p != nil && p.ID == "a2" })
	f.set(true)
	calls := f.callCount()
	eventually(t, "refreshes during the outage", func() bool { return f.callCount() >= calls+2 })
	if p := lookup(e.cache, "m-a"); p == nil || p.ID != "a2" {
		t.Fatalf("price during the outage = %v", p)
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Run = %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Run did not stop")
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if !strings.Contains(e.logs.String(), "using the last table") {
		t.Fatalf("outage not logged: %s", e.logs.String())
	}
}

// TestCacheAuthDownAtStart: with auth unreachable from the start there is
// no table, rows pass through unpriced, and Run keeps trying.
func TestCacheAuthDownAtStart(t *testing.T) {
	e := newEnv(t, nil, time.Minute)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- e.cache.Run(ctx) }()
	eventually(t, "a failed load", func() bool {
		return testutil.CollectAndCount(e.reg, "agenttrace_worker_prices_refreshes_total") > 0 &&
			e.metric(t, "agenttrace_worker_prices_refreshes_total", "failed") >= 1
	})
	if e.cache.Table() != nil {
		t.Fatal("a table without auth")
	}
	if e.cache.Check(ctx) == nil {
		t.Fatal("ready without a price table")
	}
	if e.cache.WaitLoaded(ctx, 50*time.Millisecond) {
		t.Fatal("WaitLoaded reported a table without auth")
	}
	m := pricing.NewMetrics(prometheus.NewRegistry())
	in := int64(10)
	rows := []chschema.Observation{{ID: "o", Model: "m-a", UsageInput: &in, EventTS: uint64(time.Now().UnixNano())}}
	pricing.NewEnricher(e.cache, m).Enrich("p1", rows)
	if rows[0].CostTotal != nil {
		t.Fatal("priced without prices")
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("Run = %v", err)
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if !strings.Contains(e.logs.String(), "model prices unavailable") || !strings.Contains(e.logs.String(), "retry_in=1s") {
		t.Fatalf("logs: %s", e.logs.String())
	}
}

func TestConfig(t *testing.T) {
	if err := (pricing.Config{Refresh: -time.Second}).Validate(); err == nil || !strings.Contains(err.Error(), "WORKER_PRICES_REFRESH") {
		t.Fatalf("negative refresh: %v", err)
	}
	if c := (pricing.Config{}); c.Validate() != nil || c.Enabled() {
		t.Fatal("0 must be valid and disable prices")
	}
	if c := (pricing.Config{Refresh: time.Minute}); c.Validate() != nil || !c.Enabled() {
		t.Fatal("1m must be valid and enabled")
	}
	if err := (pricing.Config{Refresh: time.Minute, FirstLoadWait: -time.Second}).Validate(); err == nil || !strings.Contains(err.Error(), "FIRST_LOAD_WAIT") {
		t.Fatalf("negative first-load wait: %v", err)
	}
}

func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
