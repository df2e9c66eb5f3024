package chart

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"maps"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
)

// generatedSecret is the name of the chart-managed shared Secret.
const generatedSecret = ReleaseName + "-secrets"

// withObjects is a fresh namespace that also holds objs.
func withObjects(objs ...runtime.Object) *Cluster {
	c := FreshNamespace()
	c.Objects = append(c.Objects, objs...)
	return c
}

func secret(name string, data map[string][]byte) *corev1.Secret {
	return &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: Namespace}, Data: data}
}

func randomBytes(t *testing.T, n int) []byte {
	t.Helper()
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return b
}

// goodSecretData is a complete shared Secret as an operator would make it.
func goodSecretData(t *testing.T) map[string][]byte {
	return map[string][]byte{
		"postgres-password":   []byte("pg-" + hex.EncodeToString(randomBytes(t, 8))),
		"clickhouse-password": []byte("ch/+=" + hex.EncodeToString(randomBytes(t, 8))),
		"redis-password":      []byte("redis-" + hex.EncodeToString(randomBytes(t, 8))),
		"nats-password":       []byte("nats-" + hex.EncodeToString(randomBytes(t, 8))),
		"jwt-secret":          []byte(base64.StdEncoding.EncodeToString(randomBytes(t, 36))),
		"encryption-key":      []byte(base64.StdEncoding.EncodeToString(randomBytes(t, 32))),
	}
}

func renderedSecret(objs []Object, name string) *corev1.Secret {
	for _, s := range All[*corev1.Secret](objs) {
		if s.Name == name {
			return s
		}
	}
	return nil
}

