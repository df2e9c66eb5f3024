package chart

import (
	"fmt"
	"net/url"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
)

const deploymentYAML = `# Source: agenttrace/templates/deployment.yaml
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers: [{name: web, image: agenttrace-gateway:1}]
`

func TestDecode(t *testing.T) {
	tests := []struct {
		name    string
		yaml    string
		wantErr string
		check   func(t *testing.T, o Object)
	}{
		{name: "typed deployment", yaml: deploymentYAML, check: func(t *testing.T, o Object) {
			d, ok := o.Obj.(*appsv1.Deployment)
			if !ok || d.Name != "web" || o.Kind != "Deployment" || o.Source != "agenttrace/templates/deployment.yaml" {
				t.Errorf("decoded %+v", o)
			}
		}},
		{name: "unknown field", yaml: strings.Replace(deploymentYAML, "  selector:", "  replica: 3\n  selector:", 1), wantErr: "unknown field"},
		{name: "duplicate field", yaml: deploymentYAML + "  selector: {}\n", wantErr: "already set"},
		{name: "unknown kind", yaml: "apiVersion: example.com/v1\nkind: Widget\nmetadata: {name: w}\n", wantErr: "Widget"},
		{name: "not yaml", yaml: "apiVersion: [\n", wantErr: "yaml"},
		{name: "external secret", yaml: "apiVersion: external-secrets.io/v1\nkind: ExternalSecret\nmetadata: {name: s}\nspec:\n  secretStoreRef: {name: vault}\n  target: {name: t}\n  data: [{secretKey: jwt-secret, remoteRef: {key: a/b}}]\n", check: func(t *testing.T, o Object) {
			es, ok := o.Obj.(*ExternalSecret)
			if !ok || es.Spec.Target.Name != "t" || len(es.Spec.Data) != 1 || es.Spec.Data[0].SecretKey != "jwt-secret" || o.Name != "s" {
				t.Errorf("decoded %+v", o.Obj)
			}
		}},
		{name: "external secret unknown field", yaml: "apiVersion: external-secrets.io/v1\nkind: ExternalSecret\nmetadata: {name: s}\nspec:\n  secretStoreRef: {name: vault}\n  target: {name: t}\n  dat: []\n", wantErr: "unknown field"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			objs, err := Decode([]Manifest{{Source: "agenttrace/templates/deployment.yaml", YAML: tt.yaml}})
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want it to mention %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			tt.check(t, objs[0])
		})
	}
}

func FuzzDecode(f *testing.F) {
	f.Add(deploymentYAML)
	f.Add("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\ndata: {a: b}\n")
	f.Add("apiVersion: external-secrets.io/v1\nkind: ExternalSecret\nmetadata: {name: s}\n")
	f.Add("kind: [")
	f.Fuzz(func(t *testing.T, doc string) {
		objs, err := Decode([]Manifest{{YAML: doc}})
		if err == nil && (len(objs) != 1 || objs[0].Obj == nil) {
			t.Errorf("no error but %d objects", len(objs))
		}
	})
}

// TestSortRendered: the engine's files become documents as Helm sorts
// them: NOTES.txt and partials dropped, comment-only documents skipped,
// hooks marked with their events, the template path as the source.
func TestSortRendered(t *testing.T) {
	files := map[string]string{
		"agenttrace/templates/NOTES.txt":       "Thank you for installing.\n",
		"agenttrace/templates/_helpers.tpl":    "",
		"agenttrace/templates/validate.yaml":   "# renders nothing\n",
		"agenttrace/templates/deployment.yaml": "---\n# only a comment\n---\n" + deploymentYAML,
		"agenttrace/templates/tests/t.yaml":    "apiVersion: v1\nkind: Pod\nmetadata:\n  name: t\n  annotations:\n    helm.sh/hook: test\n",
	}
	ms, err := sortRendered(files)
	if err != nil {
		t.Fatal(err)
	}
	if len(ms) != 2 {
		t.Fatalf("sortRendered = %+v, want the Deployment and the hook", ms)
	}
	if ms[0].Hook || ms[0].Source != "agenttrace/templates/deployment.yaml" {
		t.Errorf("first document %+v, want the Deployment, not a hook", ms[0])
	}
	if !ms[1].Hook || ms[1].Source != "agenttrace/templates/tests/t.yaml" || strings.Join(ms[1].HookEvents, ",") != "test" {
		t.Errorf("second document %+v, want the test hook", ms[1])
	}
	if _, err := sortRendered(map[string]string{"a/templates/x.yaml": "kind: [\n"}); err == nil {
		t.Error("a document that is not YAML: want an error")
	}
}

func TestMergeValues(t *testing.T) {
	base := map[string]any{"image": map[string]any{"registry": "r", "tag": "1"}, "a": 1}
	got := mergeValues(base, map[string]any{"image": map[string]any{"registry": ""}, "b": map[string]any{"c": true}})
	want := map[string]any{"image": map[string]any{"registry": "", "tag": "1"}, "a": 1, "b": map[string]any{"c": true}}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("mergeValues = %v, want %v", got, want)
	}
	if base["image"].(map[string]any)["registry"] != "r" {
		t.Error("mergeValues changed its base")
	}
}

