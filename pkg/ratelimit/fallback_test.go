package ratelimit

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	ingestv1 "github.com/agenttrace/agenttrace/pkg/gen/agenttrace/ingest/v1"
)

// syncBuffer is a log sink that tolerates concurrent writers.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// slack is how much longer than the Redis timeout a call may take on a
// busy test machine; a call that waited on Redis unbounded takes far more.
const slack = 150 * time.Millisecond

// TestRedisDownServesWithLocalLimits: nothing listens where Redis should be.
func TestRedisDownServesWithLocalLimits(t *testing.T) {
	if testing.Short() {
		t.Skip("integration test")
	}
	cfg := testConfig(t)
	cfg.RedisAddr = "127.0.0.1:1"
	var logs syncBuffer
	lim, err := New(cfg, slog.New(slog.NewTextHandler(&logs, nil)))
	if err != nil {
		t.Fatal(err)
	}
	defer lim.Close(context.Background())

	limit := hourly(3)
	for i := range 6 {
		start := time.Now()
		res, err := lim.Allow(context.Background(), "down", limit)
		if took := time.Since(start); took > cfg.RedisTimeout+slack {
			t.Errorf("call %d took %v with Redis down", i, took)
		}
		if err != nil {
			t.Fatalf("call %d: %v", i, err)
		}
		if !res.Local {
			t.Errorf("call %d not decided locally", i)
		}
		if want := i < 3; res.Allowed != want {
			t.Errorf("call %d allowed=%v, want %v (local limit enforced)", i, res.Allowed, want)
		}
		if !res.Allowed && (res.RetryAfter < 59*time.Minute || res.RetryAfter > time.Hour) {
			t.Errorf("call %d RetryAfter %v, want about 1h", i, res.RetryAfter)
		}
	}
	// Within the retry interval only the first call asks Redis.
	if got := testCounter(t, lim.m.redisErrors); got != 1 {
		t.Errorf("redis errors %v, want 1", got)
	}
	if got := testCounter(t, lim.m.redisUp); got != 0 {
		t.Errorf("redis up gauge %v, want 0", got)
	}
	if n := strings.Count(logs.String(), "redis unavailable"); n != 1 {
		t.Errorf("outage logged %d times, want once:\n%s", n, logs.String())
	}

	// Reset still clears the local bucket, and says Redis was not reset.
	if err := lim.Reset(context.Background(), "down"); err == nil {
		t.Error("Reset with Redis down reported success")
	}
	if res, _ := lim.Allow(context.Background(), "down", limit); !res.Allowed {
		t.Error("local bucket not reset")
	}

	// Through gRPC: served, with headers, and refused past the local limit.
	lim.limits = Limits{IngestKey: hourly(2)}
	conn := serve(t, lim, func(s *grpc.Server) { ingestv1.RegisterIngestServiceServer(s, ingestServer{}) })
	client := ingestv1.NewIngestServiceClient(conn)
	ctx := metadata.AppendToOutgoingContext(context.Background(), "test-principal", "key/K/P")
	for i, want := range []codes.Code{codes.OK, codes.OK, codes.ResourceExhausted} {
		var hdr metadata.MD
		_, err := client.IngestBatch(ctx, &ingestv1.IngestBatchRequest{}, grpc.Header(&hdr))
		if status.Code(err) != want {
			t.Errorf("gRPC call %d: %v, want %v", i, err, want)
		}
		if len(hdr.Get(HeaderRemaining)) != 1 {
			t.Errorf("gRPC call %d: no %s header", i, HeaderRemaining)
		}
	}
}

// TestRedisOutageAndRecovery takes the real Redis away behind a proxy, in
// both ways it fails (refusing, hanging), and brings it back.
func TestRedisOutageAndRecovery(t *testing.T) {
	base := testConfig(t)
	newRedisLimiter(t, base) // checks Redis is there; cleans up the prefix
	proxy := newFaultProxy(t, base.RedisAddr)
	cfg := base
	cfg.RedisAddr = proxy.addr()
	cfg.RedisRetryInterval = 200 * time.Millisecond
	var logs syncBuffer
	lim, err := New(cfg, slog.New(slog.NewTextHandler(&logs, nil)))
	if err != nil {
		t.Fatal(err)
	}
	defer lim.Close(context.Background())
	limit := PerSecond(1000, 1000)

	steps := []struct {
		name      string
		mode      proxyMode
		waitRetry bool // let the retry interval pass first
		local     bool
		errors    float64 // redis errors counted so far
	}{
		{"redis up", proxyForward, false, false, 0},
		{"redis refuses", proxyRefuse, false, true, 1},
		{"still down, not asked again", proxyRefuse, false, true, 1},
		{"back after the retry interval", proxyForward, true, false, 1},
		{"redis hangs", proxyHang, false, true, 2},
		{"recovers again", proxyForward, true, false, 2},
	}
	for _, st := range steps {
		t.Run(st.name, func(t *testing.T) {
			proxy.setMode(st.mode)
			if st.waitRetry {
				time.Sleep(cfg.RedisRetryInterval)
			}
			start := time.Now()
			res, err := lim.Allow(context.Background(), "outage", limit)
			if err != nil {
				t.Fatal(err)
			}
			if took := time.Since(start); took > cfg.RedisTimeout+slack {
				t.Errorf("call took %v", took)
			}
			if res.Local != st.local || !res.Allowed {
				t.Errorf("got %+v, want allowed with local=%v", res, st.local)
			}
			if got := testCounter(t, lim.m.redisErrors); got != st.errors {
				t.Errorf("redis errors %v, want %v", got, st.errors)
			}
			if got, want := testCounter(t, lim.m.redisUp), map[bool]float64{true: 0, false: 1}[st.local]; got != want {
				t.Errorf("redis up gauge %v, want %v", got, want)
			}
		})
	}
	out := logs.String()
	if down, back := strings.Count(out, "redis unavailable"), strings.Count(out, "redis available again"); down != 2 || back != 2 {
		t.Errorf("logged %d outages and %d recoveries, want 2 and 2:\n%s", down, back, out)
	}
}
