package skaffold

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"text/template"

	"sigs.k8s.io/yaml"
)

// kubeVersion is the cluster version the chart is rendered for; helm needs
// an explicit one offline.
const kubeVersion = "1.33.0"

// helmBinary finds helm: $HELM, the repository's pinned bin/helm, or PATH.
func helmBinary(t *testing.T) string {
	t.Helper()
	if h := os.Getenv("HELM"); h != "" {
		return h
	}
	if h, err := filepath.Abs(repoPath("bin/helm")); err == nil {
		if _, err := os.Stat(h); err == nil {
			return h
		}
	}
	if h, err := exec.LookPath("helm"); err == nil {
		return h
	}
	t.Fatal("helm not found: set HELM, or build the pinned one into bin/ (make test does: go install helm.sh/helm/v3/cmd/helm@v3.22.0), or put helm on PATH")
	return ""
}

// skaffoldSetValues evaluates the release's setValueTemplates the way
// skaffold does after a build, with repo/tag standing in for each built
// image, and returns them as helm --set arguments. A template naming an
// image skaffold does not build fails (missingkey=error), as it would in
// skaffold.
func skaffoldSetValues(t *testing.T, templates map[string]string, repo func(svc string) string, tag string) []string {
	t.Helper()
	env := map[string]string{}
	for _, svc := range services(t) {
		env["IMAGE_REPO_"+templateKey(svc)] = repo(svc)
		env["IMAGE_TAG_"+templateKey(svc)] = tag
	}
	var args []string
	for _, k := range sortedKeys(templates) {
		tmpl, err := template.New(k).Option("missingkey=error").Parse(templates[k])
		if err != nil {
			t.Fatalf("setValueTemplates[%s]: %v", k, err)
		}
		var v bytes.Buffer
		if err := tmpl.Execute(&v, env); err != nil {
			t.Fatalf("setValueTemplates[%s]: %v", k, err)
		}
		args = append(args, "--set", k+"="+v.String())
	}
	return args
}

// object is the part of a rendered manifest the test reads.
type object struct {
	Kind     string `json:"kind"`
	Metadata struct {
		Name string `json:"name"`
	} `json:"metadata"`
	Spec struct {
		Replicas    *int          `json:"replicas"`
		Ports       []servicePort `json:"ports"`
		Template    *podTemplate  `json:"template"`
		JobTemplate *struct {
			Spec struct {
				Template podTemplate `json:"template"`
			} `json:"spec"`
		} `json:"jobTemplate"`
	} `json:"spec"`
}

type servicePort struct {
	Port int `json:"port"`
}

type podTemplate struct {
	Spec struct {
		InitContainers []container `json:"initContainers"`
		Containers     []container `json:"containers"`
	} `json:"spec"`
}

type container struct {
	Name    string   `json:"name"`
	Image   string   `json:"image"`
	Command []string `json:"command"`
}

// renderSecret stands in for the generated Secret in these renders: helm
// template cannot see a cluster, and the chart refuses to generate
// passwords there (they would change on every render). skaffold installs
// with cluster access, where the chart generates the Secret itself;
// tests/chart covers that path.
const renderSecret = "agenttrace-secrets"

// TestSkaffoldKindDeploymentRendersWithBuiltImages renders the chart as
// `skaffold dev -p kind` installs it (the kind overlay plus the evaluated
// setValueTemplates) and checks that every service workload runs the image
// skaffold built, through the image's ENTRYPOINT, that the port-forward
// targets exist, and that the overlay drops what kind cannot run. The
// images are named as skaffold names them on kind (bare names loaded into
// the nodes, which the overlay's image.local allows) and with a
// --default-repo (a repository with a "/", used as it is).
func TestSkaffoldKindDeploymentRendersWithBuiltImages(t *testing.T) {
	if testing.Short() {
		t.Skip("runs helm; skipped with -short")
	}
	for _, tt := range []struct {
		name  string
		built func(svc string) string
	}{
		{"kind, images loaded into the nodes", imageName},
		{"--default-repo", func(svc string) string { return "localhost:5000/dev/" + imageName(svc) }},
	} {
		t.Run(tt.name, func(t *testing.T) { checkKindRender(t, tt.built) })
	}
}

