package retention_test

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"go.uber.org/goleak"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"github.com/agenttrace/agenttrace/pkg/chschema"
	"github.com/agenttrace/agenttrace/pkg/config"
	authv1 "github.com/agenttrace/agenttrace/pkg/gen/agenttrace/auth/v1"
	"github.com/agenttrace/agenttrace/pkg/grpctest"
	"github.com/agenttrace/agenttrace/pkg/jwtkeys"
	"github.com/agenttrace/agenttrace/services/worker/internal/authclient"
	"github.com/agenttrace/agenttrace/services/worker/internal/chstore"
	"github.com/agenttrace/agenttrace/services/worker/internal/eventrows"
	"github.com/agenttrace/agenttrace/services/worker/internal/lease"
	"github.com/agenttrace/agenttrace/services/worker/internal/retention"
	"github.com/agenttrace/agenttrace/services/worker/internal/testinfra"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

const jwtSecret = "worker-test-secret-0123456789abcdef"

func ring(t *testing.T) *jwtkeys.Ring {
	t.Helper()
	r, err := jwtkeys.NewRing(jwtkeys.Config{Secret: config.Secret(jwtSecret)})
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// fakeAuth is auth's settings and audit services: it serves fixed
// policies, records audit events, and accepts only calls with a service
// token that verifies with the test secret. Failing calls can be switched on.
type fakeAuth struct {
	authv1.UnimplementedSettingsServiceServer
	authv1.UnimplementedAuditServiceServer
	ring     *jwtkeys.Ring
	policies []*authv1.ProjectSettings

	mu           sync.Mutex
	failPolicies int // fail this many ListRetentionPolicies calls
	failAudit    bool
	events       []*authv1.AuditEvent
	callers      []string
}

func (f *fakeAuth) caller(ctx context.Context) error {
	md, _ := metadata.FromIncomingContext(ctx)
	v := md.Get("authorization")
	if len(v) != 1 {
		return status.Error(codes.Unauthenticated, "no token")
	}
	svc, err := f.ring.VerifyServiceToken(strings.TrimPrefix(v[0], "Bearer "))
	if err != nil {
		return status.Error(codes.Unauthenticated, "bad token")
	}
	f.callers = append(f.callers, svc)
	return nil
}

func (f *fakeAuth) ListRetentionPolicies(ctx context.Context, _ *authv1.ListRetentionPoliciesRequest) (*authv1.ListRetentionPoliciesResponse, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.caller(ctx); err != nil {
		return nil, err
	}
	if f.failPolicies > 0 {
		f.failPolicies--
		return nil, status.Error(codes.Unavailable, "database down")
	}
	return &authv1.ListRetentionPoliciesResponse{Policies: f.policies}, nil
}

func (f *fakeAuth) RecordAuditEvent(ctx context.Context, req *authv1.RecordAuditEventRequest) (*authv1.RecordAuditEventResponse, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.caller(ctx); err != nil {
		return nil, err
	}
	if f.failAudit {
		return nil, status.Error(codes.Unavailable, "database down")
	}
	f.events = append(f.events, req.GetEvent())
	return &authv1.RecordAuditEventResponse{Event: req.GetEvent()}, nil
}

func (f *fakeAuth) recorded() ([]*authv1.AuditEvent, []string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]*authv1.AuditEvent(nil), f.events...), append([]string(nil), f.callers...)
}

// serve starts f and returns its address; with down, nothing listens there.
func serve(t *testing.T, f *fakeAuth, down bool) string {
	t.Helper()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	if down {
		lis.Close()
		return lis.Addr().String()
	}
	srv := grpc.NewServer()
	authv1.RegisterSettingsServiceServer(srv, f)
	authv1.RegisterAuditServiceServer(srv, f)
	grpctest.Serve(t, srv, lis)
	return lis.Addr().String()
}

var now = time.Now()

// rows stores one trace (trace, observation and score rows) of project
// whose events are age old.
func rows(project, trace string, age time.Duration) eventrows.Batch {
	ts := uint64(now.Add(-age).UnixNano())
	return eventrows.Batch{
		Traces: []chschema.Trace{{ProjectID: project, ID: trace, EventID: trace + "-t", EventTS: ts,
			Tags: []string{}, MetadataKeys: []string{}, MetadataValues: []string{}}},
		Observations: []chschema.Observation{{ProjectID: project, TraceID: trace, ID: "ob", EventID: trace + "-o", EventTS: ts,
			ModelParametersKeys: []string{}, ModelParametersValues: []string{}, UsageDetailsKeys: []string{}, UsageDetailsValues: []int64{},
			MetadataKeys: []string{}, MetadataValues: []string{}}},
		Scores: []chschema.Score{{ProjectID: project, ID: "sc", TraceID: trace, EventID: trace + "-s", EventTS: ts,
			MetadataKeys: []string{}, MetadataValues: []string{}}},
	}
}

func keys(project, trace string) []string {
	return []string{
		"observations " + project + " " + trace + " " + trace + "-o",
		"scores " + project + " " + trace + " " + trace + "-s",
		"traces " + project + " " + trace + " " + trace + "-t",
	}
}

