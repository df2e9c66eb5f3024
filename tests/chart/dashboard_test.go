package chart

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
)

// TestDashboardCopiesMatch: Helm cannot read files outside the chart, so the
// dashboard in monitoring/ is shipped from a copy inside it; the two must
// not drift.
func TestDashboardCopiesMatch(t *testing.T) {
	root := filepath.Join("..", "..")
	a, err := os.ReadFile(filepath.Join(root, "monitoring", "grafana-dashboard.json"))
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join(root, "charts", "agenttrace", "dashboards", "agenttrace.json"))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(a, b) {
		t.Fatal("monitoring/grafana-dashboard.json and charts/agenttrace/dashboards/agenttrace.json differ: copy one onto the other")
	}
	var d struct {
		Panels []json.RawMessage `json:"panels"`
	}
	if err := json.Unmarshal(a, &d); err != nil || len(d.Panels) == 0 {
		t.Fatalf("dashboard is not JSON with panels: %v", err)
	}
}
