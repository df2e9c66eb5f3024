package chart

import (
	"net/netip"
	"slices"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	"sigs.k8s.io/yaml"
)

// evalPods: a and b in namespace "app", c (labelled like a) and d in
// namespace "other".
var evalPods = []Pod{
	{Name: "a", Namespace: "app", NamespaceLabels: map[string]string{"name": "app"}, Labels: map[string]string{"role": "a"},
		IP: netip.MustParseAddr("10.0.0.1"), Ports: []corev1.ContainerPort{{Name: "http", ContainerPort: 80, Protocol: corev1.ProtocolTCP}}},
	{Name: "b", Namespace: "app", NamespaceLabels: map[string]string{"name": "app"}, Labels: map[string]string{"role": "b", "tier": "db"},
		IP: netip.MustParseAddr("10.0.0.2"), Ports: []corev1.ContainerPort{
			{Name: "http", ContainerPort: 8080, Protocol: corev1.ProtocolTCP},
			{Name: "dns", ContainerPort: 53, Protocol: corev1.ProtocolUDP},
			{ContainerPort: 9100}, // unnamed, protocol unset (TCP)
		}},
	{Name: "c", Namespace: "other", NamespaceLabels: map[string]string{"name": "other", "team": "x"}, Labels: map[string]string{"role": "a"},
		IP: netip.MustParseAddr("10.0.1.1"), Ports: []corev1.ContainerPort{{Name: "http", ContainerPort: 80, Protocol: corev1.ProtocolTCP}}},
	{Name: "d", Namespace: "other", NamespaceLabels: map[string]string{"name": "other", "team": "x"}, Labels: map[string]string{"role": "d"},
		IP: netip.MustParseAddr("192.168.1.5"), Ports: []corev1.ContainerPort{{Name: "http", ContainerPort: 80, Protocol: corev1.ProtocolTCP}}},
}

