package lease_test

import (
	"context"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"go.uber.org/goleak"

	"github.com/agenttrace/agenttrace/services/worker/internal/lease"
	"github.com/agenttrace/agenttrace/services/worker/internal/testinfra"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestNewRejectsIncompleteConfig(t *testing.T) {
	for _, cfg := range []lease.Config{
		{Key: "k", TTL: time.Second},
		{Bucket: "B", TTL: time.Second},
		{Bucket: "B", Key: "k"},
	} {
		if _, err := lease.New(nil, cfg); err == nil {
			t.Errorf("New(%+v) accepted", cfg)
		}
	}
}

func TestLeaseIsExclusiveUntilItExpires(t *testing.T) {
	scfg, _, js := testinfra.NATS(t)
	cfg := lease.Config{Bucket: lease.BucketName(scfg), Key: "job", TTL: 300 * time.Millisecond, Replicas: 1}
	a, err := lease.New(js, cfg)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := lease.New(js, cfg)
	ctx := context.Background()
	steps := []struct {
		l    *lease.Lease
		want bool
	}{{a, true}, {b, false}, {a, false}}
	for i, s := range steps {
		if got, err := s.l.Acquire(ctx); err != nil || got != s.want {
			t.Fatalf("step %d: Acquire = %v, %v; want %v", i, got, err, s.want)
		}
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		got, err := b.Acquire(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if got {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("lease never expired")
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func TestAcquireFailsWithoutNATS(t *testing.T) {
	testinfra.SkipIfShort(t)
	nc, err := nats.Connect(nats.DefaultURL)
	if err != nil {
		t.Fatal(err)
	}
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	nc.Close()
	l, _ := lease.New(js, lease.Config{Bucket: "UNUSED_WORKER_LEASES", Key: "job", TTL: time.Second})
	if got, err := l.Acquire(context.Background()); err == nil || got {
		t.Errorf("Acquire on a closed connection = %v, %v; want an error", got, err)
	}
}
