package chart

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
)

var (
	repoRoot = filepath.Join("..", "..")
	chartDir = filepath.Join(repoRoot, "charts", "agenttrace")
)

// scenario is the chart rendered over one values file.
type scenario struct {
	name   string
	objs   []Object
	values map[string]any
}

// renderAll renders the defaults and every ci/*-values.yaml once per test
// binary; every test walks the result.
var renderAll = sync.OnceValues(func() ([]*scenario, error) {
	files, err := filepath.Glob(filepath.Join(chartDir, "ci", "*-values.yaml"))
	if err != nil {
		return nil, err
	}
	sort.Strings(files)
	var out []*scenario
	start := time.Now()
	for _, f := range append([]string{""}, files...) {
		name := "default"
		if f != "" {
			name = strings.TrimSuffix(filepath.Base(f), "-values.yaml")
		}
		ms, vals, err := Render(chartDir, Input{ValuesFile: f})
		if err != nil {
			return nil, fmt.Errorf("scenario %s: %w", name, err)
		}
		objs, err := Decode(ms)
		if err != nil {
			return nil, fmt.Errorf("scenario %s: %w", name, err)
		}
		out = append(out, &scenario{name: name, objs: objs, values: vals})
	}
	fmt.Fprintf(os.Stderr, "rendered and decoded %d scenarios in %s\n", len(out), time.Since(start).Round(time.Millisecond))
	return out, nil
})

// forEachScenario runs fn as a subtest per scenario.
func forEachScenario(t *testing.T, fn func(t *testing.T, s *scenario)) {
	t.Helper()
	all, err := renderAll()
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range all {
		t.Run(s.name, func(t *testing.T) { fn(t, s) })
	}
}

func defaultScenario(t *testing.T) *scenario {
	t.Helper()
	all, err := renderAll()
	if err != nil {
		t.Fatal(err)
	}
	return all[0]
}

// value reads a dotted path from the merged values ("gateway.replicas").
func (s *scenario) value(path string) any {
	var cur any = s.values
	for _, k := range strings.Split(path, ".") {
		m, ok := cur.(map[string]any)
		if !ok {
			return nil
		}
		cur = m[k]
	}
	return cur
}

func (s *scenario) str(path string) string {
	v, _ := s.value(path).(string)
	return v
}

func (s *scenario) boolean(path string) bool {
	v, _ := s.value(path).(bool)
	return v
}

// serviceDeployments maps each service to its Deployment, found by image
// name (agenttrace-<service>).
func serviceDeployments(objs []Object) map[string]*appsv1.Deployment {
	out := map[string]*appsv1.Deployment{}
	for _, d := range All[*appsv1.Deployment](objs) {
		for _, c := range d.Spec.Template.Spec.Containers {
			if svc := imageService(c.Image); svc != "" {
				out[svc] = d
			}
		}
	}
	return out
}

// imageService returns the service whose image ref is given, or "".
func imageService(image string) string {
	repo := image
	if i := strings.IndexAny(repo, "@"); i >= 0 {
		repo = repo[:i]
	}
	if i := strings.LastIndex(repo, ":"); i > strings.LastIndex(repo, "/") {
		repo = repo[:i]
	}
	base := repo[strings.LastIndex(repo, "/")+1:]
	for _, s := range Services {
		if base == "agenttrace-"+s {
			return s
		}
	}
	return ""
}

// mainContainer is the container running the service's image.
func mainContainer(t *testing.T, svc string, spec corev1.PodSpec) corev1.Container {
	t.Helper()
	for _, c := range spec.Containers {
		if imageService(c.Image) == svc {
			return c
		}
	}
	t.Fatalf("%s: no container runs its image", svc)
	return corev1.Container{}
}

// selects reports whether a label selector matches the labels.
func selects(t *testing.T, sel *metav1.LabelSelector, l map[string]string) bool {
	t.Helper()
	if sel == nil {
		return false
	}
	s, err := metav1.LabelSelectorAsSelector(sel)
	if err != nil {
		t.Errorf("invalid selector %v: %v", sel, err)
		return false
	}
	return s.Matches(labels.Set(l))
}

func TestScenariosRender(t *testing.T) {
	all, err := renderAll()
	if err != nil {
		t.Fatal(err)
	}
	// The issue asks for at least: external stores, ingress+TLS, HPA off,
	// ExternalSecret on, minimal dev.
	if len(all) < 6 {
		t.Errorf("%d scenarios (defaults + ci/*-values.yaml), want at least 6", len(all))
	}
	for _, s := range all {
		if len(s.objs) == 0 {
			t.Errorf("%s: nothing rendered", s.name)
		}
		if len(serviceDeployments(s.objs)) != len(Services) {
			t.Errorf("%s: Deployments for %v, want all of %v", s.name, keys(serviceDeployments(s.objs)), Services)
		}
		// The only hook left is `helm test`'s pod: everything else, the
		// migrations included, is created with the release, so that
		// `helm install --wait` and GitOps tools see one set of objects.
		for _, o := range s.objs {
			if o.Hook && (o.Kind != "Pod" || strings.Join(o.HookEvents, ",") != "test") {
				t.Errorf("%s: %s %s is a %v hook; only the helm test pod should be one", s.name, o.Kind, o.Name, o.HookEvents)
			}
		}
	}
}

func keys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
