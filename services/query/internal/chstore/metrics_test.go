package chstore_test

import (
	"context"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/agenttrace/agenttrace/services/query/internal/chstore"
	"github.com/agenttrace/agenttrace/services/query/internal/chtest"
	"github.com/agenttrace/agenttrace/services/query/internal/query"
)

// TestReadsAreTimed: every read lands in the duration histogram under its
// query name, failed ones with outcome "error".
func TestReadsAreTimed(t *testing.T) {
	if testing.Short() {
		t.Skip("needs ClickHouse")
	}
	conn := chtest.NewDB(t)
	reg := prometheus.NewRegistry()
	m, err := chstore.NewMetrics(reg)
	if err != nil {
		t.Fatal(err)
	}
	s := chstore.New(conn).WithMetrics(m)
	ctx := context.Background()
	if _, err := s.TraceObservationPage(ctx, "p", "t", query.Days{}, query.Page{Limit: 10}, query.AllFields); err != nil {
		t.Fatal(err)
	}
	if n := testutil.CollectAndCount(reg, "agenttrace_clickhouse_query_duration_seconds"); n != 1 {
		t.Fatalf("%d series after one read, want 1", n)
	}
	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := s.TraceObservationPage(cancelled, "p", "t", query.Days{}, query.Page{Limit: 10}, query.AllFields); err == nil {
		t.Fatal("read with a cancelled context succeeded")
	}
	if n := testutil.CollectAndCount(reg, "agenttrace_clickhouse_query_duration_seconds"); n != 2 {
		t.Fatalf("%d series after a failed read, want 2 (ok and error)", n)
	}
	if _, err := chstore.NewMetrics(reg); err == nil {
		t.Fatal("registering twice succeeded")
	}
}
