package testinfra

import (
	"context"
	"sort"
	"testing"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/agenttrace/agenttrace/pkg/chschema"
	"github.com/agenttrace/agenttrace/services/worker/internal/eventrows"
)

// Stored is every row of the three tables, in sort-key order, and the
// ingested_at of each (traces, then observations, then scores).
type Stored struct {
	eventrows.Batch
	IngestedAt []uint64
}

// ReadRows reads back every row the worker wrote to conn's database.
func ReadRows(t testing.TB, conn driver.Conn) Stored {
	t.Helper()
	var s Stored
	s.Traces, s.IngestedAt = readTable(t, conn, chschema.TraceTable, s.IngestedAt)
	s.Observations, s.IngestedAt = readTable(t, conn, chschema.ObservationTable, s.IngestedAt)
	s.Scores, s.IngestedAt = readTable(t, conn, chschema.ScoreTable, s.IngestedAt)
	return s
}

// readTable reads every row of table in sort-key order (by project, trace,
// id and event id), appending each row's ingested_at to at.
func readTable[R any](t testing.TB, conn driver.Conn, table chschema.Table[R], at []uint64) ([]R, []uint64) {
	t.Helper()
	var out []R
	order := " ORDER BY " + chschema.ColProjectID + ", " + table.TraceColumn + ", " + chschema.ColID + ", " + chschema.ColEventID
	query(t, conn, table.SelectSQL()+order, func(scan func(...any) error) error {
		var (
			r  R
			in uint64
		)
		err := scan(table.ScanDest(&r, &in)...)
		out, at = append(out, r), append(at, in)
		return err
	})
	return out, at
}

func query(t testing.TB, conn driver.Conn, q string, row func(scan func(...any) error) error) {
	t.Helper()
	rows, err := conn.Query(context.Background(), q)
	if err != nil {
		t.Fatalf("query: %v", err)
	}
	defer rows.Close()
	for rows.Next() {
		if err := row(rows.Scan); err != nil {
			t.Fatalf("scan: %v", err)
		}
	}
	if err := rows.Err(); err != nil {
		t.Fatalf("rows: %v", err)
	}
}

// Metric is the value of the counter, gauge or histogram sample count named
// name whose labels include the given name/value pairs; 0 when absent.
func Metric(t testing.TB, g prometheus.Gatherer, name string, labelPairs ...string) float64 {
	t.Helper()
	families, err := g.Gather()
	if err != nil {
		t.Fatalf("gather: %v", err)
	}
	for _, f := range families {
		if f.GetName() != name {
			continue
		}
	metrics:
		for _, m := range f.GetMetric() {
			for i := 0; i+1 < len(labelPairs); i += 2 {
				found := false
				for _, lp := range m.GetLabel() {
					if lp.GetName() == labelPairs[i] && lp.GetValue() == labelPairs[i+1] {
						found = true
					}
				}
				if !found {
					continue metrics
				}
			}
			switch {
			case m.Counter != nil:
				return m.GetCounter().GetValue()
			case m.Gauge != nil:
				return m.GetGauge().GetValue()
			case m.Histogram != nil:
				return float64(m.GetHistogram().GetSampleCount())
			}
		}
	}
	return 0
}

// IndexKeys names every row of the time indexes (chschema.TimeIndexes) as
// "table project trace", sorted.
func IndexKeys(t testing.TB, conn driver.Conn) []string {
	t.Helper()
	var keys []string
	for _, table := range chschema.TimeIndexes {
		q := "SELECT '" + table.Name + "', " + chschema.ColProjectID + ", " + table.TraceColumn + " FROM " + table.Name
		query(t, conn, q, func(scan func(...any) error) error {
			var name, project, trace string
			err := scan(&name, &project, &trace)
			keys = append(keys, name+" "+project+" "+trace)
			return err
		})
	}
	sort.Strings(keys)
	return keys
}

// RowKeys names every stored row as "kind project trace event_id", sorted:
// a compact view for tests about which rows a deletion left.
func RowKeys(t testing.TB, conn driver.Conn) []string {
	t.Helper()
	var keys []string
	for _, table := range chschema.TraceTables {
		q := "SELECT '" + table.Kind + "', " + chschema.ColProjectID + ", " + table.TraceColumn + ", " + chschema.ColEventID + " FROM " + table.Name
		query(t, conn, q, func(scan func(...any) error) error {
			var name, project, trace, event string
			err := scan(&name, &project, &trace, &event)
			keys = append(keys, name+" "+project+" "+trace+" "+event)
			return err
		})
	}
	sort.Strings(keys)
	return keys
}
