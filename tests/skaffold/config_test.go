package skaffold

import (
	"encoding/json"
	"os"
	"slices"
	"strings"
	"testing"

	jsonpatch "github.com/evanphx/json-patch/v5"
	kindv1alpha4 "sigs.k8s.io/kind/pkg/apis/config/v1alpha4"
	"sigs.k8s.io/yaml"
)

// The settings every image build uses, whichever builder runs it.
const runtimeImage = "gcr.io/distroless/static-debian12:nonroot"

var (
	wantGoFlags = []string{"-trimpath", "-tags=timetzdata"}
	wantLdflags = []string{"-s", "-w"}
	wantGoEnv   = []string{"GOWORK=off", "CGO_ENABLED=0"}
)

// skaffoldConfig is the part of skaffold.yaml the tests assert on; the
// schema test covers the rest.
type skaffoldConfig struct {
	Build struct {
		Artifacts []artifact `json:"artifacts"`
	} `json:"build"`
	Deploy struct {
		Helm struct {
			Releases []struct {
				Name              string            `json:"name"`
				ChartPath         string            `json:"chartPath"`
				ValuesFiles       []string          `json:"valuesFiles"`
				SetValueTemplates map[string]string `json:"setValueTemplates"`
			} `json:"releases"`
		} `json:"helm"`
	} `json:"deploy"`
	PortForward []struct {
		ResourceType string `json:"resourceType"`
		ResourceName string `json:"resourceName"`
		Port         int    `json:"port"`
		LocalPort    int    `json:"localPort"`
	} `json:"portForward"`
	Profiles []profile `json:"profiles"`
}

type profile struct {
	Name       string `json:"name"`
	Activation []struct {
		KubeContext string `json:"kubeContext"`
	} `json:"activation"`
	Patches json.RawMessage `json:"patches"`
	Build   struct {
		Artifacts []artifact `json:"artifacts"`
	} `json:"build"`
}

// profileNamed returns the profile called name.
func (c skaffoldConfig) profileNamed(t *testing.T, name string) profile {
	t.Helper()
	i := slices.IndexFunc(c.Profiles, func(p profile) bool { return p.Name == name })
	if i < 0 {
		t.Fatalf("skaffold.yaml has no %s profile", name)
	}
	return c.Profiles[i]
}

type artifact struct {
	Image   string `json:"image"`
	Context string `json:"context"`
	Docker  *struct {
		Dockerfile string            `json:"dockerfile"`
		BuildArgs  map[string]string `json:"buildArgs"`
	} `json:"docker"`
	Ko *koBuild `json:"ko"`
}

// koBuild is a ko build as skaffold (fromImage) and .ko.yaml (id) spell it.
type koBuild struct {
	ID        string   `json:"id"`
	FromImage string   `json:"fromImage"`
	Dir       string   `json:"dir"`
	Main      string   `json:"main"`
	Env       []string `json:"env"`
	Flags     []string `json:"flags"`
	Ldflags   []string `json:"ldflags"`
}

// imageName is the image skaffold builds for a service, and templateKey the
// name skaffold gives it in setValueTemplates ("-" becomes "_").
func imageName(svc string) string   { return "agenttrace-" + svc }
func templateKey(svc string) string { return strings.ReplaceAll(imageName(svc), "-", "_") }

func loadSkaffold(t *testing.T) skaffoldConfig {
	t.Helper()
	var cfg skaffoldConfig
	readYAML(t, "skaffold.yaml", &cfg)
	return cfg
}

func TestSkaffoldDockerArtifactPerService(t *testing.T) {
	cfg := loadSkaffold(t)
	svcs := services(t)
	var got []string
	for _, a := range cfg.Build.Artifacts {
		if a.Docker == nil {
			t.Errorf("%s: not a docker artifact", a.Image)
			continue
		}
		svc := a.Docker.BuildArgs["SERVICE"]
		got = append(got, svc)
		if a.Image != imageName(svc) {
			t.Errorf("artifact %s builds SERVICE=%s; want image %s", a.Image, svc, imageName(svc))
		}
		if a.Context != "." || a.Docker.Dockerfile != "build/Dockerfile" {
			t.Errorf("%s: context %q dockerfile %q; want the repository root and build/Dockerfile", a.Image, a.Context, a.Docker.Dockerfile)
		}
	}
	slices.Sort(got)
	if !slices.Equal(got, svcs) {
		t.Errorf("docker artifacts build %v; services are %v", got, svcs)
	}
}

