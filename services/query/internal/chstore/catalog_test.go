package chstore

import (
	"testing"

	"github.com/agenttrace/agenttrace/services/query/internal/query"
)

// TestMetricsCatalogHasSQL: every field and measure the domain offers in a
// view has its SQL here, and nothing here is unreachable.
func TestMetricsCatalogHasSQL(t *testing.T) {
	for view, fields := range query.MetricsFields {
		sql, ok := metricsViews[view]
		if !ok {
			t.Errorf("view %s has no SQL", view)
			continue
		}
		want := map[string]bool{}
		for f, kind := range fields {
			if kind != query.FieldMetadata { // a metadata filter is built per key
				want[f] = true
			}
		}
		for _, m := range query.MetricsMeasures[view] {
			want[m] = true
		}
		for name := range want {
			if _, ok := sql.terms[name]; !ok {
				t.Errorf("%s.%s has no SQL", view, name)
			}
		}
		for name := range sql.terms {
			if !want[name] {
				t.Errorf("%s.%s has SQL but is not in the catalog", view, name)
			}
		}
	}
	if len(metricsViews) != len(query.MetricsFields) {
		t.Errorf("%d views with SQL, %d in the catalog", len(metricsViews), len(query.MetricsFields))
	}
}
