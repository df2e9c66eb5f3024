package chart

import (
	"fmt"
	"testing"

	monitoringv1 "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1"
	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
)

// resources is a requests/limits pair from the guide's table.
type resources struct{ reqCPU, limCPU, reqMem, limMem string }

var (
	apiResources    = resources{"200m", "1000m", "256Mi", "1Gi"}
	workerResources = resources{"100m", "500m", "256Mi", "512Mi"}
)

func checkResources(t *testing.T, what string, got corev1.ResourceRequirements, want resources) {
	t.Helper()
	for _, c := range []struct {
		name string
		list corev1.ResourceList
		res  corev1.ResourceName
		want string
	}{
		{"requests.cpu", got.Requests, corev1.ResourceCPU, want.reqCPU},
		{"limits.cpu", got.Limits, corev1.ResourceCPU, want.limCPU},
		{"requests.memory", got.Requests, corev1.ResourceMemory, want.reqMem},
		{"limits.memory", got.Limits, corev1.ResourceMemory, want.limMem},
	} {
		q, ok := c.list[c.res]
		if !ok || q.Cmp(resource.MustParse(c.want)) != 0 {
			t.Errorf("%s %s = %v, want %s", what, c.name, q.String(), c.want)
		}
	}
}

// TestGuideServiceDefaults checks the deployment guide's numbers for the
// five services with the default values.
func TestGuideServiceDefaults(t *testing.T) {
	s := defaultScenario(t)
	deps := serviceDeployments(s.objs)
	hpas := All[*autoscalingv2.HorizontalPodAutoscaler](s.objs)
	pdbs := All[*policyv1.PodDisruptionBudget](s.objs)
	for _, svc := range Services {
		t.Run(svc, func(t *testing.T) {
			d, ok := deps[svc]
			if !ok {
				t.Fatal("no Deployment")
			}
			worker := svc == "worker"
			wantMin, res := int32(3), apiResources
			if worker {
				wantMin, res = 2, workerResources
			}
			c := mainContainer(t, svc, d.Spec.Template.Spec)
			checkResources(t, "container", c.Resources, res)
			checkProbes(t, c)

			hpa := hpaFor(hpas, d)
			if hpa == nil {
				t.Fatal("no HorizontalPodAutoscaler targets the Deployment")
			}
			// A first install starts the HPA's minimum (TestHPAReplicas).
			if d.Spec.Replicas == nil || *d.Spec.Replicas != wantMin {
				t.Errorf("replicas = %v on a first install, want the HPA's minimum %d", deref(d.Spec.Replicas), wantMin)
			}
			if hpa.Spec.MinReplicas == nil || *hpa.Spec.MinReplicas != wantMin || hpa.Spec.MaxReplicas != 10 {
				t.Errorf("HPA bounds %v–%d, want %d–10", deref(hpa.Spec.MinReplicas), hpa.Spec.MaxReplicas, wantMin)
			}
			if got := hpaCPUTarget(hpa); got != 70 {
				t.Errorf("HPA CPU target %d%%, want 70%%", got)
			}

			pdb := pdbFor(t, pdbs, d)
			if pdb == nil {
				t.Fatal("no PodDisruptionBudget selects the pods")
			}
			want := intstr.FromInt32(2)
			got := pdb.Spec.MinAvailable
			if worker {
				want, got = intstr.FromInt32(1), pdb.Spec.MaxUnavailable
			}
			if got == nil || *got != want {
				t.Errorf("PDB %s = %v, want %v", map[bool]string{true: "maxUnavailable", false: "minAvailable"}[worker], got, want.String())
			}
		})
	}
}

func deref(p *int32) any {
	if p == nil {
		return "nil"
	}
	return *p
}

func checkProbes(t *testing.T, c corev1.Container) {
	t.Helper()
	port := ""
	for _, p := range c.Ports {
		if p.Name == "http" {
			port = "http"
		}
	}
	if port == "" {
		t.Error("no container port named http (the admin port: probes and metrics)")
	}
	for _, p := range []struct {
		name  string
		probe *corev1.Probe
		path  string
	}{
		{"startup", c.StartupProbe, "/health"},
		{"liveness", c.LivenessProbe, "/health"},
		{"readiness", c.ReadinessProbe, "/ready"},
	} {
		if p.probe == nil || p.probe.HTTPGet == nil {
			t.Errorf("%s probe: want an HTTP GET on %s", p.name, p.path)
			continue
		}
		if p.probe.HTTPGet.Path != p.path || p.probe.HTTPGet.Port != intstr.FromString("http") {
			t.Errorf("%s probe: GET %s on port %s, want %s on http", p.name, p.probe.HTTPGet.Path, p.probe.HTTPGet.Port.String(), p.path)
		}
	}
}

