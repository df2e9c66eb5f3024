package chart

import (
	"net/url"
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
	"auth":    {"AGENTTRACE_JWT_SECRET", "AGENTTRACE_ENCRYPTION_KEY", "AGENTTRACE_POSTGRES_URL", "AGENTTRACE_POSTGRES_PASSWORD", "AGENTTRACE_REDIS_PASSWORD", "AGENTTRACE_NATS_PASSWORD"},
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

// secretSource: the variable comes from a Secret directly, its literal
// value only interpolates variables that do (a URL holding a password), or
// it is a URL that holds no password (auth's PostgreSQL URL, whose password
// comes in AGENTTRACE_POSTGRES_PASSWORD).
func secretSource(e corev1.EnvVar, fromSecret map[string]bool) bool {
	if e.ValueFrom != nil {
		return e.ValueFrom.SecretKeyRef != nil
	}
	if passwordlessURL(e.Value) {
		return true
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

// passwordlessURL: v is a URL with a scheme and a host, no password in its
// user info and no password parameter, and no $( ) expansion.
func passwordlessURL(v string) bool {
	if strings.Contains(v, "$(") {
		return false
	}
	u, err := url.Parse(v)
	if err != nil || u.Scheme == "" || u.Host == "" {
		return false
	}
	if u.User != nil {
		if _, set := u.User.Password(); set {
			return false
		}
	}
	for k := range u.Query() {
		if strings.Contains(strings.ToLower(k), "password") {
			return false
		}
	}
	return true
}

// TestPostgresPasswordBesideURL: auth's PostgreSQL URL carries no password
// (any password works, "/" and "+" included), and the password comes from
// the Secret and key the postgres values name, in every scenario.
func TestPostgresPasswordBesideURL(t *testing.T) {
	forEachScenario(t, func(t *testing.T, s *scenario) {
		d := serviceDeployments(s.objs)["auth"]
		if d == nil {
			t.Fatal("no auth Deployment")
		}
		env := map[string]corev1.EnvVar{}
		for _, e := range mainContainer(t, "auth", d.Spec.Template.Spec).Env {
			env[e.Name] = e
		}
		pgURL := env["AGENTTRACE_POSTGRES_URL"]
		if pgURL.ValueFrom != nil || !passwordlessURL(pgURL.Value) {
			t.Errorf("AGENTTRACE_POSTGRES_URL = %+v, want a literal URL without a password", pgURL)
		} else if u, _ := url.Parse(pgURL.Value); u.User.Username() != s.str("postgres.user") || u.Path != "/"+s.str("postgres.database") {
			t.Errorf("AGENTTRACE_POSTGRES_URL %s: want user %s and database %s", pgURL.Value, s.str("postgres.user"), s.str("postgres.database"))
		}
		wantSecret := s.str("postgres.existingSecret")
		if wantSecret == "" {
			wantSecret = s.str("global.existingSecret")
		}
		if wantSecret == "" {
			wantSecret = ReleaseName + "-secrets"
		}
		pw := env["AGENTTRACE_POSTGRES_PASSWORD"]
		if pw.ValueFrom == nil || pw.ValueFrom.SecretKeyRef == nil ||
			pw.ValueFrom.SecretKeyRef.Name != wantSecret || pw.ValueFrom.SecretKeyRef.Key != s.str("postgres.passwordKey") {
			t.Errorf("AGENTTRACE_POSTGRES_PASSWORD = %+v, want Secret %s key %s", pw, wantSecret, s.str("postgres.passwordKey"))
		}
		for name, e := range env {
			if !strings.HasPrefix(name, "AGENTTRACE_") && e.ValueFrom != nil && e.ValueFrom.SecretKeyRef != nil {
				t.Errorf("%s takes a secret into a variable the service does not read (the old $(POSTGRES_PASSWORD) expansion?)", name)
			}
		}
	})
}
