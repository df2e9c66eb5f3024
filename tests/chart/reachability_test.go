package chart

import (
	"fmt"
	"net/netip"
	"slices"
	"sort"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
)

// releaseNamespaceLabels are the labels Kubernetes gives the release's namespace.
var releaseNamespaceLabels = map[string]string{"kubernetes.io/metadata.name": Namespace}

// outsidePods are the pods around the release that its policies must
// tell apart: the ingress controller, Prometheus, the cluster DNS, another
// app in the release's namespace and a pod beside Prometheus that is not
// Prometheus.
func outsidePods() []Pod {
	ns := func(name string) map[string]string { return map[string]string{"kubernetes.io/metadata.name": name} }
	tcp := func(name string, port int32) corev1.ContainerPort {
		return corev1.ContainerPort{Name: name, ContainerPort: port, Protocol: corev1.ProtocolTCP}
	}
	return []Pod{
		{Name: "ingress-controller", Namespace: "ingress-nginx", NamespaceLabels: ns("ingress-nginx"),
			Labels: map[string]string{"app.kubernetes.io/name": "ingress-nginx", "app.kubernetes.io/component": "controller"},
			Ports:  []corev1.ContainerPort{tcp("http", 80), tcp("https", 443)}},
		{Name: "prometheus", Namespace: "monitoring", NamespaceLabels: ns("monitoring"),
			Labels: map[string]string{"app.kubernetes.io/name": "prometheus"},
			Ports:  []corev1.ContainerPort{tcp("web", 9090)}},
		{Name: "grafana", Namespace: "monitoring", NamespaceLabels: ns("monitoring"),
			Labels: map[string]string{"app.kubernetes.io/name": "grafana"},
			Ports:  []corev1.ContainerPort{tcp("grafana", 3000)}},
		{Name: "kube-dns", Namespace: "kube-system", NamespaceLabels: ns("kube-system"),
			Labels: map[string]string{"k8s-app": "kube-dns"},
			Ports: []corev1.ContainerPort{
				{Name: "dns", ContainerPort: 53, Protocol: corev1.ProtocolUDP},
				tcp("dns-tcp", 53),
				tcp("metrics", 9153),
			}},
		{Name: "other-app", Namespace: Namespace, NamespaceLabels: releaseNamespaceLabels,
			Labels: map[string]string{"app": "other"},
			Ports:  []corev1.ContainerPort{tcp("http", 8080)}},
	}
}

// releasePods is one pod per rendered workload, named by its component
// label (gateway, postgres, migrations, test, ...).
func releasePods(t *testing.T, objs []Object) []Pod {
	t.Helper()
	var out []Pod
	seen := map[string]string{}
	for _, p := range PodTemplates(objs) {
		name := p.Meta.Labels["app.kubernetes.io/component"]
		if name == "" {
			t.Fatalf("%s: pod template without an app.kubernetes.io/component label", p.Owner)
		}
		if other, ok := seen[name]; ok {
			t.Fatalf("%s and %s both have component %s", other, p.Owner, name)
		}
		seen[name] = p.Owner
		var ports []corev1.ContainerPort
		for _, c := range p.Spec.Containers {
			ports = append(ports, c.Ports...)
		}
		out = append(out, Pod{Name: name, Namespace: Namespace, NamespaceLabels: releaseNamespaceLabels, Labels: p.Meta.Labels, Ports: ports})
	}
	return out
}

// withIPs gives every pod an address in the pod network, so that ipBlock
// peers are evaluated against pods too.
func withIPs(pods []Pod) []Pod {
	for i := range pods {
		pods[i].IP = netip.AddrFrom4([4]byte{10, 244, byte(i / 250), byte(1 + i%250)})
	}
	return pods
}

// expectedConnections is the architecture, written out by hand: who talks
// to whom on which port, and nothing else. Ports are the destination's
// container port names.
func expectedConnections() []string {
	var want []string
	add := func(from []string, to string, ports ...string) {
		for _, f := range from {
			for _, p := range ports {
				want = append(want, fmt.Sprintf("%s -> %s:%s", f, to, p))
			}
		}
	}
	// REST and OTLP/HTTP in; the helm test pod checks the gateway.
	add([]string{"ingress-controller", "test"}, "gateway", "api")
	// The gateway fronts the gRPC services.
	add([]string{"gateway"}, "ingest", "grpc")
	add([]string{"gateway"}, "query", "grpc")
	// Every service asks auth to validate keys.
	add([]string{"gateway", "ingest", "query", "worker"}, "auth", "grpc")
	// Stores, each to its clients only.
	add([]string{"ingest", "query", "auth", "worker"}, "nats", "client")
	add([]string{"ingest", "query", "auth"}, "redis", "redis")
	add([]string{"query", "worker", "migrations"}, "clickhouse", "native")
	add([]string{"auth", "migrations"}, "postgres", "postgres")
	// Prometheus scrapes each service's admin port.
	for _, svc := range Services {
		add([]string{"prometheus"}, svc, "http")
	}
	// Every pod of the release resolves names.
	release := append(slices.Clone(Services), "migrations", "test", "postgres", "clickhouse", "redis", "nats")
	add(release, "kube-dns", "dns", "dns-tcp")
	sort.Strings(want)
	return want
}

// TestNetworkPolicyReachability computes, from the rendered NetworkPolicies
// and the rendered pod templates, every connection that the policies allow
// to or from a pod of the release (traffic between outside pods is not the
// chart's), and checks that it is exactly the architecture's: no path
// missing, none extra.
func TestNetworkPolicyReachability(t *testing.T) {
	s := defaultScenario(t)
	pods := withIPs(append(releasePods(t, s.objs), outsidePods()...))
	inRelease := map[string]bool{}
	for _, p := range releasePods(t, s.objs) {
		inRelease[p.Name] = true
	}
	conns, err := Allowed(All[*networkingv1.NetworkPolicy](s.objs), pods)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, c := range conns {
		if inRelease[c.From] || inRelease[c.To] {
			got = append(got, c.String())
		}
	}
	want := expectedConnections()
	for _, c := range want {
		if !slices.Contains(got, c) {
			t.Errorf("missing: %s (the architecture needs it; the policies refuse it)", c)
		}
	}
	for _, c := range got {
		if !slices.Contains(want, c) {
			t.Errorf("extra: %s (the policies allow it; the architecture has no such path)", c)
		}
	}
	if t.Failed() {
		t.Logf("allowed connections of the release:\n  %s", strings.Join(got, "\n  "))
	}
}
