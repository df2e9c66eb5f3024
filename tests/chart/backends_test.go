package chart

import (
	"testing"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
)

// TestServiceBackendsExist: every Service selects rendered pods that have
// its target ports, and every Ingress backend is a rendered Service port.
func TestServiceBackendsExist(t *testing.T) {
	forEachScenario(t, func(t *testing.T, s *scenario) {
		pods := PodTemplates(s.objs)
		services := map[string]*corev1.Service{}
		for _, svc := range All[*corev1.Service](s.objs) {
			services[svc.Name] = svc
			if svc.Spec.Type == corev1.ServiceTypeExternalName || len(svc.Spec.Selector) == 0 {
				continue
			}
			var selected []PodTemplate
			for _, p := range pods {
				if mapSelects(svc.Spec.Selector, p.Meta.Labels) {
					selected = append(selected, p)
				}
			}
			if len(selected) == 0 {
				t.Errorf("Service %s selects no rendered pod (selector %v)", svc.Name, svc.Spec.Selector)
				continue
			}
			for _, port := range svc.Spec.Ports {
				if port.TargetPort.Type == intstr.String && !anyPodHasPort(selected, port.TargetPort.StrVal) {
					t.Errorf("Service %s port %s: targetPort %q is no container port of its pods", svc.Name, port.Name, port.TargetPort.StrVal)
				}
			}
		}
		for _, ing := range All[*networkingv1.Ingress](s.objs) {
			for _, rule := range ing.Spec.Rules {
				if rule.HTTP == nil {
					continue
				}
				for _, path := range rule.HTTP.Paths {
					b := path.Backend.Service
					if b == nil {
						t.Errorf("Ingress %s path %s has no service backend", ing.Name, path.Path)
						continue
					}
					svc, ok := services[b.Name]
					if !ok {
						t.Errorf("Ingress %s path %s: Service %s is not rendered", ing.Name, path.Path, b.Name)
						continue
					}
					if !servicePort(svc, b.Port) {
						t.Errorf("Ingress %s path %s: Service %s has no port %v", ing.Name, path.Path, b.Name, b.Port)
					}
				}
			}
		}
	})
}

func servicePort(svc *corev1.Service, p networkingv1.ServiceBackendPort) bool {
	for _, sp := range svc.Spec.Ports {
		if (p.Name != "" && sp.Name == p.Name) || (p.Name == "" && sp.Port == p.Number) {
			return true
		}
	}
	return false
}
