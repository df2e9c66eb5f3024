package chart

import (
	"fmt"
	"sort"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
)

// sharedSecretKeys are the keys of the shared Secret (generated, existing
// or ExternalSecret), as documented in values.yaml.
var sharedSecretKeys = []string{"postgres-password", "clickhouse-password", "redis-password", "nats-password", "jwt-secret", "encryption-key"}

var stores = []string{"postgres", "clickhouse", "redis", "nats"}

// available lists, per Secret and ConfigMap name, the keys a pod can rely on.
type available struct {
	secrets    map[string]map[string]bool
	configMaps map[string]map[string]bool
	// external are Secrets the operator creates (existingSecret values);
	// their keys are the documented ones.
	external map[string]map[string]bool
}

func availableKeys(s *scenario) available {
	a := available{secrets: map[string]map[string]bool{}, configMaps: map[string]map[string]bool{}, external: map[string]map[string]bool{}}
	for _, sec := range All[*corev1.Secret](s.objs) {
		a.secrets[sec.Name] = map[string]bool{}
		for k := range sec.Data {
			a.secrets[sec.Name][k] = true
		}
		for k := range sec.StringData {
			a.secrets[sec.Name][k] = true
		}
	}
	for _, es := range All[*ExternalSecret](s.objs) {
		name := es.Spec.Target.Name
		if name == "" {
			name = es.Name
		}
		a.secrets[name] = map[string]bool{}
		for _, d := range es.Spec.Data {
			a.secrets[name][d.SecretKey] = true
		}
	}
	for _, cm := range All[*corev1.ConfigMap](s.objs) {
		a.configMaps[cm.Name] = map[string]bool{}
		for k := range cm.Data {
			a.configMaps[cm.Name][k] = true
		}
		for k := range cm.BinaryData {
			a.configMaps[cm.Name][k] = true
		}
	}
	addExternal := func(name string, keys ...string) {
		if name == "" {
			return
		}
		if a.external[name] == nil {
			a.external[name] = map[string]bool{}
		}
		for _, k := range keys {
			a.external[name][k] = true
		}
	}
	global := s.str("global.existingSecret")
	addExternal(global, sharedSecretKeys...)
	for _, st := range stores {
		key := s.str(st + ".passwordKey")
		addExternal(global, key)
		addExternal(s.str(st+".existingSecret"), key)
	}
	return a
}

func (a available) secretKey(name, key string) error {
	if keys, ok := a.secrets[name]; ok {
		if !keys[key] {
			return fmt.Errorf("Secret %s has no key %q (has %v)", name, key, sorted(keys))
		}
		return nil
	}
	if keys, ok := a.external[name]; ok {
		if !keys[key] {
			return fmt.Errorf("existing Secret %s: key %q is not one of the documented keys %v", name, key, sorted(keys))
		}
		return nil
	}
	return fmt.Errorf("Secret %s is neither rendered nor a configured existingSecret", name)
}

func (a available) configMapKey(name, key string) error {
	keys, ok := a.configMaps[name]
	switch {
	case !ok:
		return fmt.Errorf("ConfigMap %s is not rendered", name)
	case key != "" && !keys[key]:
		return fmt.Errorf("ConfigMap %s has no key %q", name, key)
	}
	return nil
}

