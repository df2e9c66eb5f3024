package chart

import (
	"path/filepath"
	"strings"
	"testing"

	monitoringv1 "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1"
	"helm.sh/helm/v3/pkg/chartutil"
)

// renderWith renders the chart over one extra values document, into a
// fresh namespace.
func renderWith(t *testing.T, values string) ([]Object, error) {
	t.Helper()
	return renderInput(t, Input{Values: yamlValues(t, values)})
}

// renderInput renders and decodes one variant of the chart.
func renderInput(t *testing.T, in Input) ([]Object, error) {
	t.Helper()
	ms, _, err := Render(chartDir, in)
	if err != nil {
		return nil, err
	}
	return Decode(ms)
}

// mustRender renders and decodes, failing the test on an error.
func mustRender(t *testing.T, in Input) []Object {
	t.Helper()
	objs, err := renderInput(t, in)
	if err != nil {
		t.Fatal(err)
	}
	return objs
}

// yamlValues parses a values document written in a test.
func yamlValues(t *testing.T, doc string) map[string]any {
	t.Helper()
	v, err := chartutil.ReadValues([]byte(doc))
	if err != nil {
		t.Fatalf("values %q: %v", doc, err)
	}
	return v.AsMap()
}

// TestSchemaRejectsBadValues: values.schema.json refuses wrong types and
// impossible numbers before anything renders.
func TestSchemaRejectsBadValues(t *testing.T) {
	// The control: a sound override renders, so the refusals below are the
	// schema's doing.
	if _, err := renderWith(t, "gateway:\n  replicas: 4\n"); err != nil {
		t.Fatalf("a valid override was refused: %v", err)
	}
	for name, values := range map[string]string{
		"replicas not a number":  "gateway:\n  replicas: three\n",
		"negative replicas":      "gateway:\n  replicas: -1\n",
		"HPA target over 100":    "query:\n  autoscaling:\n    targetCPUUtilizationPercentage: 150\n",
		"min replicas zero":      "auth:\n  autoscaling:\n    minReplicas: 0\n",
		"deploy not a boolean":   "redis:\n  deploy: sometimes\n",
		"port out of range":      "postgres:\n  port: 70000\n",
		"unknown pull policy":    "image:\n  pullPolicy: Sometimes\n",
		"misspelled service key": "worker:\n  replicsa: 2\n",
		"bad interval":           "serviceMonitor:\n  interval: soon\n",
		"enabled as string":      "ingress:\n  enabled: \"yes\"\n",
	} {
		t.Run(name, func(t *testing.T) {
			if _, err := renderWith(t, values); err == nil {
				t.Errorf("values accepted:\n%s", values)
			}
		})
	}
}

// TestServiceMonitorExtraLabels: the labels a Prometheus operator selects
// on (e.g. release: prometheus) land on every ServiceMonitor and the rule.
func TestServiceMonitorExtraLabels(t *testing.T) {
	objs, err := renderWith(t, "serviceMonitor:\n  labels:\n    release: prometheus\nprometheusRule:\n  labels:\n    release: prometheus\n")
	if err != nil {
		t.Fatal(err)
	}
	sms := All[*monitoringv1.ServiceMonitor](objs)
	if len(sms) < len(Services) {
		t.Errorf("%d ServiceMonitors, want one per service", len(sms))
	}
	for _, sm := range sms {
		if sm.Labels["release"] != "prometheus" {
			t.Errorf("ServiceMonitor %s labels %v lack release=prometheus", sm.Name, sm.Labels)
		}
	}
	for _, pr := range All[*monitoringv1.PrometheusRule](objs) {
		if pr.Labels["release"] != "prometheus" {
			t.Errorf("PrometheusRule %s labels %v lack release=prometheus", pr.Name, pr.Labels)
		}
	}
}

func TestRenderErrors(t *testing.T) {
	if _, _, err := Render(filepath.Join(t.TempDir(), "nochart"), Input{}); err == nil || !strings.Contains(err.Error(), "load chart") {
		t.Errorf("missing chart: err = %v", err)
	}
	if _, _, err := Render(chartDir, Input{ValuesFile: filepath.Join(t.TempDir(), "missing.yaml")}); err == nil || !strings.Contains(err.Error(), "read missing.yaml") {
		t.Errorf("missing values file: err = %v", err)
	}
}
