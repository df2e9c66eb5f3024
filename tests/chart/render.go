package chart

import (
	"fmt"
	"path/filepath"
	"sort"
	"strings"

	"helm.sh/helm/v3/pkg/action"
	"helm.sh/helm/v3/pkg/chart/loader"
	"helm.sh/helm/v3/pkg/chartutil"
	"helm.sh/helm/v3/pkg/releaseutil"
)

// KubeVersion is the cluster version the chart is rendered for.
var KubeVersion = chartutil.KubeVersion{Version: "v1.33.0", Major: "1", Minor: "33"}

// apiVersions are the optional APIs a real cluster with the
// prometheus-operator and external-secrets installed offers, so templates
// gated on .Capabilities render their objects.
var apiVersions = chartutil.VersionSet{
	"monitoring.coreos.com/v1",
	"monitoring.coreos.com/v1/ServiceMonitor",
	"monitoring.coreos.com/v1/PrometheusRule",
	"external-secrets.io/v1",
	"external-secrets.io/v1/ExternalSecret",
}

// ReleaseName and Namespace are those of the rendered release.
const (
	ReleaseName = "agenttrace"
	Namespace   = "agenttrace"
)

// Manifest is one rendered YAML document.
type Manifest struct {
	// Source is the template that produced it ("agenttrace/templates/x.yaml").
	Source string
	// Hook is true for Helm hooks (migrations Job, helm test pod).
	Hook bool
	YAML string
}

// Render renders the chart in chartDir as `helm install --dry-run` would
// without a cluster, over the values in valuesFile ("" for the defaults).
// The chart's values.schema.json is applied.
func Render(chartDir, valuesFile string) ([]Manifest, map[string]any, error) {
	chrt, err := loader.Load(chartDir)
	if err != nil {
		return nil, nil, fmt.Errorf("load chart: %w", err)
	}
	vals := map[string]any{}
	if valuesFile != "" {
		v, err := chartutil.ReadValuesFile(valuesFile)
		if err != nil {
			return nil, nil, fmt.Errorf("read %s: %w", filepath.Base(valuesFile), err)
		}
		vals = v.AsMap()
	}
	install := action.NewInstall(&action.Configuration{Log: func(string, ...any) {}})
	install.DryRun = true
	install.ClientOnly = true
	install.Replace = true
	install.ReleaseName = ReleaseName
	install.Namespace = Namespace
	install.KubeVersion = &KubeVersion
	install.APIVersions = apiVersions
	rel, err := install.Run(chrt, vals)
	if err != nil {
		return nil, nil, fmt.Errorf("render: %w", err)
	}
	var out []Manifest
	out = append(out, split(rel.Manifest, false)...)
	for _, h := range rel.Hooks {
		out = append(out, split(h.Manifest, true)...)
	}
	merged, err := chartutil.CoalesceValues(chrt, vals)
	if err != nil {
		return nil, nil, fmt.Errorf("coalesce values: %w", err)
	}
	return out, merged.AsMap(), nil
}

// split cuts a multi-document manifest into its non-empty documents, in a
// stable order.
func split(manifest string, hook bool) []Manifest {
	docs := releaseutil.SplitManifests(manifest)
	keys := make([]string, 0, len(docs))
	for k := range docs {
		keys = append(keys, k)
	}
	sort.Sort(releaseutil.BySplitManifestsOrder(keys))
	var out []Manifest
	for _, k := range keys {
		doc := docs[k]
		if strings.TrimSpace(stripComments(doc)) == "" {
			continue
		}
		out = append(out, Manifest{Source: source(doc), Hook: hook, YAML: doc})
	}
	return out
}

func source(doc string) string {
	for _, line := range strings.Split(doc, "\n") {
		if s, ok := strings.CutPrefix(strings.TrimSpace(line), "# Source: "); ok {
			return s
		}
	}
	return "?"
}

func stripComments(doc string) string {
	var b strings.Builder
	for _, line := range strings.Split(doc, "\n") {
		if !strings.HasPrefix(strings.TrimSpace(line), "#") {
			b.WriteString(line)
			b.WriteByte('\n')
		}
	}
	return b.String()
}
