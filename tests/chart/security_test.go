package chart

import (
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	psaapi "k8s.io/pod-security-admission/api"
	"k8s.io/pod-security-admission/policy"
)

// TestPodSecurityRestricted runs every pod template (services, stores,
// jobs, CronJobs, the helm test pod) through the pod-security admission
// evaluator at the restricted level.
func TestPodSecurityRestricted(t *testing.T) {
	eval, err := policy.NewEvaluator(policy.DefaultChecks(), nil)
	if err != nil {
		t.Fatal(err)
	}
	level := psaapi.LevelVersion{Level: psaapi.LevelRestricted, Version: psaapi.LatestVersion()}
	forEachScenario(t, func(t *testing.T, s *scenario) {
		pods := PodTemplates(s.objs)
		if len(pods) == 0 {
			t.Fatal("no pod templates")
		}
		for _, p := range pods {
			res := policy.AggregateCheckResults(eval.EvaluatePod(level, &p.Meta, &p.Spec))
			if !res.Allowed {
				t.Errorf("%s violates restricted: %s", p.Owner, res.ForbiddenDetail())
			}
		}
	})
}

// TestNetworkPolicySelectorsMatchPods: a policy whose pod selector matches
// nothing protects nothing, and a peer selector that matches no pod opens
// a path to nothing; both are typos waiting to break traffic. Ports named
// in a policy must be container ports of the pods it selects.
func TestNetworkPolicySelectorsMatchPods(t *testing.T) {
	forEachScenario(t, func(t *testing.T, s *scenario) {
		nps := All[*networkingv1.NetworkPolicy](s.objs)
		if s.boolean("networkPolicy.enabled") && len(nps) == 0 {
			t.Fatal("networkPolicy.enabled but no NetworkPolicy rendered")
		}
		pods := PodTemplates(s.objs)
		matching := func(match func(PodTemplate) bool) []PodTemplate {
			var out []PodTemplate
			for _, p := range pods {
				if match(p) {
					out = append(out, p)
				}
			}
			return out
		}
		for _, np := range nps {
			sel := np.Spec.PodSelector
			targets := matching(func(p PodTemplate) bool {
				return len(sel.MatchLabels) == 0 && len(sel.MatchExpressions) == 0 || selects(t, &sel, p.Meta.Labels)
			})
			if len(targets) == 0 {
				t.Errorf("NetworkPolicy %s: podSelector %v matches no rendered pod", np.Name, sel.MatchLabels)
				continue
			}
			check := func(dir string, peers []networkingv1.NetworkPolicyPeer, ports []networkingv1.NetworkPolicyPort, portPods []PodTemplate) {
				for _, peer := range peers {
					// Peers in other namespaces (ingress controller,
					// Prometheus) or outside the cluster are not ours to see.
					if peer.PodSelector == nil || peer.NamespaceSelector != nil || peer.IPBlock != nil {
						continue
					}
					ps := *peer.PodSelector
					if len(ps.MatchLabels) == 0 && len(ps.MatchExpressions) == 0 {
						continue
					}
					if len(matching(func(p PodTemplate) bool { return selects(t, &ps, p.Meta.Labels) })) == 0 {
						t.Errorf("NetworkPolicy %s %s peer %v matches no rendered pod", np.Name, dir, ps.MatchLabels)
					}
				}
				for _, port := range ports {
					if port.Port == nil || port.Port.Type != intstr.String || portPods == nil {
						continue
					}
					if !anyPodHasPort(portPods, port.Port.StrVal) {
						t.Errorf("NetworkPolicy %s %s: no selected pod has a port named %q", np.Name, dir, port.Port.StrVal)
					}
				}
			}
			for _, r := range np.Spec.Ingress {
				check("ingress", r.From, r.Ports, targets)
			}
			for _, r := range np.Spec.Egress {
				check("egress", r.To, r.Ports, nil)
			}
		}
	})
}

func anyPodHasPort(pods []PodTemplate, name string) bool {
	for _, p := range pods {
		for _, c := range append(append([]corev1.Container{}, p.Spec.Containers...), p.Spec.InitContainers...) {
			for _, cp := range c.Ports {
				if cp.Name == name {
					return true
				}
			}
		}
	}
	return false
}

