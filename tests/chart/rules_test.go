package chart

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	monitoringv1 "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1"
	"github.com/prometheus/prometheus/promql/parser"
)

// exportedMetrics is every metric name the services can expose.
func exportedMetrics(t *testing.T) map[string]bool {
	t.Helper()
	names, err := SourceMetricNames(filepath.Join(repoRoot, "services"), filepath.Join(repoRoot, "pkg"))
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range StandardMetrics {
		names[n] = true
	}
	return names
}

// TestPrometheusRules: every alert expression parses as PromQL and only
// uses metrics the services export; the guide's five alerts are there.
func TestPrometheusRules(t *testing.T) {
	known := exportedMetrics(t)
	p := parser.NewParser(parser.Options{})
	forEachScenario(t, func(t *testing.T, s *scenario) {
		rules := All[*monitoringv1.PrometheusRule](s.objs)
		if s.boolean("prometheusRule.enabled") && len(rules) == 0 {
			t.Fatal("prometheusRule.enabled but no PrometheusRule rendered")
		}
		alerts := 0
		for _, pr := range rules {
			for _, g := range pr.Spec.Groups {
				for _, r := range g.Rules {
					name := r.Alert + r.Record
					if r.Alert != "" {
						alerts++
						if r.Labels["severity"] == "" || r.Annotations["summary"] == "" {
							t.Errorf("alert %s: a severity label and a summary annotation are wanted", r.Alert)
						}
					}
					expr, err := p.ParseExpr(r.Expr.String())
					if err != nil {
						t.Errorf("rule %s: %v\n%s", name, err, r.Expr.String())
						continue
					}
					parser.Inspect(expr, func(n parser.Node, _ []parser.Node) error {
						vs, ok := n.(*parser.VectorSelector)
						if !ok {
							return nil
						}
						metric := vs.Name
						for _, m := range vs.LabelMatchers {
							if m.Name == "__name__" {
								metric = m.Value
							}
						}
						if !known[baseMetric(metric, known)] && !isRecorded(rules, metric) {
							t.Errorf("rule %s uses metric %s, which no service exports", name, metric)
						}
						return nil
					})
				}
			}
		}
		if len(rules) > 0 && alerts < 5 {
			t.Errorf("%d alerts, want the guide's five (error rate, p99 latency, queue depth, pool exhaustion, ClickHouse query duration)", alerts)
		}
	})
}

// isRecorded: the name is produced by a recording rule of the chart.
func isRecorded(rules []*monitoringv1.PrometheusRule, name string) bool {
	for _, pr := range rules {
		for _, g := range pr.Spec.Groups {
			for _, r := range g.Rules {
				if r.Record == name {
					return true
				}
			}
		}
	}
	return false
}

// TestStandardMetricsAreRegistered keeps StandardMetrics honest: the
// service shell must still register the collectors they come from.
func TestStandardMetricsAreRegistered(t *testing.T) {
	src, err := os.ReadFile(filepath.Join(repoRoot, "pkg", "service", "service.go"))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"collectors.NewGoCollector()", "collectors.NewProcessCollector(", "grpcprom.NewServerMetrics(", "grpcprom.WithServerHandlingTimeHistogram("} {
		if !strings.Contains(string(src), want) {
			t.Errorf("pkg/service/service.go no longer calls %s: update StandardMetrics", want)
		}
	}
}

func TestSourceMetricNames(t *testing.T) {
	dir := t.TempDir()
	files := map[string]string{
		"a.go":      "package a\nvar _ = prometheus.CounterOpts{Name: \"agenttrace_x_total\", Help: \"x total\"}\nvar _ = `raw_metric_name`\n",
		"a_test.go": "package a\nvar _ = \"only_in_tests\"\n",
		"gen/g.go":  "package gen\nvar _ = \"generated_name\"\n",
	}
	for name, body := range files {
		path := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	got, err := SourceMetricNames(dir)
	if err != nil {
		t.Fatal(err)
	}
	for name, want := range map[string]bool{"agenttrace_x_total": true, "raw_metric_name": true, "x total": false, "only_in_tests": false, "generated_name": false} {
		if got[name] != want {
			t.Errorf("%q found = %v, want %v", name, got[name], want)
		}
	}
	if _, err := SourceMetricNames(filepath.Join(dir, "missing")); err == nil {
		t.Error("missing directory: want an error")
	}
	if b := baseMetric("agenttrace_x_total_bucket", map[string]bool{"agenttrace_x_total": true}); b != "agenttrace_x_total" {
		t.Errorf("baseMetric = %s", b)
	}
	if b := baseMetric("foo_count", map[string]bool{}); b != "foo_count" {
		t.Errorf("baseMetric of an unknown base = %s", b)
	}
}
