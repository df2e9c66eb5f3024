package chart

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	monitoringv1 "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1"
)

// renderWith renders the chart over one extra values document.
func renderWith(t *testing.T, values string) ([]Object, error) {
	t.Helper()
	f := filepath.Join(t.TempDir(), "values.yaml")
	if err := os.WriteFile(f, []byte(values), 0o644); err != nil {
		t.Fatal(err)
	}
	ms, _, err := Render(chartDir, f)
	if err != nil {
		return nil, err
	}
	return Decode(ms)
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
	if _, _, err := Render(filepath.Join(t.TempDir(), "nochart"), ""); err == nil || !strings.Contains(err.Error(), "load chart") {
		t.Errorf("missing chart: err = %v", err)
	}
	if _, _, err := Render(chartDir, filepath.Join(t.TempDir(), "missing.yaml")); err == nil || !strings.Contains(err.Error(), "read missing.yaml") {
		t.Errorf("missing values file: err = %v", err)
	}
}
