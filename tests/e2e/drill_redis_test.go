package e2e

import (
	"testing"
	"time"

	ingestv1 "github.com/agenttrace/agenttrace/pkg/gen/agenttrace/ingest/v1"
	queryv1 "github.com/agenttrace/agenttrace/pkg/gen/agenttrace/query/v1"
)

// drillRedisOutage is how long the Redis drill keeps Redis away.
const drillRedisOutage = 20 * time.Second

// TestDrillRedisOutage takes Redis away from an ingest and a query service
// for a while under load: rate limits fall back to local ones (as
// documented), so every call is still served, and the services go back
// to Redis by themselves when it returns.
func TestDrillRedisOutage(t *testing.T) {
	d := newDrill(t, "redis", false)
	redis := newLink(t, redisServer)
	viaLink := "AGENTTRACE_REDIS_ADDR=" + redis.addr
	ingest := d.start("ingest", "", true, viaLink)
	query := d.start("query", "", true, viaLink)

	l := startLoad(t, "redis", grpcSender(ingestv1.NewIngestServiceClient(dial(t, ingest.grpc)), d.key))
	pr := startProbe(t, 100*time.Millisecond, listTracesProbe(queryv1.NewQueryServiceClient(dial(t, query.grpc)), d.key))
	time.Sleep(3 * time.Second)
	for _, p := range []*drillProc{ingest, query} {
		if _, ok := waitMetric(t, p.admin, "agenttrace_ratelimit_redis_up", 5*time.Second, func(v float64) bool { return v == 1 }); !ok {
			t.Errorf("drill redis: %s does not use Redis before the outage", p.name)
		}
	}

	redis.cut()
	cut := time.Now()
	for _, p := range []*drillProc{ingest, query} {
		if took, ok := waitMetric(t, p.admin, "agenttrace_ratelimit_redis_up", 10*time.Second, func(v float64) bool { return v == 0 }); ok {
			t.Logf("drill redis: %s on local limits %s into the outage", p.name, took.Round(10*time.Millisecond))
		} else {
			t.Errorf("drill redis: %s still reports Redis up 10s into the outage", p.name)
		}
	}
	time.Sleep(time.Until(cut.Add(drillRedisOutage)))
	redis.restore()
	restored := time.Now()
	for _, p := range []*drillProc{ingest, query} {
		if took, ok := waitMetric(t, p.admin, "agenttrace_ratelimit_redis_up", 15*time.Second, func(v float64) bool { return v == 1 }); ok {
			t.Logf("drill redis: %s back on Redis %s after it returned", p.name, took.Round(10*time.Millisecond))
		} else {
			t.Errorf("drill redis: %s not back on Redis 15s after it returned", p.name)
		}
	}
	time.Sleep(2 * time.Second)

	calls, failed, summary, failures := pr.results()
	c := d.settle(l, restored, 2*time.Minute)
	f := l.figures()
	t.Logf("drill redis: Redis away %s; %d batches acknowledged during the outage, %d failed in all; queries: %s",
		restored.Sub(cut).Round(100*time.Millisecond), f.ackedBetween(cut, restored), c.failed, summary)
	if c.failed > 0 {
		t.Errorf("drill redis: %d ingestion batches failed (%s); Redis being away must not fail calls", c.failed, c.outcomeSummary())
	}
	if failed > 0 || calls == 0 {
		t.Errorf("drill redis: %d of %d queries failed; first: %v", failed, calls, failures)
	}
}
