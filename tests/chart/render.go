package chart

import (
	"fmt"
	"maps"
	"path/filepath"
	"strings"

	"helm.sh/helm/v3/pkg/chart"
	"helm.sh/helm/v3/pkg/chart/loader"
	"helm.sh/helm/v3/pkg/chartutil"
	"helm.sh/helm/v3/pkg/engine"
	"helm.sh/helm/v3/pkg/releaseutil"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
)

// KubeVersion is the cluster version the chart is rendered for.
var KubeVersion = chartutil.KubeVersion{Version: "v1.33.0", Major: "1", Minor: "33"}

// OperatorAPIs are the optional APIs a cluster with the prometheus-operator
// and external-secrets installed offers, so templates gated on
// .Capabilities render their objects.
var OperatorAPIs = chartutil.VersionSet{
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

// TestRegistry is the image registry every render gets unless its values
// say otherwise: the chart refuses to render without one (AgentTrace
// publishes no images), and the scenarios are about everything else.
const TestRegistry = "registry.example.com/agenttrace"

// baseValues are merged under every render's values.
func baseValues() map[string]any {
	return map[string]any{"image": map[string]any{"registry": TestRegistry}}
}

// Cluster is what a render sees of the cluster it installs into: the
// objects `lookup` finds and the optional APIs .Capabilities lists.
type Cluster struct {
	// Objects are client-go typed objects (*corev1.Secret, *appsv1.StatefulSet, ...).
	Objects     []runtime.Object
	APIVersions chartutil.VersionSet
}

// FreshNamespace is a first install into an existing namespace of a
// cluster with the operators: the namespace's kube-root-ca.crt ConfigMap
// (every namespace has one) and nothing of the release yet.
func FreshNamespace() *Cluster {
	return &Cluster{
		Objects:     []runtime.Object{RootCA(Namespace)},
		APIVersions: OperatorAPIs,
	}
}

// Offline is what `helm template`, a client-side dry run or Argo CD sees:
// no object and no optional API.
func Offline() *Cluster { return &Cluster{} }

// RootCA is the kube-root-ca.crt ConfigMap Kubernetes puts in every namespace.
func RootCA(ns string) *corev1.ConfigMap {
	return &corev1.ConfigMap{
		ObjectMeta: metav1.ObjectMeta{Name: "kube-root-ca.crt", Namespace: ns},
		Data:       map[string]string{"ca.crt": "-----BEGIN CERTIFICATE-----\n...\n-----END CERTIFICATE-----\n"},
	}
}

// Input is one render of the chart.
type Input struct {
	// ValuesFile is a values file ("" for none); Values are merged over it,
	// and both over baseValues.
	ValuesFile string
	Values     map[string]any
	// Cluster is what lookup and .Capabilities see; nil: FreshNamespace().
	Cluster *Cluster
	// EditChart, when set, changes the loaded chart before it renders (a
	// new chart version, say).
	EditChart func(*chart.Chart)
}

// Manifest is one rendered YAML document.
type Manifest struct {
	// Source is the template that produced it ("agenttrace/templates/x.yaml").
	Source string
	// Hook is true for Helm hooks (the helm test pod); HookEvents are its
	// helm.sh/hook events ("test").
	Hook       bool
	HookEvents []string
	YAML       string
}

// Render renders the chart in chartDir the way `helm install` does against
// a cluster, with the steps of action.Install done by hand so that lookup
// is answered by a fake cluster (in.Cluster) instead of seeing nothing:
// load, merge values, enable dependencies, capabilities, render values
// (values.schema.json applied), render, drop NOTES.txt, sort into hooks
// and manifests. It returns the documents and the merged values.
func Render(chartDir string, in Input) ([]Manifest, map[string]any, error) {
	chrt, err := loader.Load(chartDir)
	if err != nil {
		return nil, nil, fmt.Errorf("load chart: %w", err)
	}
	if in.EditChart != nil {
		in.EditChart(chrt)
	}
	vals := baseValues()
	if in.ValuesFile != "" {
		v, err := chartutil.ReadValuesFile(in.ValuesFile)
		if err != nil {
			return nil, nil, fmt.Errorf("read %s: %w", filepath.Base(in.ValuesFile), err)
		}
		vals = mergeValues(vals, v.AsMap())
	}
	vals = mergeValues(vals, in.Values)
	if err := chartutil.ProcessDependenciesWithMerge(chrt, vals); err != nil {
		return nil, nil, fmt.Errorf("dependencies: %w", err)
	}

	cluster := in.Cluster
	if cluster == nil {
		cluster = FreshNamespace()
	}
	caps := chartutil.DefaultCapabilities.Copy()
	caps.KubeVersion = KubeVersion
	caps.APIVersions = append(caps.APIVersions, cluster.APIVersions...)
	if c := chrt.Metadata.KubeVersion; c != "" && !chartutil.IsCompatibleRange(c, caps.KubeVersion.String()) {
		return nil, nil, fmt.Errorf("chart requires kubeVersion %s, not %s", c, caps.KubeVersion.String())
	}
	opts := chartutil.ReleaseOptions{Name: ReleaseName, Namespace: Namespace, Revision: 1, IsInstall: true}
	top, err := chartutil.ToRenderValues(chrt, vals, opts, caps)
	if err != nil {
		return nil, nil, fmt.Errorf("values: %w", err)
	}
	provider, err := newFakeClientProvider(cluster.Objects)
	if err != nil {
		return nil, nil, err
	}
	files, err := engine.RenderWithClientProvider(chrt, top, provider)
	if err != nil {
		return nil, nil, fmt.Errorf("render: %w", err)
	}
	ms, err := sortRendered(files)
	if err != nil {
		return nil, nil, err
	}
	merged, ok := top["Values"].(chartutil.Values)
	if !ok {
		return nil, nil, fmt.Errorf("render values hold %T, not chartutil.Values", top["Values"])
	}
	return ms, merged.AsMap(), nil
}

// sortRendered turns the engine's files into documents as Helm does:
// NOTES.txt dropped, hooks told from the rest, documents of comments only
// (templates that render nothing but a comment) skipped.
func sortRendered(files map[string]string) ([]Manifest, error) {
	files = maps.Clone(files)
	for name := range files {
		if strings.HasSuffix(name, "NOTES.txt") {
			delete(files, name)
		}
	}
	hooks, generic, err := releaseutil.SortManifests(files, nil, releaseutil.InstallOrder)
	if err != nil {
		return nil, fmt.Errorf("sort manifests: %w", err)
	}
	var out []Manifest
	for _, m := range generic {
		if strings.TrimSpace(stripComments(m.Content)) != "" {
			out = append(out, Manifest{Source: m.Name, YAML: m.Content})
		}
	}
	for _, h := range hooks {
		var events []string
		for _, e := range h.Events {
			events = append(events, e.String())
		}
		out = append(out, Manifest{Source: h.Path, Hook: true, HookEvents: events, YAML: h.Manifest})
	}
	return out, nil
}

// mergeValues returns base with over merged in, recursively: over wins,
// maps are merged key by key. Neither argument is changed.
func mergeValues(base, over map[string]any) map[string]any {
	out := maps.Clone(base)
	if out == nil {
		out = map[string]any{}
	}
	for k, v := range over {
		bm, bok := out[k].(map[string]any)
		om, ook := v.(map[string]any)
		if bok && ook {
			out[k] = mergeValues(bm, om)
			continue
		}
		out[k] = v
	}
	return out
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