func hpaFor(hpas []*autoscalingv2.HorizontalPodAutoscaler, d *appsv1.Deployment) *autoscalingv2.HorizontalPodAutoscaler {
	for _, h := range hpas {
		ref := h.Spec.ScaleTargetRef
		if ref.Kind == "Deployment" && ref.Name == d.Name && ref.APIVersion == "apps/v1" {
			return h
		}
	}
	return nil
}

func hpaCPUTarget(h *autoscalingv2.HorizontalPodAutoscaler) int32 {
	for _, m := range h.Spec.Metrics {
		if m.Type == autoscalingv2.ResourceMetricSourceType && m.Resource != nil && m.Resource.Name == corev1.ResourceCPU &&
			m.Resource.Target.Type == autoscalingv2.UtilizationMetricType && m.Resource.Target.AverageUtilization != nil {
			return *m.Resource.Target.AverageUtilization
		}
	}
	return 0
}

func pdbFor(t *testing.T, pdbs []*policyv1.PodDisruptionBudget, d *appsv1.Deployment) *policyv1.PodDisruptionBudget {
	t.Helper()
	var found *policyv1.PodDisruptionBudget
	for _, p := range pdbs {
		if selects(t, p.Spec.Selector, d.Spec.Template.Labels) {
			if found != nil {
				t.Errorf("PDBs %s and %s both select %s's pods", found.Name, p.Name, d.Name)
			}
			found = p
		}
	}
	return found
}

// TestReplicasFollowAutoscaling: in every scenario a Deployment has either
// an HPA (and, on a first install, its minimum as replicas) or its values'
// replicas.
func TestReplicasFollowAutoscaling(t *testing.T) {
	forEachScenario(t, func(t *testing.T, s *scenario) {
		hpas := All[*autoscalingv2.HorizontalPodAutoscaler](s.objs)
		for svc, d := range serviceDeployments(s.objs) {
			hpaOn := s.boolean(svc + ".autoscaling.enabled")
			hpa := hpaFor(hpas, d)
			switch {
			case hpaOn && hpa == nil:
				t.Errorf("%s: autoscaling.enabled but no HPA", svc)
			case hpaOn && fmt.Sprint(deref(d.Spec.Replicas)) != fmt.Sprint(s.value(svc+".autoscaling.minReplicas")):
				t.Errorf("%s: replicas %v on a first install, want the HPA's minimum %v", svc, deref(d.Spec.Replicas), s.value(svc+".autoscaling.minReplicas"))
			case !hpaOn && hpa != nil:
				t.Errorf("%s: autoscaling disabled but HPA %s rendered", svc, hpa.Name)
			case !hpaOn:
				want := fmt.Sprint(s.value(svc + ".replicas"))
				if d.Spec.Replicas == nil || fmt.Sprint(*d.Spec.Replicas) != want {
					t.Errorf("%s: replicas %v, want values' %s", svc, deref(d.Spec.Replicas), want)
				}
			}
		}
	})
}

// TestServiceMonitors: each service is scraped on its port http at
// /metrics every 30s, through a Service that selects its pods.
func TestServiceMonitors(t *testing.T) {
	s := defaultScenario(t)
	sms := All[*monitoringv1.ServiceMonitor](s.objs)
	svcs := All[*corev1.Service](s.objs)
	for name, d := range serviceDeployments(s.objs) {
		t.Run(name, func(t *testing.T) {
			var scraped bool
			for _, sm := range sms {
				for _, k8sSvc := range svcs {
					if !selects(t, &sm.Spec.Selector, k8sSvc.Labels) || !mapSelects(k8sSvc.Spec.Selector, d.Spec.Template.Labels) {
						continue
					}
					if !hasPort(k8sSvc, "http") {
						t.Errorf("Service %s selected by ServiceMonitor %s has no port named http", k8sSvc.Name, sm.Name)
					}
					for _, ep := range sm.Spec.Endpoints {
						if ep.Port != "http" || ep.Path != "/metrics" || ep.Interval != "30s" {
							t.Errorf("ServiceMonitor %s endpoint port %q path %q interval %q, want http /metrics 30s", sm.Name, ep.Port, ep.Path, ep.Interval)
						}
					}
					scraped = true
				}
			}
			if !scraped {
				t.Error("no ServiceMonitor selects a Service of this Deployment")
			}
		})
	}
}

func mapSelects(sel, l map[string]string) bool {
	if len(sel) == 0 {
		return false
	}
	for k, v := range sel {
		if l[k] != v {
			return false
		}
	}
	return true
}

