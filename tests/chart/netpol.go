package chart

import (
	"fmt"
	"net/netip"
	"sort"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/intstr"
)

// This file evaluates NetworkPolicies the way the Kubernetes API defines
// them (not how one CNI happens to), over a fixed set of pods, so a test
// can compare the connections a chart's policies allow with the ones the
// architecture needs:
//
//   - a pod that no policy of a type (Ingress, Egress) selects is
//     unrestricted for that type; once one does, only what some rule of
//     the selecting policies allows passes; a connection needs both the
//     source's egress and the destination's ingress;
//   - a policy applies to pods of its own namespace; its policyTypes
//     default to Ingress, plus Egress when it has egress rules;
//   - a peer with a podSelector alone means pods of the policy's
//     namespace, a namespaceSelector alone every pod of the matching
//     namespaces, both together the matching pods of the matching
//     namespaces; an ipBlock matches addresses (pod addresses included,
//     as most CNIs do), minus its excepts; a rule without peers matches
//     every peer, one without ports every port;
//   - ports are the destination pod's: a named port matches the
//     destination's container port of that name, a number that number (to
//     endPort), and the protocol (TCP when unset) must match too.

// Pod is one pod the evaluator connects.
type Pod struct {
	// Name is how connections name it ("gateway", "kube-dns").
	Name            string
	Namespace       string
	NamespaceLabels map[string]string
	Labels          map[string]string
	IP              netip.Addr
	Ports           []corev1.ContainerPort
}

// Conn is a connection from one pod to a port of another.
type Conn struct {
	From, To string
	Port     corev1.ContainerPort
}

// String is "from -> to:port", the port by name, or as number/protocol
// when it has none.
func (c Conn) String() string {
	port := c.Port.Name
	if port == "" {
		port = fmt.Sprintf("%d/%s", c.Port.ContainerPort, protocolOf(c.Port.Protocol))
	}
	return c.From + " -> " + c.To + ":" + port
}

// Allowed returns every connection between two different pods, to any
// container port of the destination, that the policies allow, sorted.
func Allowed(policies []*networkingv1.NetworkPolicy, pods []Pod) ([]Conn, error) {
	for _, np := range policies {
		if err := validSelectors(np); err != nil {
			return nil, fmt.Errorf("NetworkPolicy %s: %w", np.Name, err)
		}
	}
	var out []Conn
	for _, src := range pods {
		for _, dst := range pods {
			if src.Name == dst.Name && src.Namespace == dst.Namespace {
				continue
			}
			for _, port := range dst.Ports {
				if admits(policies, networkingv1.PolicyTypeEgress, src, dst, dst, port) &&
					admits(policies, networkingv1.PolicyTypeIngress, dst, src, dst, port) {
					out = append(out, Conn{From: src.Name, To: dst.Name, Port: port})
				}
			}
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].String() < out[j].String() })
	return out, nil
}

// admits reports whether the policies of type dir that select subject let
// traffic with peer through on port (a container port of dst).
func admits(policies []*networkingv1.NetworkPolicy, dir networkingv1.PolicyType, subject, peer, dst Pod, port corev1.ContainerPort) bool {
	selected := false
	for _, np := range policies {
		if namespaceOf(np) != subject.Namespace || !hasType(np, dir) || !matches(&np.Spec.PodSelector, subject.Labels) {
			continue
		}
		selected = true
		for _, r := range rules(np, dir) {
			if peersMatch(r.peers, peer, namespaceOf(np)) && portsMatch(r.ports, port) {
				return true
			}
		}
	}
	return !selected
}

// validSelectors: the API server refuses a policy with an invalid
// selector, which matches would otherwise read as matching nothing.
func validSelectors(np *networkingv1.NetworkPolicy) error {
	sels := []*metav1.LabelSelector{&np.Spec.PodSelector}
	for _, dir := range []networkingv1.PolicyType{networkingv1.PolicyTypeIngress, networkingv1.PolicyTypeEgress} {
		for _, r := range rules(np, dir) {
			for _, p := range r.peers {
				sels = append(sels, p.PodSelector, p.NamespaceSelector)
			}
		}
	}
	for _, sel := range sels {
		if sel == nil {
			continue
		}
		if _, err := metav1.LabelSelectorAsSelector(sel); err != nil {
			return err
		}
	}
	return nil
}