func sorted(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func allContainers(spec corev1.PodSpec) []corev1.Container {
	return append(append([]corev1.Container{}, spec.InitContainers...), spec.Containers...)
}

// TestReferencedKeysExist: every Secret and ConfigMap key a pod reads
// (env, envFrom, volumes) exists in what the chart renders, or, for an
// existingSecret, is one of the documented key names.
func TestReferencedKeysExist(t *testing.T) {
	forEachScenario(t, func(t *testing.T, s *scenario) {
		a := availableKeys(s)
		for _, p := range PodTemplates(s.objs) {
			fail := func(where string, err error) {
				if err != nil {
					t.Errorf("%s %s: %v", p.Owner, where, err)
				}
			}
			for _, c := range allContainers(p.Spec) {
				for _, e := range c.Env {
					switch {
					case e.ValueFrom == nil:
					case e.ValueFrom.SecretKeyRef != nil && !isTrue(e.ValueFrom.SecretKeyRef.Optional):
						fail(c.Name+" env "+e.Name, a.secretKey(e.ValueFrom.SecretKeyRef.Name, e.ValueFrom.SecretKeyRef.Key))
					case e.ValueFrom.ConfigMapKeyRef != nil && !isTrue(e.ValueFrom.ConfigMapKeyRef.Optional):
						fail(c.Name+" env "+e.Name, a.configMapKey(e.ValueFrom.ConfigMapKeyRef.Name, e.ValueFrom.ConfigMapKeyRef.Key))
					}
				}
				for _, ef := range c.EnvFrom {
					if ef.ConfigMapRef != nil && !isTrue(ef.ConfigMapRef.Optional) {
						fail(c.Name+" envFrom", a.configMapKey(ef.ConfigMapRef.Name, ""))
					}
					if ef.SecretRef != nil && !isTrue(ef.SecretRef.Optional) {
						if _, ok := a.secrets[ef.SecretRef.Name]; !ok {
							if _, ok := a.external[ef.SecretRef.Name]; !ok {
								t.Errorf("%s %s envFrom: Secret %s is neither rendered nor an existingSecret", p.Owner, c.Name, ef.SecretRef.Name)
							}
						}
					}
				}
			}
			for _, v := range p.Spec.Volumes {
				checkVolume(v, a, fail)
			}
		}
	})
}

func checkVolume(v corev1.Volume, a available, fail func(string, error)) {
	where := "volume " + v.Name
	if sv := v.Secret; sv != nil && !isTrue(sv.Optional) {
		if len(sv.Items) == 0 {
			_, ok := a.secrets[sv.SecretName]
			_, ext := a.external[sv.SecretName]
			if !ok && !ext {
				fail(where, fmt.Errorf("Secret %s is neither rendered nor an existingSecret", sv.SecretName))
			}
		}
		for _, it := range sv.Items {
			fail(where, a.secretKey(sv.SecretName, it.Key))
		}
	}
	if cv := v.ConfigMap; cv != nil && !isTrue(cv.Optional) {
		fail(where, a.configMapKey(cv.Name, ""))
		for _, it := range cv.Items {
			fail(where, a.configMapKey(cv.Name, it.Key))
		}
	}
	if pv := v.Projected; pv != nil {
		for _, src := range pv.Sources {
			if src.Secret != nil && !isTrue(src.Secret.Optional) {
				for _, it := range src.Secret.Items {
					fail(where, a.secretKey(src.Secret.Name, it.Key))
				}
			}
			if src.ConfigMap != nil && !isTrue(src.ConfigMap.Optional) {
				fail(where, a.configMapKey(src.ConfigMap.Name, ""))
				for _, it := range src.ConfigMap.Items {
					fail(where, a.configMapKey(src.ConfigMap.Name, it.Key))
				}
			}
		}
	}
}

func isTrue(b *bool) bool { return b != nil && *b }

// TestNoSecretInConfigMaps: no ConfigMap holds a value of a rendered
// Secret, nor a variable the services declare as secret.
func TestNoSecretInConfigMaps(t *testing.T) {
	contract := serviceContracts(t)
	secretVars := map[string]bool{}
	for _, vars := range contract {
		for name, v := range vars {
			if v.Secret {
				secretVars[name] = true
			}
		}
	}
	forEachScenario(t, func(t *testing.T, s *scenario) {
		var values []string
		for _, sec := range All[*corev1.Secret](s.objs) {
			for _, v := range sec.Data {
				values = append(values, string(v))
			}
			for _, v := range sec.StringData {
				values = append(values, v)
			}
		}
		for _, cm := range All[*corev1.ConfigMap](s.objs) {
			for k, v := range cm.Data {
				if secretVars[k] {
					t.Errorf("ConfigMap %s sets %s, a secret: it belongs in a Secret", cm.Name, k)
				}
				for _, sv := range values {
					// Short values (a port, "true") are not secrets worth
					// the false alarms.
					if len(sv) >= 8 && strings.Contains(v, sv) {
						t.Errorf("ConfigMap %s key %s contains the value of a Secret key", cm.Name, k)
					}
				}
			}
		}
	})
}
