package pgstore_test

import (
	"context"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/agenttrace/agenttrace/services/auth/internal/pgstore"
	"github.com/agenttrace/agenttrace/services/auth/internal/pgtest"
)

func TestPoolCollector(t *testing.T) {
	ctx := context.Background()
	pool, err := pgstore.Open(ctx, pgstore.Config{URL: pgtest.URL(t), MaxConns: 3, ConnectTimeout: 5e9})
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	conn, err := pool.Acquire(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Release()

	reg := prometheus.NewRegistry()
	reg.MustRegister(pgstore.NewPoolCollector(pool))
	want := `
# HELP agenttrace_postgres_pool_acquired_conns Connections currently in use.
# TYPE agenttrace_postgres_pool_acquired_conns gauge
agenttrace_postgres_pool_acquired_conns 1
# HELP agenttrace_postgres_pool_max_conns Largest number of connections the pool may hold.
# TYPE agenttrace_postgres_pool_max_conns gauge
agenttrace_postgres_pool_max_conns 3
`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want),
		"agenttrace_postgres_pool_acquired_conns", "agenttrace_postgres_pool_max_conns"); err != nil {
		t.Fatal(err)
	}
	if n, err := testutil.GatherAndCount(reg); err != nil || n != 7 {
		t.Fatalf("%d series, %v; want 7", n, err)
	}
}