// rule is an ingress or egress rule, direction aside.
type rule struct {
	peers []networkingv1.NetworkPolicyPeer
	ports []networkingv1.NetworkPolicyPort
}

func rules(np *networkingv1.NetworkPolicy, dir networkingv1.PolicyType) []rule {
	var out []rule
	if dir == networkingv1.PolicyTypeIngress {
		for _, r := range np.Spec.Ingress {
			out = append(out, rule{r.From, r.Ports})
		}
	} else {
		for _, r := range np.Spec.Egress {
			out = append(out, rule{r.To, r.Ports})
		}
	}
	return out
}

func hasType(np *networkingv1.NetworkPolicy, dir networkingv1.PolicyType) bool {
	if len(np.Spec.PolicyTypes) == 0 {
		return dir == networkingv1.PolicyTypeIngress || len(np.Spec.Egress) > 0
	}
	for _, t := range np.Spec.PolicyTypes {
		if t == dir {
			return true
		}
	}
	return false
}

// namespaceOf is the policy's namespace; a rendered one without it lands
// in the release's.
func namespaceOf(np *networkingv1.NetworkPolicy) string {
	if np.Namespace == "" {
		return Namespace
	}
	return np.Namespace
}

func peersMatch(peers []networkingv1.NetworkPolicyPeer, p Pod, policyNS string) bool {
	if len(peers) == 0 {
		return true
	}
	for _, peer := range peers {
		if peer.IPBlock != nil {
			if inBlock(peer.IPBlock, p.IP) {
				return true
			}
			continue
		}
		nsOK := p.Namespace == policyNS
		if peer.NamespaceSelector != nil {
			nsOK = matches(peer.NamespaceSelector, p.NamespaceLabels)
		}
		podOK := peer.PodSelector == nil || matches(peer.PodSelector, p.Labels)
		if nsOK && podOK {
			return true
		}
	}
	return false
}

func inBlock(b *networkingv1.IPBlock, ip netip.Addr) bool {
	if !ip.IsValid() {
		return false
	}
	cidr, err := netip.ParsePrefix(b.CIDR)
	if err != nil || !cidr.Contains(ip) {
		return false
	}
	for _, e := range b.Except {
		if ex, err := netip.ParsePrefix(e); err == nil && ex.Contains(ip) {
			return false
		}
	}
	return true
}

func portsMatch(ports []networkingv1.NetworkPolicyPort, cp corev1.ContainerPort) bool {
	if len(ports) == 0 {
		return true
	}
	for _, p := range ports {
		var proto corev1.Protocol
		if p.Protocol != nil {
			proto = *p.Protocol
		}
		if protocolOf(proto) != protocolOf(cp.Protocol) {
			continue
		}
		switch {
		case p.Port == nil:
			return true
		case p.Port.Type == intstr.String:
			if p.Port.StrVal == cp.Name {
				return true
			}
		case p.EndPort != nil:
			if cp.ContainerPort >= p.Port.IntVal && cp.ContainerPort <= *p.EndPort {
				return true
			}
		case cp.ContainerPort == p.Port.IntVal:
			return true
		}
	}
	return false
}

func protocolOf(p corev1.Protocol) corev1.Protocol {
	if p == "" {
		return corev1.ProtocolTCP
	}
	return p
}

// matches: a label selector (empty: everything) matches the labels; an
// invalid selector matches nothing.
func matches(sel *metav1.LabelSelector, l map[string]string) bool {
	s, err := metav1.LabelSelectorAsSelector(sel)
	return err == nil && s.Matches(labels.Set(l))
}
