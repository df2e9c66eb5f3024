package chart

import (
	"reflect"
	"strings"
	"testing"

	"github.com/pmezard/go-difflib/difflib"
	"helm.sh/helm/v3/pkg/chart"
	"sigs.k8s.io/yaml"
)

// newChartVersion makes the loaded chart and its store subcharts a new
// release of themselves (version and appVersion 9.9.9), as a chart
// upgrade would be.
func newChartVersion(c *chart.Chart) {
	const v = "9.9.9"
	c.Metadata.Version, c.Metadata.AppVersion = v, v
	for _, d := range c.Metadata.Dependencies {
		d.Version = v
	}
	for _, sub := range c.Dependencies() {
		sub.Metadata.Version, sub.Metadata.AppVersion = v, v
	}
}

// TestStorePodTemplatesIgnoreChartVersion: a new chart version must not
// restart the stores; only a change of a store's own settings may. The
// whole pod template of each store's StatefulSet is compared.
func TestStorePodTemplatesIgnoreChartVersion(t *testing.T) {
	before := mustRender(t, Input{})
	after := mustRender(t, Input{EditChart: newChartVersion})
	for _, store := range stores {
		t.Run(store, func(t *testing.T) {
			a, b := statefulSet(t, before, store), statefulSet(t, after, store)
			// The control: the new version did reach the StatefulSet.
			if a.Labels["helm.sh/chart"] == b.Labels["helm.sh/chart"] {
				t.Fatalf("helm.sh/chart label %q in both renders: the chart version did not change", a.Labels["helm.sh/chart"])
			}
			if !reflect.DeepEqual(a.Spec.Template, b.Spec.Template) {
				t.Errorf("the pod template changes with the chart version (the store would restart):\n%s", yamlDiff(t, a.Spec.Template, b.Spec.Template))
			}
		})
	}
}

// yamlDiff is a unified diff of two values written as YAML.
func yamlDiff(t *testing.T, a, b any) string {
	t.Helper()
	ya, err := yaml.Marshal(a)
	if err != nil {
		t.Fatal(err)
	}
	yb, err := yaml.Marshal(b)
	if err != nil {
		t.Fatal(err)
	}
	d, err := difflib.GetUnifiedDiffString(difflib.UnifiedDiff{
		A: difflib.SplitLines(string(ya)), B: difflib.SplitLines(string(yb)),
		FromFile: "chart 0.1.0", ToFile: "chart 9.9.9", Context: 2,
	})
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// TestStoreVolumesImmutable: a StatefulSet's volumeClaimTemplates cannot
// change; an upgrade that would change them fails with the procedure
// instead of Kubernetes' bare refusal. The running StatefulSet in the fake
// cluster is the one the chart renders with its defaults.
func TestStoreVolumesImmutable(t *testing.T) {
	installed := mustRender(t, Input{})
	running := func(store string) *Cluster {
		return withObjects(statefulSet(t, installed, store))
	}
	tests := []struct {
		name    string
		store   string
		values  string
		wantErr []string // empty: the upgrade renders
	}{
		{"same volumes", "postgres", "{}", nil},
		{"same size written out", "postgres", "postgres: {persistence: {size: 10Gi}}", nil},
		{"a bigger volume", "postgres", "postgres: {persistence: {size: 20Gi}}",
			[]string{"postgres.persistence.size changed from 10Gi to 20Gi", "kubectl -n agenttrace patch pvc data-agenttrace-postgres-0", "delete statefulset agenttrace-postgres --cascade=orphan"}},
		{"another storage class", "clickhouse", "clickhouse: {persistence: {storageClass: fast-ssd}}",
			[]string{"clickhouse.persistence.storageClass changed", "copying its data"}},
		{"persistence switched off", "redis", "redis: {persistence: {enabled: false}}",
			[]string{"redis.persistence.enabled changed to false", "delete statefulset agenttrace-redis"}},
		{"another store's change is not this one's", "nats", "postgres: {persistence: {size: 20Gi}}", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := renderInput(t, Input{Values: yamlValues(t, tt.values), Cluster: running(tt.store)})
			if len(tt.wantErr) == 0 {
				if err != nil {
					t.Fatalf("upgrade refused: %v", err)
				}
				return
			}
			if err == nil {
				t.Fatal("upgrade rendered; Kubernetes would refuse the StatefulSet")
			}
			for _, w := range tt.wantErr {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error does not mention %q:\n%v", w, err)
				}
			}
		})
	}
}