func checkKindRender(t *testing.T, built func(svc string) string) {
	helm := helmBinary(t)
	cfg := loadSkaffold(t)
	rel := cfg.Deploy.Helm.Releases[0]
	kindProfile := cfg.profileNamed(t, "kind")
	if len(kindProfile.Activation) == 0 {
		t.Fatal("kind profile has no activation")
	}

	const tag = "skaffold-test"
	args := []string{"template", rel.Name, repoPath(rel.ChartPath), "--kube-version", kubeVersion,
		"-f", repoPath("deploy/kind/values.yaml"), "--set", "global.existingSecret=" + renderSecret,
		// As if the operator's API were there: the chart would then render
		// ServiceMonitors and the PrometheusRule, so the check below sees
		// the overlay (not the missing API) leave them out.
		"--api-versions", "monitoring.coreos.com/v1/ServiceMonitor", "--api-versions", "monitoring.coreos.com/v1/PrometheusRule"}
	args = append(args, skaffoldSetValues(t, rel.SetValueTemplates, built, tag)...)
	cmd := exec.CommandContext(t.Context(), helm, args...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("helm %s: %v\n%s", strings.Join(args, " "), err, stderr.String())
	}

	var objs []object
	for doc := range strings.SplitSeq(string(out), "\n---") {
		var o object
		if err := yaml.Unmarshal([]byte(doc), &o); err != nil {
			t.Fatalf("decode rendered manifest: %v\n%s", err, doc)
		}
		if o.Kind != "" {
			objs = append(objs, o)
		}
	}

	t.Logf("helm rendered %d objects", len(objs))

	wantImages := map[string]bool{}
	for _, svc := range services(t) {
		wantImages[built(svc)+":"+tag] = true
	}
	deployments := map[string]object{}
	svcObjs := map[string]object{}
	for _, o := range objs {
		switch o.Kind {
		case "HorizontalPodAutoscaler", "PodDisruptionBudget", "ServiceMonitor", "PrometheusRule":
			t.Errorf("the kind overlay still renders %s %s", o.Kind, o.Metadata.Name)
		case "Deployment":
			deployments[o.Metadata.Name] = o
		case "Service":
			svcObjs[o.Metadata.Name] = o
		}
		var pods []podTemplate
		if o.Spec.Template != nil {
			pods = append(pods, *o.Spec.Template)
		}
		if o.Spec.JobTemplate != nil {
			pods = append(pods, o.Spec.JobTemplate.Spec.Template)
		}
		for _, p := range pods {
			for _, c := range slices.Concat(p.Spec.InitContainers, p.Spec.Containers) {
				// Any AgentTrace image must be one skaffold built, and it
				// must run through the image's ENTRYPOINT (the Dockerfile
				// and ko place the binary differently).
				if !strings.Contains(c.Image, "agenttrace-") {
					continue
				}
				if !wantImages[c.Image] {
					t.Errorf("%s %s container %s runs %s, not an image skaffold built", o.Kind, o.Metadata.Name, c.Name, c.Image)
				}
				if len(c.Command) > 0 {
					t.Errorf("%s %s container %s sets command %v; the images' ENTRYPOINT is the binary, use args", o.Kind, o.Metadata.Name, c.Name, c.Command)
				}
			}
		}
	}

	for _, svc := range services(t) {
		name := rel.Name + "-" + svc
		d, ok := deployments[name]
		if !ok {
			t.Errorf("no Deployment %s", name)
			continue
		}
		if d.Spec.Replicas == nil || *d.Spec.Replicas != 1 {
			t.Errorf("Deployment %s replicas %v; the kind overlay sets 1", name, d.Spec.Replicas)
		}
		if got := d.Spec.Template.Spec.Containers[0].Image; got != built(svc)+":"+tag {
			t.Errorf("Deployment %s runs %s; want the built %s:%s", name, got, built(svc), tag)
		}
	}

	for _, pf := range cfg.PortForward {
		s, ok := svcObjs[pf.ResourceName]
		if !ok {
			t.Errorf("port-forward targets Service %s, which the chart does not render", pf.ResourceName)
			continue
		}
		if !slices.ContainsFunc(s.Spec.Ports, func(p servicePort) bool { return p.Port == pf.Port }) {
			t.Errorf("port-forward targets %s port %d, which the Service does not expose (%+v)", pf.ResourceName, pf.Port, s.Spec.Ports)
		}
	}
}