func TestSecretSource(t *testing.T) {
	fromSecret := map[string]bool{"PGPASS": true}
	for _, tt := range []struct {
		name string
		env  corev1.EnvVar
		want bool
	}{
		{"secretKeyRef", corev1.EnvVar{ValueFrom: &corev1.EnvVarSource{SecretKeyRef: &corev1.SecretKeySelector{Key: "k"}}}, true},
		{"configMapKeyRef", corev1.EnvVar{ValueFrom: &corev1.EnvVarSource{ConfigMapKeyRef: &corev1.ConfigMapKeySelector{Key: "k"}}}, false},
		{"literal", corev1.EnvVar{Value: "hunter2"}, false},
		{"interpolates a secret", corev1.EnvVar{Value: "postgres://u:$(PGPASS)@db:5432/x"}, true},
		{"interpolates a plain variable", corev1.EnvVar{Value: "postgres://u:$(PLAIN)@db"}, false},
		{"mixed", corev1.EnvVar{Value: "$(PGPASS)$(PLAIN)"}, false},
		{"unterminated", corev1.EnvVar{Value: "x$(PGPASS"}, false},
		{"URL without a password", corev1.EnvVar{Value: "postgres://agenttrace@db:5432/x?sslmode=disable"}, true},
		{"URL with a password", corev1.EnvVar{Value: "postgres://u:hunter2@db:5432/x"}, false},
		{"URL with a password parameter", corev1.EnvVar{Value: "postgres://u@db:5432/x?password=hunter2"}, false},
		{"URL expanding a plain variable", corev1.EnvVar{Value: "postgres://u@db/$(PLAIN)"}, false},
		{"not a URL", corev1.EnvVar{Value: "db:5432"}, false},
	} {
		if got := secretSource(tt.env, fromSecret); got != tt.want {
			t.Errorf("%s: secretSource = %v, want %v", tt.name, got, tt.want)
		}
	}
}

func FuzzSecretSource(f *testing.F) {
	for _, s := range []string{"", "$(A)", "x$(A)y$(B)", "$(", "$()", ")$("} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, v string) {
		// With no secret variables only a URL without a password passes.
		if secretSource(corev1.EnvVar{Value: v}, map[string]bool{}) && !passwordlessURL(v) {
			t.Errorf("%q counted as secret with no secret variables", v)
		}
		if u, err := url.Parse(v); err == nil && u.User != nil && passwordlessURL(v) {
			if _, set := u.User.Password(); set {
				t.Errorf("%q has a password but counts as passwordless", v)
			}
		}
	})
}

func TestAvailableKeys(t *testing.T) {
	s := &scenario{
		values: map[string]any{
			"global":   map[string]any{"existingSecret": "ops-secret"},
			"postgres": map[string]any{"passwordKey": "pg-pass", "existingSecret": "pg-secret"},
		},
		objs: []Object{
			{Kind: "Secret", Obj: &corev1.Secret{Data: map[string][]byte{"a": nil}, StringData: map[string]string{"b": ""}}},
			{Kind: "ConfigMap", Obj: &corev1.ConfigMap{Data: map[string]string{"c": ""}}},
		},
	}
	s.objs[0].Obj.(*corev1.Secret).Name = "rendered"
	s.objs[1].Obj.(*corev1.ConfigMap).Name = "cm"
	a := availableKeys(s)
	for _, tt := range []struct {
		secret, key string
		ok          bool
	}{
		{"rendered", "a", true},
		{"rendered", "b", true},
		{"rendered", "z", false},
		{"ops-secret", "jwt-secret", true},
		{"ops-secret", "pg-pass", true},
		{"ops-secret", "surprise", false},
		{"pg-secret", "pg-pass", true},
		{"pg-secret", "jwt-secret", false},
		{"nowhere", "a", false},
	} {
		if err := a.secretKey(tt.secret, tt.key); (err == nil) != tt.ok {
			t.Errorf("secretKey(%s, %s) = %v, want ok=%v", tt.secret, tt.key, err, tt.ok)
		}
	}
	if a.configMapKey("cm", "c") != nil || a.configMapKey("cm", "") != nil || a.configMapKey("cm", "d") == nil || a.configMapKey("other", "") == nil {
		t.Error("configMapKey answers wrong")
	}
}

func TestWithoutAgentTrace(t *testing.T) {
	got := withoutAgentTrace([]string{"PATH=/bin", "AGENTTRACE_GRPC_ADDR=:1", "GOFLAGS=-mod=mod", "AGENTTRACE_X="})
	if strings.Join(got, ",") != "PATH=/bin,GOFLAGS=-mod=mod" {
		t.Errorf("withoutAgentTrace = %v", got)
	}
}