// TestNamespacePodSecurityLabels: when the chart creates the namespace it
// enforces restricted.
func TestNamespacePodSecurityLabels(t *testing.T) {
	forEachScenario(t, func(t *testing.T, s *scenario) {
		for _, ns := range All[*corev1.Namespace](s.objs) {
			if got := ns.Labels["pod-security.kubernetes.io/enforce"]; !strings.EqualFold(got, "restricted") {
				t.Errorf("Namespace %s enforce label %q, want restricted", ns.Name, got)
			}
		}
	})
}

// TestServiceAccounts: every workload runs as its component's own
// ServiceAccount, rendered by the chart, and nothing mounts an API token
// (nothing in AgentTrace talks to the Kubernetes API). The helm test pod
// runs as the namespace's default account, without a token either.
func TestServiceAccounts(t *testing.T) {
	check := func(t *testing.T, objs []Object) map[string]string {
		t.Helper()
		accounts := map[string]*corev1.ServiceAccount{}
		for _, sa := range All[*corev1.ServiceAccount](objs) {
			accounts[sa.Name] = sa
			if sa.AutomountServiceAccountToken == nil || *sa.AutomountServiceAccountToken {
				t.Errorf("ServiceAccount %s mounts its token", sa.Name)
			}
		}
		byComponent := map[string]string{} // component -> account
		owner := map[string]string{}       // account -> component
		for _, p := range PodTemplates(objs) {
			if p.Spec.AutomountServiceAccountToken == nil || *p.Spec.AutomountServiceAccountToken {
				t.Errorf("%s mounts a ServiceAccount token", p.Owner)
			}
			component := p.Meta.Labels["app.kubernetes.io/component"]
			if component == "test" {
				continue
			}
			sa := p.Spec.ServiceAccountName
			if accounts[sa] == nil {
				t.Errorf("%s runs as ServiceAccount %q, which the chart does not render", p.Owner, sa)
			}
			if other, ok := owner[sa]; ok && other != component {
				t.Errorf("ServiceAccount %s is shared by %s and %s", sa, other, component)
			}
			owner[sa], byComponent[component] = component, sa
		}
		return byComponent
	}
	forEachScenario(t, func(t *testing.T, s *scenario) { check(t, s.objs) })

	t.Run("names and annotations from the values", func(t *testing.T) {
		objs := mustRender(t, Input{Values: yamlValues(t, everyPodValues+`
gateway: {serviceAccount: {create: true, name: gw, annotations: {eks.amazonaws.com/role-arn: "arn:aws:iam::1:role/gw"}}}
backup: {serviceAccount: {create: true, name: "", annotations: {iam.gke.io/gcp-service-account: b@p.iam.gserviceaccount.com}}}
postgres: {serviceAccount: {create: true, name: pg}}
`)})
		got := check(t, objs)
		for component, want := range map[string]string{
			"gateway": "gw", "ingest": ReleaseName + "-ingest", "migrations": ReleaseName + "-migrations",
			"backup": ReleaseName + "-backup", "postgres": "pg", "clickhouse": ReleaseName + "-clickhouse",
		} {
			if got[component] != want {
				t.Errorf("%s runs as %q, want %q", component, got[component], want)
			}
		}
		for _, sa := range All[*corev1.ServiceAccount](objs) {
			switch sa.Name {
			case "gw":
				if sa.Annotations["eks.amazonaws.com/role-arn"] == "" {
					t.Errorf("ServiceAccount gw annotations %v", sa.Annotations)
				}
			case ReleaseName + "-backup":
				if sa.Annotations["iam.gke.io/gcp-service-account"] == "" {
					t.Errorf("ServiceAccount %s annotations %v", sa.Name, sa.Annotations)
				}
			}
		}
	})
	t.Run("an account the operator made", func(t *testing.T) {
		objs := mustRender(t, Input{Values: yamlValues(t, "worker: {serviceAccount: {create: false, name: ops-worker}}")})
		for _, sa := range All[*corev1.ServiceAccount](objs) {
			if sa.Name == "ops-worker" || sa.Name == ReleaseName+"-worker" {
				t.Errorf("ServiceAccount %s rendered with worker.serviceAccount.create false", sa.Name)
			}
		}
		if d := serviceDeployments(objs)["worker"]; d == nil || d.Spec.Template.Spec.ServiceAccountName != "ops-worker" {
			t.Error("worker does not run as ops-worker")
		}
	})
}
