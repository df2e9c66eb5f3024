package chart

import (
	"strings"
	"sync"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
)

// contracts holds each service's variables, from its `config` command.
var contracts = sync.OnceValues(func() (map[string]map[string]Var, error) {
	out := map[string]map[string]Var{}
	for _, svc := range Services {
		vars, err := ServiceVars(repoRoot, svc)
		if err != nil {
			return nil, err
		}
		out[svc] = vars
	}
	return out, nil
})

func serviceContracts(t *testing.T) map[string]map[string]Var {
	t.Helper()
	c, err := contracts()
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// requiredSecrets are the secrets each service needs in a deployment
// (docs/ARCHITECTURE.md and the issue-5 brief): the services check them in
// code at serve time, not with `required` tags, so they are listed here.
var requiredSecrets = map[string][]string{
	"auth":    {"AGENTTRACE_JWT_SECRET", "AGENTTRACE_ENCRYPTION_KEY", "AGENTTRACE_POSTGRES_URL", "AGENTTRACE_REDIS_PASSWORD", "AGENTTRACE_NATS_PASSWORD"},
	"ingest":  {"AGENTTRACE_JWT_SECRET", "AGENTTRACE_REDIS_PASSWORD", "AGENTTRACE_NATS_PASSWORD"},
	"query":   {"AGENTTRACE_CLICKHOUSE_PASSWORD", "AGENTTRACE_REDIS_PASSWORD", "AGENTTRACE_NATS_PASSWORD"},
	"worker":  {"AGENTTRACE_JWT_SECRET", "AGENTTRACE_CLICKHOUSE_PASSWORD", "AGENTTRACE_NATS_PASSWORD"},
	"gateway": {},
}

// required lists the variables a Deployment of svc must set: those the
// service marks required, the secrets above, and every variable whose
// default points at the local machine (peer and store addresses), which is
// wrong in any cluster.
func required(svc string, vars map[string]Var) []string {
	out := append([]string{}, requiredSecrets[svc]...)
	for name, v := range vars {
		if v.Required || strings.Contains(v.Default, "127.0.0.1") || strings.Contains(v.Default, "localhost") {
			out = append(out, name)
		}
	}
	return out
}

func TestServiceContractsLoad(t *testing.T) {
	c := serviceContracts(t)
	for svc, secrets := range requiredSecrets {
		for _, name := range secrets {
			if v, ok := c[svc][name]; !ok || !v.Secret {
				t.Errorf("%s: %s listed as a required secret but the service does not read it as a secret", svc, name)
			}
		}
	}
}

// TestEnvContract: every AGENTTRACE_* variable a pod sets is one its
// service reads; secrets come from Secrets; each service Deployment sets
// what its service needs in a cluster; every AGENTTRACE_* key of a
// ConfigMap loaded with envFrom is read by at least one service loading it.
func TestEnvContract(t *testing.T) {
	contract := serviceContracts(t)
	forEachScenario(t, func(t *testing.T, s *scenario) {
		configMaps := map[string]*corev1.ConfigMap{}
		for _, cm := range All[*corev1.ConfigMap](s.objs) {
			configMaps[cm.Name] = cm
		}
		consumers := map[string][]string{} // ConfigMap -> services loading it
		checked := map[string]bool{}       // services whose Deployment was checked
		deployments := map[string]bool{}
		for _, d := range All[*appsv1.Deployment](s.objs) {
			deployments["Deployment/"+d.Name] = true
		}
		for _, p := range PodTemplates(s.objs) {
			for _, c := range allContainers(p.Spec) {
				svc := imageService(c.Image)
				if svc == "" {
					continue
				}
				vars := contract[svc]
				set := map[string]bool{}
				fromSecret := map[string]bool{}
				where := p.Owner + " " + c.Name
				for _, e := range c.Env {
					set[e.Name] = true
					if e.ValueFrom != nil && e.ValueFrom.SecretKeyRef != nil {
						fromSecret[e.Name] = true
					}
					if !strings.HasPrefix(e.Name, "AGENTTRACE_") {
						continue
					}
					v, ok := vars[e.Name]
					if !ok {
						t.Errorf("%s sets %s, which %s does not read", where, e.Name, svc)
						continue
					}
					if v.Secret && !secretSource(e, fromSecret) {
						t.Errorf("%s: %s is a secret but is not taken from a Secret", where, e.Name)
					}
				}
				for _, ef := range c.EnvFrom {
					if ef.ConfigMapRef != nil {
						consumers[ef.ConfigMapRef.Name] = append(consumers[ef.ConfigMapRef.Name], svc)
						if cm := configMaps[ef.ConfigMapRef.Name]; cm != nil {
							for k := range cm.Data {
								set[ef.Prefix+k] = true
							}
						}
					}
					if ef.SecretRef != nil {
						t.Errorf("%s loads Secret %s with envFrom: name each secret variable (its keys are not AGENTTRACE_* names)", where, ef.SecretRef.Name)
					}
				}
				if !deployments[p.Owner] {
					continue // jobs run one command and need less
				}
				checked[svc] = true
				for _, name := range required(svc, vars) {
					if !set[name] {
						t.Errorf("%s does not set %s, which %s needs in a cluster", where, name, svc)
					}
				}
			}
		}
		if len(checked) != len(Services) {
			t.Errorf("checked the Deployments of %v, want all of %v", keys(checked), Services)
		}
		for name, svcs := range consumers {
			cm := configMaps[name]
			if cm == nil {
				continue // TestReferencedKeysExist reports it
			}
			for k := range cm.Data {
				if !strings.HasPrefix(k, "AGENTTRACE_") {
					t.Errorf("ConfigMap %s (envFrom of %v) has key %s without the AGENTTRACE_ prefix: no service reads it", name, svcs, k)
					continue
				}
				read := false
				for _, svc := range svcs {
					if _, ok := contract[svc][k]; ok {
						read = true
					}
				}
				if !read {
					t.Errorf("ConfigMap %s sets %s, which none of the services loading it (%v) reads", name, k, svcs)
				}
			}
		}
	})
}

// secretSource: the variable comes from a Secret directly, or its literal
// value only interpolates variables that do (a URL holding a password).
func secretSource(e corev1.EnvVar, fromSecret map[string]bool) bool {
	if e.ValueFrom != nil {
		return e.ValueFrom.SecretKeyRef != nil
	}
	refs := 0
	rest := e.Value
	for {
		i := strings.Index(rest, "$(")
		if i < 0 {
			break
		}
		j := strings.Index(rest[i:], ")")
		if j < 0 {
			return false
		}
		if !fromSecret[rest[i+2:i+j]] {
			return false
		}
		refs++
		rest = rest[i+j+1:]
	}
	return refs > 0
}