const day = 24 * time.Hour

// setup stores rows of three projects: proj-a keeps 30 days, proj-b keeps
// everything (0, and absent projects alike), proj-c keeps 90 days.
func setup(t *testing.T) (driver.Conn, *chstore.Writer, []string) {
	t.Helper()
	_, conn := testinfra.ClickHouse(t)
	w := chstore.NewWriter(conn, chstore.NewMetrics(prometheus.NewRegistry()), chstore.WithMutationWait(10*time.Second))
	var b eventrows.Batch
	for _, r := range []eventrows.Batch{
		rows("proj-a", "a-old", 40*day), rows("proj-a", "a-new", time.Hour), rows("proj-a", "a-edge", 28*day),
		rows("proj-b", "b-old", 400*day), rows("proj-c", "c-old", 40*day), rows("proj-d", "d-old", 40*day),
	} {
		b.Append(r)
	}
	if err := w.Write(context.Background(), b); err != nil {
		t.Fatal(err)
	}
	var kept []string
	for _, k := range [][]string{keys("proj-a", "a-edge"), keys("proj-a", "a-new"), keys("proj-b", "b-old"), keys("proj-c", "c-old"), keys("proj-d", "d-old")} {
		kept = append(kept, k...)
	}
	return conn, w, sorted(kept)
}

func policies() []*authv1.ProjectSettings {
	return []*authv1.ProjectSettings{
		{ProjectId: "proj-c", RetentionDays: 90},
		{ProjectId: "proj-a", RetentionDays: 30},
		{ProjectId: "proj-b", RetentionDays: 0},
	}
}

type job struct {
	*retention.Job
	reg     *prometheus.Registry
	deleted prometheus.Counter
}

