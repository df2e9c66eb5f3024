package e2e

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	ingestv1 "github.com/agenttrace/agenttrace/pkg/gen/agenttrace/ingest/v1"
	queryv1 "github.com/agenttrace/agenttrace/pkg/gen/agenttrace/query/v1"
)

// drillPostgresOutage is how long the PostgreSQL drill keeps PostgreSQL
// away: three times the auth cache TTL (10 s), so that ingest and query
// must serve their last good answers for most of it.
const drillPostgresOutage = 30 * time.Second

// TestDrillPostgresOutage takes PostgreSQL away from an auth service under
// load. Ingest and query, which ask that auth, keep serving keys they have
// validated before for the whole outage (AGENTTRACE_AUTH_CACHE_STALE_FOR),
// while a key they have not seen yet fails at once with UNAVAILABLE, not
// an internal error or a hang, and works once PostgreSQL is back.
func TestDrillPostgresOutage(t *testing.T) {
	d := newDrill(t, "postgres", false)
	pg := newLink(t, strings.TrimPrefix(postgresServer, "postgres://postgres@"))
	auth := d.start("auth", "", true, "AGENTTRACE_POSTGRES_URL=postgres://postgres@"+pg.addr+"/"+d.s.iso.postgresDB+"?sslmode=disable")
	viaAuth := "AGENTTRACE_AUTH_ADDR=" + auth.grpc
	ingest := d.start("ingest", "", true, viaAuth)
	query := d.start("query", "", true, viaAuth)
	gateway := d.start("gateway", "", true, viaAuth, "AGENTTRACE_INGEST_ADDR="+ingest.grpc, "AGENTTRACE_QUERY_ADDR="+query.grpc)
	// A key of the same project that no service of the drill has seen.
	fresh := d.s.bootstrap(t, d.org, d.project)

	ingestClient := ingestv1.NewIngestServiceClient(dial(t, ingest.grpc))
	queryClient := queryv1.NewQueryServiceClient(dial(t, query.grpc))
	l := startLoad(t, "postgres", grpcSender(ingestClient, d.key))
	pr := startProbe(t, 100*time.Millisecond, listTracesProbe(queryClient, d.key))
	time.Sleep(3 * time.Second)

	pg.cut()
	cut := time.Now()
	if _, ok := waitReadyStatus(auth.admin, http.StatusServiceUnavailable, 10*time.Second); !ok {
		t.Errorf("drill postgres: auth still ready 10s into the outage")
	}
	// Past the cache TTL: the validated key is served from stale answers.
	time.Sleep(12 * time.Second)
	newKeyCall := func(what string, call func(ctx context.Context) outcome) {
		start := time.Now()
		o := call(t.Context())
		took := time.Since(start)
		t.Logf("drill postgres: a new key %s during the outage: %s in %s", what, o.label, took.Round(time.Millisecond))
		// Both must say when to retry: over gRPC a RetryInfo (the label
		// says when there was none), over REST Retry-After.
		if o.acked || (o.label != "Unavailable" && o.label != "503 UNAVAILABLE") || o.problem != "" || took > 5*time.Second {
			t.Errorf("drill postgres: a new key %s during the outage: got %s %s in %s, want UNAVAILABLE with RetryInfo (503 with Retry-After) within 5s",
				what, o.label, o.problem, took)
		}
	}
	rest := &restClient{base: "http://" + gateway.http, authorization: fresh.basic(), hc: &http.Client{Timeout: drillCallLimit}}
	newKeyCall("ingesting over REST", func(ctx context.Context) outcome { return l.sendOnce(ctx, restSender(rest)) })
	newKeyCall("ingesting", func(ctx context.Context) outcome { return l.sendOnce(ctx, grpcSender(ingestClient, fresh)) })
	newKeyCall("querying", func(ctx context.Context) outcome {
		err := listTracesProbe(queryClient, fresh)(ctx)
		label := statusLabel(err)
		if status.Code(err) == codes.Unavailable && !hasRetryInfo(err) {
			label += " (no RetryInfo)"
		}
		return outcome{acked: err == nil, label: label}
	})

	time.Sleep(time.Until(cut.Add(drillPostgresOutage)))
	pg.restore()
	restored := time.Now()
	// The new key works once PostgreSQL is back (auth reconnects by itself).
	var o outcome
	for o = l.sendOnce(t.Context(), grpcSender(ingestClient, fresh)); !o.acked && time.Since(restored) < 30*time.Second; {
		time.Sleep(200 * time.Millisecond)
		o = l.sendOnce(t.Context(), grpcSender(ingestClient, fresh))
	}
	if o.acked {
		t.Logf("drill postgres: the new key ingests %s after PostgreSQL returned", time.Since(restored).Round(10*time.Millisecond))
	} else {
		t.Errorf("drill postgres: the new key still fails 30s after PostgreSQL returned: %s", o.label)
	}
	time.Sleep(2 * time.Second)

	calls, failed, summary, failures := pr.results()
	c := d.settle(l, restored, 2*time.Minute)
	t.Logf("drill postgres: PostgreSQL away %s; %d batches acknowledged during the outage, %d failed in all; queries: %s",
		restored.Sub(cut).Round(100*time.Millisecond), c.ackedBetween(cut, restored), c.failed, summary)
	if c.failed > 0 {
		t.Errorf("drill postgres: %d ingestion batches with a validated key failed (%s)", c.failed, c.outcomeSummary())
	}
	if failed > 0 || calls == 0 {
		t.Errorf("drill postgres: %d of %d queries with a validated key failed; first: %v", failed, calls, failures)
	}
}

// waitReadyStatus polls /ready until it answers want, and says how long that took.
func waitReadyStatus(adminAddr string, want int, bound time.Duration) (time.Duration, bool) {
	start := time.Now()
	for time.Since(start) < bound {
		resp, err := http.Get("http://" + adminAddr + "/ready")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == want {
				return time.Since(start), true
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	return bound, false
}