// TestAllowedSemantics checks the evaluator against the NetworkPolicy
// API's rules, one rule per row. Each row lists the policies (YAML
// documents) and the connections that must and must not be allowed.
func TestAllowedSemantics(t *testing.T) {
	const denyB = `
metadata: {name: deny-b, namespace: app}
spec: {podSelector: {matchLabels: {role: b}}, policyTypes: [Ingress]}`
	tests := []struct {
		name        string
		policies    []string
		allow, deny []string
	}{
		{
			name:  "no policy: everything is open",
			allow: []string{"a -> b:http", "c -> b:dns", "b -> d:http", "d -> a:http"},
		},
		{
			name:     "an ingress policy without rules isolates ingress only",
			policies: []string{denyB},
			allow:    []string{"b -> a:http", "b -> c:http", "a -> c:http"},
			deny:     []string{"a -> b:http", "c -> b:dns", "d -> b:9100/TCP"},
		},
		{
			name: "a policy of another namespace does not apply",
			policies: []string{`
metadata: {name: deny-all, namespace: other}
spec: {podSelector: {matchLabels: {role: b}}, policyTypes: [Ingress]}`},
			allow: []string{"a -> b:http"},
		},
		{
			name: "policies add up: one rule of any selecting policy suffices",
			policies: []string{denyB, `
metadata: {name: from-a, namespace: app}
spec:
  podSelector: {matchLabels: {role: b}}
  ingress: [{from: [{podSelector: {matchLabels: {role: a}}}]}]`},
			allow: []string{"a -> b:http", "a -> b:dns"},
			deny:  []string{"c -> b:http", "d -> b:http"},
		},
		{
			name: "podSelector alone: the policy's namespace only",
			policies: []string{`
metadata: {name: from-a, namespace: app}
spec:
  podSelector: {}
  policyTypes: [Ingress]
  ingress: [{from: [{podSelector: {matchLabels: {role: a}}}]}]`},
			allow: []string{"a -> b:http", "c -> d:http"},
			deny:  []string{"c -> b:http", "c -> a:http", "b -> a:http"},
		},
		{
			name: "namespaceSelector alone: every pod of the namespaces",
			policies: []string{`
metadata: {name: from-other, namespace: app}
spec:
  podSelector: {matchLabels: {role: b}}
  ingress: [{from: [{namespaceSelector: {matchLabels: {team: x}}}]}]`},
			allow: []string{"c -> b:http", "d -> b:http"},
			deny:  []string{"a -> b:http"},
		},
		{
			name: "both selectors in one peer: AND",
			policies: []string{`
metadata: {name: and, namespace: app}
spec:
  podSelector: {matchLabels: {role: b}}
  ingress:
    - from: [{namespaceSelector: {matchLabels: {team: x}}, podSelector: {matchLabels: {role: a}}}]`},
			allow: []string{"c -> b:http"},
			deny:  []string{"d -> b:http", "a -> b:http"},
		},
		{
			name: "the selectors as two peers: OR",
			policies: []string{`
metadata: {name: or, namespace: app}
spec:
  podSelector: {matchLabels: {role: b}}
  ingress:
    - from: [{namespaceSelector: {matchLabels: {team: x}}}, {podSelector: {matchLabels: {role: a}}}]`},
			allow: []string{"c -> b:http", "d -> b:http", "a -> b:http"},
		},
		{
			name: "an empty namespaceSelector: every namespace",
			policies: []string{`
metadata: {name: any-ns, namespace: app}
spec:
  podSelector: {matchLabels: {role: b}}
  ingress: [{from: [{namespaceSelector: {}, podSelector: {matchLabels: {role: a}}}]}]`},
			allow: []string{"a -> b:http", "c -> b:http"},
			deny:  []string{"d -> b:http"},
		},
		{
			name: "ipBlock with except",
			policies: []string{`
metadata: {name: egress-ip, namespace: app}
spec:
  podSelector: {matchLabels: {role: a}}
  policyTypes: [Egress]
  egress: [{to: [{ipBlock: {cidr: 10.0.0.0/16, except: [10.0.1.0/24]}}]}]`},
			allow: []string{"a -> b:http"},
			deny:  []string{"a -> c:http", "a -> d:http"},
		},
		{
			name: "ports: named against the destination's ports, numbered, protocol",
			policies: []string{`
metadata: {name: ports, namespace: app}
spec:
  podSelector: {matchLabels: {role: b}}
  ingress:
    - ports:
        - {port: http}
        - {port: 53, protocol: UDP}`},
			allow: []string{"a -> b:http", "a -> b:dns"},
			deny:  []string{"a -> b:9100/TCP"},
		},
		{
			name: "ports: a named port on another protocol does not match",
			policies: []string{`
metadata: {name: dns-tcp, namespace: app}
spec:
  podSelector: {matchLabels: {role: b}}
  ingress: [{ports: [{port: dns, protocol: TCP}]}]`},
			deny: []string{"a -> b:dns", "a -> b:http"},
		},
		{
			name: "ports: a range, and a protocol without a port",
			policies: []string{`
metadata: {name: range, namespace: app}
spec:
  podSelector: {matchLabels: {role: b}}
  ingress: [{ports: [{port: 9000, endPort: 9200}, {protocol: UDP}]}]`},
			allow: []string{"a -> b:9100/TCP", "a -> b:dns"},
			deny:  []string{"a -> b:http"},
		},
		{
			name: "egress ports are the destination's",
			policies: []string{`
metadata: {name: egress-port, namespace: app}
spec:
  podSelector: {matchLabels: {role: a}}
  policyTypes: [Egress]
  egress: [{ports: [{port: 8080}]}]`},
			allow: []string{"a -> b:http"},
			deny:  []string{"a -> c:http", "a -> d:http"},
		},
		{
			name: "policyTypes unset: egress rules make it an egress policy too",
			policies: []string{`
metadata: {name: implied, namespace: app}
spec:
  podSelector: {matchLabels: {role: a}}
  egress: [{to: [{podSelector: {matchLabels: {role: b}}}]}]`},
			allow: []string{"a -> b:http"},
			deny:  []string{"a -> c:http", "b -> a:http"},
		},
		{
			name: "both ends must agree: egress open, ingress closed",
			policies: []string{denyB, `
metadata: {name: a-out, namespace: app}
spec:
  podSelector: {matchLabels: {role: a}}
  policyTypes: [Egress]
  egress: [{to: [{podSelector: {matchLabels: {role: b}}}]}]`},
			deny: []string{"a -> b:http", "a -> c:http"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var nps []*networkingv1.NetworkPolicy
			for _, doc := range tt.policies {
				np := &networkingv1.NetworkPolicy{}
				if err := yaml.UnmarshalStrict([]byte(doc), np); err != nil {
					t.Fatalf("policy %s: %v", doc, err)
				}
				nps = append(nps, np)
			}
			conns, err := Allowed(nps, evalPods)
			if err != nil {
				t.Fatal(err)
			}
			got := connStrings(conns)
			for _, c := range tt.allow {
				if !slices.Contains(got, c) {
					t.Errorf("%s denied, want it allowed", c)
				}
			}
			for _, c := range tt.deny {
				if slices.Contains(got, c) {
					t.Errorf("%s allowed, want it denied", c)
				}
			}
		})
	}
}

func TestAllowedRefusesInvalidSelectors(t *testing.T) {
	np := &networkingv1.NetworkPolicy{}
	np.Name = "bad"
	np.Spec.Ingress = []networkingv1.NetworkPolicyIngressRule{{From: []networkingv1.NetworkPolicyPeer{{}}}}
	np.Spec.Ingress[0].From[0].PodSelector = nil
	np.Spec.PodSelector.MatchLabels = map[string]string{"a": "not a valid value!"}
	if _, err := Allowed([]*networkingv1.NetworkPolicy{np}, evalPods); err == nil || !strings.Contains(err.Error(), "bad") {
		t.Errorf("invalid selector: err = %v", err)
	}
}

func connStrings(conns []Conn) []string {
	out := make([]string, 0, len(conns))
	for _, c := range conns {
		out = append(out, c.String())
	}
	return out
}
