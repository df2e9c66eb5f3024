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

// guideAlerts are the deployment guide's alert thresholds: the comparison
// each alert's expression makes, the prometheusRule value that sets its
// number, and for the latency ones the quantile.
var guideAlerts = map[string]struct {
	op        string
	value     string // under prometheusRule
	threshold float64
	quantile  float64 // 0: not a histogram_quantile alert
}{
	"AgentTraceAPIErrorRateHigh":      {">", "errorRateThreshold", 0.01, 0},
	"AgentTraceGRPCErrorRateHigh":     {">", "errorRateThreshold", 0.01, 0},
	"AgentTraceAPILatencyP99High":     {">", "latencyP99Seconds", 0.5, 0.99},
	"AgentTraceGRPCLatencyP99High":    {">", "latencyP99Seconds", 0.5, 0.99},
	"AgentTraceWorkerQueueDepthHigh":  {">", "queueDepthThreshold", 1000, 0},
	"AgentTraceClickHouseQuerySlow":   {">", "clickhouseQuerySeconds", 10, 0.99},
	"AgentTracePostgresPoolExhausted": {">=", "postgresPoolUsage", 0.9, 0},
}

// guideFor is how long a condition must hold before the guide's alerts fire.
const guideFor = "5m"

// TestGuideAlertThresholds: the values' defaults are the guide's numbers,
// the rendered expressions compare against them, and against other
// numbers when the values change (a template that ignored its value, or
// compared the wrong way, fails here).
func TestGuideAlertThresholds(t *testing.T) {
	s := defaultScenario(t)
	guide := map[string]float64{}
	for _, a := range guideAlerts {
		guide[a.value] = a.threshold
	}
	for name, want := range guide {
		if got, ok := s.value("prometheusRule." + name).(float64); !ok || got != want {
			t.Errorf("values.yaml prometheusRule.%s = %v, want the guide's %v", name, s.value("prometheusRule."+name), want)
		}
	}
	if got := s.str("prometheusRule.for"); got != guideFor {
		t.Errorf("values.yaml prometheusRule.for = %q, want %s", got, guideFor)
	}
	t.Run("defaults", func(t *testing.T) { checkThresholds(t, s.objs, guide, guideFor) })

	other := map[string]float64{"errorRateThreshold": 0.02, "latencyP99Seconds": 0.75, "queueDepthThreshold": 5000, "clickhouseQuerySeconds": 3, "postgresPoolUsage": 0.8}
	vals := map[string]any{"for": "10m"}
	for k, v := range other {
		vals[k] = v
	}
	t.Run("changed values", func(t *testing.T) {
		checkThresholds(t, mustRender(t, Input{Values: map[string]any{"prometheusRule": vals}}), other, "10m")
	})
}

// checkThresholds: each of guideAlerts is rendered, holds for forWant, and
// compares with the number thresholds gives for its value.
func checkThresholds(t *testing.T, objs []Object, thresholds map[string]float64, forWant string) {
	t.Helper()
	p := parser.NewParser(parser.Options{})
	seen := map[string]bool{}
	for _, pr := range All[*monitoringv1.PrometheusRule](objs) {
		for _, g := range pr.Spec.Groups {
			for _, r := range g.Rules {
				want, ok := guideAlerts[r.Alert]
				if !ok {
					continue
				}
				seen[r.Alert] = true
				if r.For == nil || string(*r.For) != forWant {
					t.Errorf("%s: for %v, want %s", r.Alert, r.For, forWant)
				}
				expr, err := p.ParseExpr(r.Expr.String())
				if err != nil {
					t.Errorf("%s: %v", r.Alert, err)
					continue
				}
				cmp := thresholdComparison(expr)
				if cmp == nil {
					t.Errorf("%s: no comparison with a number in %s", r.Alert, r.Expr.String())
					continue
				}
				got := cmp.RHS.(*parser.NumberLiteral).Val
				if cmp.Op.String() != want.op || got != thresholds[want.value] {
					t.Errorf("%s: compares %s %v, want %s %v (prometheusRule.%s)", r.Alert, cmp.Op, got, want.op, thresholds[want.value], want.value)
				}
				if want.quantile != 0 {
					if q := quantileOf(cmp.LHS); q != want.quantile {
						t.Errorf("%s: histogram_quantile(%v, ...), want %v", r.Alert, q, want.quantile)
					}
				}
			}
		}
	}
	for name := range guideAlerts {
		if !seen[name] {
			t.Errorf("alert %s is not rendered", name)
		}
	}
}

// thresholdComparison finds the comparison of an alert with its number:
// the expression itself, or the left side of an and/unless/or chain.
func thresholdComparison(e parser.Expr) *parser.BinaryExpr {
	for {
		switch x := e.(type) {
		case *parser.ParenExpr:
			e = x.Expr
		case *parser.BinaryExpr:
			if x.Op.IsComparisonOperator() {
				if _, ok := x.RHS.(*parser.NumberLiteral); ok {
					return x
				}
				return nil
			}
			if x.Op.IsSetOperator() {
				e = x.LHS
				continue
			}
			return nil
		default:
			return nil
		}
	}
}

// quantileOf is the quantile of a histogram_quantile call (0 if e is none).
func quantileOf(e parser.Expr) float64 {
	for {
		p, ok := e.(*parser.ParenExpr)
		if !ok {
			break
		}
		e = p.Expr
	}
	call, ok := e.(*parser.Call)
	if !ok || call.Func.Name != "histogram_quantile" || len(call.Args) != 2 {
		return 0
	}
	if n, ok := call.Args[0].(*parser.NumberLiteral); ok {
		return n.Val
	}
	return 0
}