// TestGeneratedSecretNeedsTheCluster: a render that cannot see the
// cluster (helm template, Argo CD) must not mint passwords that change on
// every render, so it refuses unless someone else manages the Secret; a
// real first install generates it; an upgrade reuses it byte for byte.
func TestGeneratedSecretNeedsTheCluster(t *testing.T) {
	t.Run("offline without existingSecret refuses", func(t *testing.T) {
		_, err := renderInput(t, Input{Cluster: Offline()})
		if err == nil || !strings.Contains(err.Error(), "cannot generate Secret "+generatedSecret) ||
			!strings.Contains(err.Error(), "global.existingSecret or externalSecret.enabled") {
			t.Fatalf("err = %v, want the cannot-generate-Secret refusal", err)
		}
	})
	t.Run("a namespace that does not exist yet refuses", func(t *testing.T) {
		// The cluster is reachable but the namespace (and so its
		// kube-root-ca.crt) is not there: the Secret cannot be read back.
		_, err := renderInput(t, Input{Cluster: &Cluster{Objects: []runtime.Object{RootCA("default")}}})
		if err == nil || !strings.Contains(err.Error(), "cannot generate Secret") {
			t.Fatalf("err = %v, want the refusal", err)
		}
	})
	t.Run("offline with global.existingSecret renders", func(t *testing.T) {
		objs, err := renderInput(t, Input{Cluster: Offline(), Values: yamlValues(t, "global: {existingSecret: ops-secrets}")})
		if err != nil {
			t.Fatal(err)
		}
		if s := renderedSecret(objs, generatedSecret); s != nil {
			t.Errorf("Secret %s rendered although global.existingSecret is set", s.Name)
		}
		auth := serviceDeployments(objs)["auth"]
		if auth == nil {
			t.Fatal("no auth Deployment")
		}
		for _, e := range mainContainer(t, "auth", auth.Spec.Template.Spec).Env {
			if e.ValueFrom != nil && e.ValueFrom.SecretKeyRef != nil && e.ValueFrom.SecretKeyRef.Name != "ops-secrets" {
				t.Errorf("auth %s reads Secret %s, want ops-secrets", e.Name, e.ValueFrom.SecretKeyRef.Name)
			}
		}
	})
	t.Run("offline with the ExternalSecret renders", func(t *testing.T) {
		v := yamlValues(t, "externalSecret: {enabled: true, secretStoreRef: {name: vault}}")
		if _, err := renderInput(t, Input{Cluster: Offline(), Values: v}); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("a first install generates it", func(t *testing.T) {
		s := renderedSecret(mustRender(t, Input{}), generatedSecret)
		if s == nil {
			t.Fatalf("no Secret %s", generatedSecret)
		}
		for _, k := range sharedSecretKeys {
			if len(s.Data[k]) == 0 {
				t.Errorf("generated Secret has no %s", k)
			}
		}
		if key, err := base64.StdEncoding.DecodeString(string(s.Data["encryption-key"])); err != nil || len(key) != 32 {
			t.Errorf("generated encryption-key %q is not 32 bytes in base64 (%v)", s.Data["encryption-key"], err)
		}
		if s.Annotations["helm.sh/resource-policy"] != "keep" {
			t.Error("generated Secret is not kept on uninstall (helm.sh/resource-policy: keep)")
		}
	})
	t.Run("an upgrade reuses it byte for byte", func(t *testing.T) {
		old := goodSecretData(t)
		for _, cluster := range map[string]*Cluster{
			"with the namespace":           withObjects(secret(generatedSecret, old)),
			"Secret visible, nothing else": {Objects: []runtime.Object{secret(generatedSecret, old)}},
		} {
			s := renderedSecret(mustRender(t, Input{Cluster: cluster}), generatedSecret)
			if s == nil {
				t.Fatalf("no Secret %s", generatedSecret)
			}
			if !maps.EqualFunc(s.Data, old, func(a, b []byte) bool { return string(a) == string(b) }) {
				t.Errorf("upgrade changed the Secret:\n got %q\nwant %q", s.Data, old)
			}
		}
	})
}

// TestSharedSecretValidation: when the render sees the shared Secret, a
// Secret the services would crash on fails the install with a message
// that says how to fix it.
func TestSharedSecretValidation(t *testing.T) {
	key32 := randomBytes(t, 32)
	tests := []struct {
		name    string
		edit    func(d map[string][]byte)
		wantErr []string // "" entries: none
	}{
		{name: "complete, base64 key", edit: func(map[string][]byte) {}},
		{name: "base64 without padding", edit: func(d map[string][]byte) {
			d["encryption-key"] = []byte(base64.RawStdEncoding.EncodeToString(key32))
		}},
		{name: "base64 with a trailing newline (kubectl --from-file)", edit: func(d map[string][]byte) {
			d["encryption-key"] = []byte(base64.StdEncoding.EncodeToString(key32) + "\n")
		}},
		{name: "64 hex digits (openssl rand -hex 32)", edit: func(d map[string][]byte) {
			d["encryption-key"] = []byte(hex.EncodeToString(key32))
		}},
		{name: "32 hex digits (openssl rand -hex 16)", edit: func(d map[string][]byte) {
			d["encryption-key"] = []byte(hex.EncodeToString(key32[:16]))
		}, wantErr: []string{"encryption-key", "openssl rand -base64 32", "32 characters"}},
		{name: "16 bytes in base64", edit: func(d map[string][]byte) {
			d["encryption-key"] = []byte(base64.StdEncoding.EncodeToString(key32[:16]))
		}, wantErr: []string{"openssl rand -base64 32"}},
		{name: "empty encryption-key", edit: func(d map[string][]byte) {
			d["encryption-key"] = nil
		}, wantErr: []string{`"encryption-key"`, "jwt-secret and encryption-key"}},
		{name: "missing jwt-secret", edit: func(d map[string][]byte) {
			delete(d, "jwt-secret")
		}, wantErr: []string{`"jwt-secret"`}},
		{name: "missing a store password", edit: func(d map[string][]byte) {
			delete(d, "redis-password")
		}, wantErr: []string{`"redis-password"`, "redis.passwordKey"}},
		{name: "an empty store password is allowed", edit: func(d map[string][]byte) {
			d["redis-password"] = []byte{}
		}},
		{name: "no nats-password is allowed", edit: func(d map[string][]byte) {
			delete(d, "nats-password")
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, mode := range []struct {
				name   string
				values string
				secret string
			}{
				{"existingSecret", "global: {existingSecret: ops-secrets}", "ops-secrets"},
				{"generated, read back", "{}", generatedSecret},
			} {
				d := goodSecretData(t)
				tt.edit(d)
				_, err := renderInput(t, Input{Values: yamlValues(t, mode.values), Cluster: withObjects(secret(mode.secret, d))})
				if len(tt.wantErr) == 0 {
					if err != nil {
						t.Errorf("%s: %v", mode.name, err)
					}
					continue
				}
				if err == nil {
					t.Errorf("%s: rendered, want a failure naming %q", mode.name, tt.wantErr)
					continue
				}
				for _, w := range tt.wantErr {
					if !strings.Contains(err.Error(), w) {
						t.Errorf("%s: error does not mention %q:\n%v", mode.name, w, err)
					}
				}
			}
		})
	}
}

// TestNATSPasswordOptional: NATS requires a user and password unless the
// render sees the Secret and it has no nats-password; then nothing of
// NATS authentication is rendered anywhere (services, server config).
func TestNATSPasswordOptional(t *testing.T) {
	withPassword := goodSecretData(t)
	withoutPassword := goodSecretData(t)
	delete(withoutPassword, "nats-password")
	tests := []struct {
		name    string
		values  string
		cluster *Cluster
		auth    bool
	}{
		{"Secret not visible (first install, generated)", "{}", nil, true},
		{"existing Secret with nats-password", "global: {existingSecret: ops}", withObjects(secret("ops", withPassword)), true},
		{"existing Secret without nats-password", "global: {existingSecret: ops}", withObjects(secret("ops", withoutPassword)), false},
		{"chart-managed Secret without nats-password", "{}", withObjects(secret(generatedSecret, withoutPassword)), false},
		{"no NATS user", "nats: {user: \"\"}", nil, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			objs := mustRender(t, Input{Values: yamlValues(t, tt.values), Cluster: tt.cluster})
			var found []string // what of NATS auth is rendered
			for _, cm := range All[*corev1.ConfigMap](objs) {
				if _, ok := cm.Data["AGENTTRACE_NATS_USER"]; ok {
					found = append(found, "ConfigMap "+cm.Name+" AGENTTRACE_NATS_USER")
				}
				if conf, ok := cm.Data["nats.conf"]; ok && strings.Contains(conf, "authorization") {
					found = append(found, "nats.conf authorization")
				}
			}
			users := 0
			for _, p := range PodTemplates(objs) {
				for _, c := range allContainers(p.Spec) {
					for _, e := range c.Env {
						if e.Name == "AGENTTRACE_NATS_PASSWORD" || e.Name == "NATS_PASSWORD" {
							found = append(found, p.Owner+" "+e.Name)
						}
						// nats-server parses $NATS_PASSWORD as configuration:
						// only a quoted value is a string whatever it holds.
						if e.Name == "NATS_PASSWORD" && e.Value != `"$(NATS_PASSWORD_VALUE)"` {
							t.Errorf("%s: NATS_PASSWORD = %q, want the secret quoted for nats.conf", p.Owner, e.Value)
						}
						if e.Name == "AGENTTRACE_NATS_USER" && strings.HasPrefix(p.Owner, "Deployment/") {
							users++
						}
					}
				}
			}
			if !tt.auth {
				if len(found) > 0 {
					t.Errorf("NATS without a password, but rendered: %v", found)
				}
				return
			}
			// User and password everywhere: the four NATS clients, the
			// server's env and its config.
			want := map[string]bool{"nats.conf authorization": true, "StatefulSet/" + ReleaseName + "-nats NATS_PASSWORD": true}
			for _, svc := range []string{"ingest", "query", "auth", "worker"} {
				want["Deployment/"+ReleaseName+"-"+svc+" AGENTTRACE_NATS_PASSWORD"] = true
			}
			for _, f := range found {
				delete(want, f)
			}
			if len(want) > 0 || users != 4 {
				t.Errorf("NATS with a password, but missing %v (AGENTTRACE_NATS_USER set in %d Deployments, want 4); rendered: %v", keys(want), users, found)
			}
		})
	}
}

// statefulSet returns the rendered StatefulSet of a store.
func statefulSet(t *testing.T, objs []Object, store string) *appsv1.StatefulSet {
	t.Helper()
	for _, s := range All[*appsv1.StatefulSet](objs) {
		if s.Name == ReleaseName+"-"+store {
			return s
		}
	}
	t.Fatalf("no StatefulSet %s-%s", ReleaseName, store)
	return nil
}