// newJob builds a job like serve does, calling auth at addr and holding a
// lease of ttl in the namespace of leaseCfg.
func newJob(t *testing.T, store retention.Store, addr string, leaseCfg lease.Config, js jetstream.JetStream, interval time.Duration) job {
	t.Helper()
	conn, err := authclient.Dial(addr, ring(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	client := authclient.New(conn, 2*time.Second)
	l, err := lease.New(js, leaseCfg)
	if err != nil {
		t.Fatal(err)
	}
	reg := prometheus.NewRegistry()
	deleted := prometheus.NewCounter(prometheus.CounterOpts{Name: "deleted"})
	j := retention.New(retention.Deps{
		Log:      slog.New(slog.NewTextHandler(t.Output(), nil)),
		Policies: client, Auditor: client, Store: store, Lease: l,
		Metrics: retention.NewMetrics(reg, deleted),
	}, retention.Config{Interval: interval})
	return job{Job: j, reg: reg, deleted: deleted}
}

func (j job) runs(t *testing.T, outcome string) float64 {
	return testinfra.Metric(t, j.reg, "agenttrace_worker_retention_runs_total", "outcome", outcome)
}

func sorted(s []string) []string {
	out := slices.Clone(s)
	slices.Sort(out)
	return out
}

func TestRetentionDeletesOnlyExpiredRowsOfTheRightProject(t *testing.T) {
	conn, store, kept := setup(t)
	scfg, _, js := testinfra.NATS(t)
	auth := &fakeAuth{ring: ring(t), policies: policies()}
	addr := serve(t, auth, false)
	lcfg := lease.Config{Bucket: lease.BucketName(scfg), Key: "retention", TTL: time.Hour, Replicas: 1, Holder: "test"}
	j := newJob(t, store, addr, lcfg, js, time.Hour)

	rep, err := j.RunOnce(context.Background())
	if err != nil {
		t.Fatalf("RunOnce: %v", err)
	}
	if rep.Skipped || len(rep.Purged) != 1 || rep.Purged[0].ProjectID != "proj-a" || rep.Traces != 1 {
		t.Errorf("report = %+v, want proj-a purged, 1 trace", rep)
	}
	if got := testinfra.RowKeys(t, conn); !reflect.DeepEqual(got, kept) {
		t.Errorf("rows after retention:\n got %q\nwant %q", got, kept)
	}

	events, callers := auth.recorded()
	if len(events) != 1 {
		t.Fatalf("%d audit events, want 1 (only proj-a had expired rows)", len(events))
	}
	e := events[0]
	cutoff, err := time.Parse(time.RFC3339, e.GetDetails()["cutoff"])
	if err != nil || cutoff.Sub(now.Add(-30*day)).Abs() > time.Minute {
		t.Errorf("cutoff detail %q, want about now-30d", e.GetDetails()["cutoff"])
	}
	if e.GetAction() != "retention.run" || e.GetProjectId() != "proj-a" || e.GetTargetKind() != "project" || e.GetTargetId() != "proj-a" ||
		e.GetActorKind() != "service" || e.GetActorId() != "worker" ||
		e.GetDetails()["retention_days"] != "30" || e.GetDetails()["deleted_rows"] != "traces=1,observations=1,scores=1" {
		t.Errorf("audit event = %v", e)
	}
	for _, c := range callers {
		if c != authclient.ServiceName {
			t.Errorf("auth called as %q, want %q", c, authclient.ServiceName)
		}
	}
	if n := j.runs(t, "succeeded"); n != 1 {
		t.Errorf("runs{succeeded} = %v", n)
	}
	if n := j.runs(t, "failed"); n != 0 {
		t.Errorf("runs{failed} = %v", n)
	}

	// The lease is held for the interval: this replica and any other skip.
	other := newJob(t, store, addr, lcfg, js, time.Hour)
	for _, jj := range []job{j, other} {
		if rep, err := jj.RunOnce(context.Background()); err != nil || !rep.Skipped {
			t.Errorf("second run within the interval = %+v, %v; want skipped", rep, err)
		}
		if n := jj.runs(t, "skipped"); n != 1 {
			t.Errorf("runs{skipped} = %v", n)
		}
	}
	if events, _ := auth.recorded(); len(events) != 1 {
		t.Errorf("skipped runs audited: %d events", len(events))
	}
}

// TestNothingExpiredIssuesNoMutation: a run that finds nothing neither
// audits nor mutates.
func TestNothingExpiredIssuesNoMutation(t *testing.T) {
	conn, store, _ := setup(t)
	scfg, _, js := testinfra.NATS(t)
	auth := &fakeAuth{ring: ring(t), policies: []*authv1.ProjectSettings{{ProjectId: "proj-a", RetentionDays: 3650}}}
	j := newJob(t, store, serve(t, auth, false), lease.Config{Bucket: lease.BucketName(scfg), Key: "retention", TTL: time.Hour}, js, time.Hour)
	if rep, err := j.RunOnce(context.Background()); err != nil || len(rep.Purged) != 0 {
		t.Fatalf("RunOnce = %+v, %v", rep, err)
	}
	var mutations uint64
	if err := conn.QueryRow(context.Background(), "SELECT count() FROM system.mutations WHERE database = currentDatabase()").Scan(&mutations); err != nil {
		t.Fatal(err)
	}
	if events, _ := auth.recorded(); len(events) != 0 || mutations != 0 {
		t.Errorf("%d audit events, %d mutations; want none", len(events), mutations)
	}
}

// TestAuthFailuresDeleteNothing: auth unreachable, or its audit log
// failing, fails the run before any row is deleted.
func TestAuthFailuresDeleteNothing(t *testing.T) {
	tests := []struct {
		name      string
		down      bool
		failAudit bool
		want      error
	}{
		{name: "auth down", down: true},
		{name: "audit failing", failAudit: true, want: retention.ErrAudit},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			conn, store, _ := setup(t)
			before := testinfra.RowKeys(t, conn)
			scfg, _, js := testinfra.NATS(t)
			auth := &fakeAuth{ring: ring(t), policies: policies(), failAudit: tt.failAudit}
			j := newJob(t, store, serve(t, auth, tt.down), lease.Config{Bucket: lease.BucketName(scfg), Key: "retention", TTL: time.Hour}, js, time.Hour)
			_, err := j.RunOnce(context.Background())
			if err == nil || (tt.want != nil && !errors.Is(err, tt.want)) {
				t.Fatalf("RunOnce = %v, want a failure (%v)", err, tt.want)
			}
			if got := testinfra.RowKeys(t, conn); !reflect.DeepEqual(got, before) {
				t.Errorf("rows deleted although the run failed: %q", got)
			}
			if n := j.runs(t, "failed"); n != 1 {
				t.Errorf("runs{failed} = %v", n)
			}
		})
	}
}

// TestRunRetriesNextInterval runs the scheduler with a short interval while
// auth fails the first calls: a later tick succeeds.
func TestRunRetriesNextInterval(t *testing.T) {
	conn, store, kept := setup(t)
	scfg, _, js := testinfra.NATS(t)
	auth := &fakeAuth{ring: ring(t), policies: policies(), failPolicies: 2}
	// The lease outlives no tick: every tick may run.
	j := newJob(t, store, serve(t, auth, false), lease.Config{Bucket: lease.BucketName(scfg), Key: "retention", TTL: 100 * time.Millisecond}, js, 300*time.Millisecond)

	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- j.Run(ctx) }()
	deadline := time.Now().Add(15 * time.Second)
	// Until the rows are gone and the run that deleted them has finished
	// (it counts itself after its deletions are applied).
	for !reflect.DeepEqual(testinfra.RowKeys(t, conn), kept) || j.runs(t, "succeeded") < 1 {
		if time.Now().After(deadline) {
			cancel()
			if err := <-done; err != nil {
				t.Errorf("Run = %v", err)
			}
			t.Fatal("expired rows not deleted by a later run")
		}
		time.Sleep(100 * time.Millisecond)
	}
	cancel()
	if err := <-done; err != nil {
		t.Errorf("Run = %v", err)
	}
	if f, s := j.runs(t, "failed"), j.runs(t, "succeeded"); f != 2 || s < 1 {
		t.Errorf("runs failed=%v succeeded=%v, want 2 failures then success", f, s)
	}
	if got := testutil.ToFloat64(j.deleted); got != 1 {
		t.Errorf("deleted traces = %v, want 1", got)
	}
}
