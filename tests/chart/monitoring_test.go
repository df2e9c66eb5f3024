package chart

import (
	"testing"

	monitoringv1 "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1"
	"helm.sh/helm/v3/pkg/chartutil"
	"k8s.io/apimachinery/pkg/runtime"
)

// TestMonitoringFollowsCapabilities: ServiceMonitors and the PrometheusRule
// render only where the cluster serves their API (a cluster without the
// prometheus-operator would refuse the whole release), or when forced (a
// render without cluster access for a cluster that has it).
func TestMonitoringFollowsCapabilities(t *testing.T) {
	sm := chartutil.VersionSet{"monitoring.coreos.com/v1", "monitoring.coreos.com/v1/ServiceMonitor"}
	both := append(chartutil.VersionSet{"monitoring.coreos.com/v1/PrometheusRule"}, sm...)
	tests := []struct {
		name     string
		apis     chartutil.VersionSet
		values   string
		monitors bool
		rule     bool
	}{
		{"operator installed", both, "{}", true, true},
		{"no operator", nil, "{}", false, false},
		{"only the ServiceMonitor API", sm, "{}", true, false},
		{"no operator, serviceMonitor.force", nil, "serviceMonitor: {force: true}", true, false},
		{"no operator, prometheusRule.force", nil, "prometheusRule: {force: true}", false, true},
		{"operator installed, both disabled", both, "serviceMonitor: {enabled: false}\nprometheusRule: {enabled: false}", false, false},
		{"forced but disabled", nil, "serviceMonitor: {enabled: false, force: true}\nprometheusRule: {enabled: false, force: true}", false, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cluster := &Cluster{Objects: []runtime.Object{RootCA(Namespace)}, APIVersions: tt.apis}
			objs := mustRender(t, Input{Values: yamlValues(t, tt.values), Cluster: cluster})
			monitors := len(All[*monitoringv1.ServiceMonitor](objs))
			rules := len(All[*monitoringv1.PrometheusRule](objs))
			wantMonitors, wantRules := 0, 0
			if tt.monitors {
				wantMonitors = len(Services)
			}
			if tt.rule {
				wantRules = 1
			}
			if monitors != wantMonitors || rules != wantRules {
				t.Errorf("%d ServiceMonitors and %d PrometheusRules, want %d and %d", monitors, rules, wantMonitors, wantRules)
			}
		})
	}
}