func TestSkaffoldKoProfileMatchesKoYAML(t *testing.T) {
	cfg := loadSkaffold(t)
	svcs := services(t)
	// The fields of ko's configuration that .ko.yaml may use (ko's
	// documented config: ko.build/configuration); anything else is a typo.
	var koYAML struct {
		DefaultBaseImage string    `json:"defaultBaseImage"`
		DefaultPlatforms []string  `json:"defaultPlatforms"`
		Builds           []koBuild `json:"builds"`
	}
	readYAMLStrict(t, ".ko.yaml", &koYAML)
	if koYAML.DefaultBaseImage != runtimeImage {
		t.Errorf(".ko.yaml defaultBaseImage = %q; want %q", koYAML.DefaultBaseImage, runtimeImage)
	}

	check := func(where, svc string, b koBuild) {
		t.Helper()
		if strings.TrimPrefix(b.Dir, "./") != "services/"+svc || b.Main != "./cmd/"+svc {
			t.Errorf("%s %s: dir %q main %q; want services/%s and ./cmd/%s", where, svc, b.Dir, b.Main, svc, svc)
		}
		if _, err := os.Stat(repoPath("services/" + svc + "/cmd/" + svc)); err != nil {
			t.Errorf("%s %s: %v", where, svc, err)
		}
		if !slices.Equal(b.Env, wantGoEnv) || !slices.Equal(b.Flags, wantGoFlags) || !slices.Equal(b.Ldflags, wantLdflags) {
			t.Errorf("%s %s: env %v flags %v ldflags %v; want %v %v %v", where, svc, b.Env, b.Flags, b.Ldflags, wantGoEnv, wantGoFlags, wantLdflags)
		}
	}

	var fromKoYAML []string
	for _, b := range koYAML.Builds {
		fromKoYAML = append(fromKoYAML, b.ID)
		check(".ko.yaml", b.ID, b)
	}
	slices.Sort(fromKoYAML)
	if !slices.Equal(fromKoYAML, svcs) {
		t.Errorf(".ko.yaml builds %v; services are %v", fromKoYAML, svcs)
	}

	koProfile := cfg.profileNamed(t, "ko")
	var fromProfile []string
	for _, a := range koProfile.Build.Artifacts {
		if a.Ko == nil {
			t.Errorf("ko profile: %s is not a ko artifact", a.Image)
			continue
		}
		svc := strings.TrimPrefix(a.Image, "agenttrace-")
		fromProfile = append(fromProfile, svc)
		check("ko profile", svc, *a.Ko)
		if a.Ko.FromImage != runtimeImage || a.Context != "." {
			t.Errorf("ko profile %s: fromImage %q context %q; want %q and the repository root", svc, a.Ko.FromImage, a.Context, runtimeImage)
		}
	}
	slices.Sort(fromProfile)
	if !slices.Equal(fromProfile, svcs) {
		t.Errorf("ko profile builds %v; services are %v", fromProfile, svcs)
	}
}

func TestSkaffoldHelmInjectsEveryImage(t *testing.T) {
	cfg := loadSkaffold(t)
	if n := len(cfg.Deploy.Helm.Releases); n != 1 {
		t.Fatalf("%d helm releases; want the one umbrella release", n)
	}
	rel := cfg.Deploy.Helm.Releases[0]
	if rel.Name != "agenttrace" || rel.ChartPath != "charts/agenttrace" {
		t.Errorf("release %q chart %q; want agenttrace from charts/agenttrace", rel.Name, rel.ChartPath)
	}
	want := map[string]string{}
	for _, svc := range services(t) {
		want[svc+".image.repository"] = "{{.IMAGE_REPO_" + templateKey(svc) + "}}"
		want[svc+".image.tag"] = "{{.IMAGE_TAG_" + templateKey(svc) + "}}"
	}
	if got := sortedKeys(rel.SetValueTemplates); !slices.Equal(got, sortedKeys(want)) {
		t.Errorf("setValueTemplates keys %v; want %v", got, sortedKeys(want))
	}
	for k, v := range want {
		if rel.SetValueTemplates[k] != v {
			t.Errorf("setValueTemplates[%s] = %q; want %q", k, rel.SetValueTemplates[k], v)
		}
	}

	// Every key skaffold sets must be one the chart declares, or helm would
	// silently ignore the built image.
	chart := chartValues(t)
	for _, k := range sortedKeys(want) {
		if !hasPath(chart, strings.Split(k, ".")) {
			t.Errorf("setValueTemplates sets %s, which charts/agenttrace/values.yaml does not declare", k)
		}
	}

	forwards := map[int]string{}
	for _, pf := range cfg.PortForward {
		if pf.ResourceType != "service" || pf.Port != pf.LocalPort {
			t.Errorf("port-forward %+v: want a service port forwarded to the same local port", pf)
		}
		forwards[pf.Port] = pf.ResourceName
	}
	if forwards[8080] != "agenttrace-gateway" || forwards[4317] != "agenttrace-ingest" {
		t.Errorf("port-forwards %v; want 8080 to agenttrace-gateway and 4317 to agenttrace-ingest", forwards)
	}
}