func hasPort(s *corev1.Service, name string) bool {
	for _, p := range s.Spec.Ports {
		if p.Name == name {
			return true
		}
	}
	return false
}

// TestGuideStores checks the stores: StatefulSets with the guide's storage
// sizes and resources, the app label, and a headless Service.
func TestGuideStores(t *testing.T) {
	s := defaultScenario(t)
	stores := []struct {
		app  string
		size string
		res  *resources
	}{
		{"postgres", "10Gi", &resources{"250m", "1000m", "512Mi", "2Gi"}},
		{"clickhouse", "50Gi", &resources{"500m", "2000m", "1Gi", "4Gi"}},
		{"redis", "1Gi", &resources{"100m", "500m", "128Mi", "512Mi"}},
		{"nats", "", nil},
	}
	sets := All[*appsv1.StatefulSet](s.objs)
	for _, st := range stores {
		t.Run(st.app, func(t *testing.T) {
			var ss *appsv1.StatefulSet
			for _, x := range sets {
				if x.Spec.Template.Labels["app"] == st.app {
					ss = x
				}
			}
			if ss == nil {
				t.Fatalf("no StatefulSet with pod label app=%s", st.app)
			}
			for _, l := range []string{"app.kubernetes.io/name", "app.kubernetes.io/instance"} {
				if ss.Spec.Template.Labels[l] == "" {
					t.Errorf("pod label %s missing", l)
				}
			}
			if st.size != "" {
				if len(ss.Spec.VolumeClaimTemplates) == 0 {
					t.Fatal("no volumeClaimTemplates")
				}
				got := ss.Spec.VolumeClaimTemplates[0].Spec.Resources.Requests[corev1.ResourceStorage]
				if got.Cmp(resource.MustParse(st.size)) != 0 {
					t.Errorf("storage %s, want %s", got.String(), st.size)
				}
			}
			if st.res != nil {
				checkResources(t, "container", ss.Spec.Template.Spec.Containers[0].Resources, *st.res)
			}
			c := ss.Spec.Template.Spec.Containers[0]
			if c.ReadinessProbe == nil || c.LivenessProbe == nil {
				t.Error("readiness and liveness probes wanted")
			}
			var headless bool
			for _, svc := range All[*corev1.Service](s.objs) {
				if svc.Name == ss.Spec.ServiceName && svc.Spec.ClusterIP == corev1.ClusterIPNone {
					headless = true
				}
			}
			if !headless {
				t.Errorf("serviceName %q is not a rendered headless Service", ss.Spec.ServiceName)
			}
		})
	}
}

func TestImageService(t *testing.T) {
	for image, want := range map[string]string{
		"ghcr.io/agenttrace/agenttrace-gateway:0.1.0": "gateway",
		"registry:5000/agenttrace-worker@sha256:abc":  "worker",
		"agenttrace-auth": "auth",
		"ghcr.io/agenttrace/agenttrace-query:v1@sha256:1": "query",
		"postgres:16.4-alpine":                            "",
		"ghcr.io/agenttrace/agenttrace-gateway-debug:1":   "",
	} {
		if got := imageService(image); got != want {
			t.Errorf("imageService(%q) = %q, want %q", image, got, want)
		}
	}
}

// TestHPAReplicas: with the HPA on, a render that sees the cluster keeps
// the scale the cluster runs (an upgrade must not undo the HPA) and starts
// a new Deployment at the HPA's minimum (so `helm install --wait` waits for
// those pods); a render without cluster access leaves replicas to the HPA.
func TestHPAReplicas(t *testing.T) {
	running := &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: ReleaseName + "-gateway", Namespace: Namespace},
		Spec:       appsv1.DeploymentSpec{Replicas: ptr(int32(7))},
	}
	offline := Offline()
	tests := []struct {
		name    string
		cluster *Cluster
		values  map[string]any
		want    map[string]string // service -> replicas ("none": left out)
	}{
		{"first install", nil, nil, map[string]string{"gateway": "3", "worker": "2"}},
		{"upgrade keeps the HPA's scale", withObjects(running), nil, map[string]string{"gateway": "7", "worker": "2"}},
		{"no cluster access", offline, map[string]any{"global": map[string]any{"existingSecret": "s"}},
			map[string]string{"gateway": "none", "worker": "none"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			deps := serviceDeployments(mustRender(t, Input{Cluster: tt.cluster, Values: tt.values}))
			for svc, want := range tt.want {
				got := "none"
				if r := deps[svc].Spec.Replicas; r != nil {
					got = fmt.Sprint(*r)
				}
				if got != want {
					t.Errorf("%s: replicas %s, want %s", svc, got, want)
				}
			}
		})
	}
}

func ptr[T any](v T) *T { return &v }