// chartValues reads the chart's default values.
func chartValues(t *testing.T) map[string]any {
	t.Helper()
	var v map[string]any
	readYAML(t, "charts/agenttrace/values.yaml", &v)
	return v
}

// hasPath reports whether the nested map m has the key path.
func hasPath(m map[string]any, path []string) bool {
	v, ok := m[path[0]]
	if !ok {
		return false
	}
	if len(path) == 1 {
		return true
	}
	sub, ok := v.(map[string]any)
	return ok && hasPath(sub, path[1:])
}

// leafPaths lists the dotted paths of the non-map values in m.
func leafPaths(m map[string]any, prefix string) []string {
	var out []string
	for _, k := range sortedKeys(m) {
		if sub, ok := m[k].(map[string]any); ok && len(sub) > 0 {
			out = append(out, leafPaths(sub, prefix+k+".")...)
			continue
		}
		out = append(out, prefix+k)
	}
	return out
}

func TestKindProfile(t *testing.T) {
	// kind's own v1alpha4 types, decoded strictly: a misspelt or unknown
	// field fails here instead of at `kind create cluster`.
	var cluster kindv1alpha4.Cluster
	readYAMLStrict(t, "deploy/kind/cluster.yaml", &cluster)
	if cluster.Kind != "Cluster" || cluster.APIVersion != "kind.x-k8s.io/v1alpha4" {
		t.Errorf("deploy/kind/cluster.yaml is %s %s; want a kind.x-k8s.io/v1alpha4 Cluster", cluster.APIVersion, cluster.Kind)
	}
	var roles []kindv1alpha4.NodeRole
	for _, n := range cluster.Nodes {
		roles = append(roles, n.Role)
	}
	if !slices.Equal(roles, []kindv1alpha4.NodeRole{kindv1alpha4.ControlPlaneRole, kindv1alpha4.WorkerRole}) {
		t.Errorf("kind nodes %v; want one control-plane and one worker", roles)
	}
	kubeContext := "kind-" + cluster.Name

	data, err := os.ReadFile(repoPath("skaffold.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	base, err := yaml.YAMLToJSONStrict(data)
	if err != nil {
		t.Fatal(err)
	}
	cfg := loadSkaffold(t)
	prof := cfg.profileNamed(t, "kind")
	if len(prof.Activation) != 1 || prof.Activation[0].KubeContext != kubeContext {
		t.Errorf("kind profile activation %+v; want kubeContext %s (deploy/kind/cluster.yaml's name)", prof.Activation, kubeContext)
	}

	// Apply the profile's patches as skaffold does (RFC 6902 on the base
	// config): a path that does not exist fails here instead of at
	// `skaffold dev` time, and the result must still conform to the schema.
	patch, err := jsonpatch.DecodePatch(prof.Patches)
	if err != nil {
		t.Fatalf("kind profile patches: %v", err)
	}
	patched, err := patch.Apply(base)
	if err != nil {
		t.Fatalf("apply kind profile patches: %v", err)
	}
	if err := validateYAML(compileSchema(t), patched); err != nil {
		t.Fatalf("skaffold.yaml with the kind profile applied does not conform to the schema: %v", err)
	}
	var got struct {
		Build struct {
			Local struct {
				Push *bool `json:"push"`
			} `json:"local"`
		} `json:"build"`
		Deploy struct {
			KubeContext string `json:"kubeContext"`
			Helm        struct {
				Releases []struct {
					ValuesFiles []string `json:"valuesFiles"`
				} `json:"releases"`
			} `json:"helm"`
		} `json:"deploy"`
	}
	if err := json.Unmarshal(patched, &got); err != nil {
		t.Fatal(err)
	}
	if got.Build.Local.Push == nil || *got.Build.Local.Push {
		t.Error("kind profile pushes images; kind loads them from the local Docker instead")
	}
	if got.Deploy.KubeContext != kubeContext {
		t.Errorf("kind profile deploys to %q; want %q", got.Deploy.KubeContext, kubeContext)
	}
	if len(got.Deploy.Helm.Releases) != 1 || !slices.Equal(got.Deploy.Helm.Releases[0].ValuesFiles, []string{"deploy/kind/values.yaml"}) {
		t.Fatalf("kind profile release values files %+v; want deploy/kind/values.yaml", got.Deploy.Helm.Releases)
	}

	// Every value the kind overlay sets must exist in the chart.
	var overlay map[string]any
	readYAML(t, "deploy/kind/values.yaml", &overlay)
	chart := chartValues(t)
	for _, p := range leafPaths(overlay, "") {
		if !hasPath(chart, strings.Split(p, ".")) {
			t.Errorf("deploy/kind/values.yaml sets %s, which charts/agenttrace/values.yaml does not declare", p)
		}
	}
}
