package e2e

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
)

// Kinds of secrets the run creates or configures. A leak report names the
// kind and the log, never the secret.
const (
	secretPassword       = "user password"
	secretAPIKey         = "API secret key"
	secretBasicAuth      = "API key Basic credentials"
	secretAccessToken    = "user access token"
	secretRefreshToken   = "refresh token"
	secretInvitation     = "invitation token"
	secretJWT            = "JWT secret"
	secretEncryptionKey  = "encryption key"
	secretLLMAPIKey      = "LLM API key"
	minSecretLen         = 12 // shorter values would match by chance
	secretRedaction      = "[redacted %s]"
	secretsScanReadLimit = 256 << 20
)

// secretFields maps the JSON field names of the REST API that carry a
// secret, in requests or answers, to the kind of secret.
var secretFields = map[string]string{
	"password":         secretPassword,
	"secret_key":       secretAPIKey,
	"access_token":     secretAccessToken,
	"refresh_token":    secretRefreshToken,
	"invitation_token": secretInvitation,
	"token":            secretInvitation, // CreateInvitationResponse, AcceptInvitationRequest
	"api_key":          secretLLMAPIKey,  // LLM connections
}

// secretRegistry is every secret of the run, by value. The REST client feeds
// it from every request and answer, so a test cannot forget one.
type secretRegistry struct {
	mu   sync.Mutex
	kind map[string]string // value -> kind
}

// secrets is the registry of the whole run.
var secrets = &secretRegistry{kind: map[string]string{}}

func (r *secretRegistry) add(kind, value string) {
	if len(value) < minSecretLen {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if _, ok := r.kind[value]; !ok {
		r.kind[value] = kind
	}
}

// addAPIKey registers a key pair's secret and the Basic header built from it.
func (r *secretRegistry) addAPIKey(publicKey, secretKey string) {
	r.add(secretAPIKey, secretKey)
	if publicKey != "" {
		r.add(secretBasicAuth, base64.StdEncoding.EncodeToString([]byte(publicKey+":"+secretKey)))
	}
}

// harvestJSON registers every secret field found anywhere in a JSON document
// (silently nothing when it is not JSON).
func (r *secretRegistry) harvestJSON(doc []byte) {
	if len(doc) == 0 || !json.Valid(doc) {
		return
	}
	var v any
	if json.Unmarshal(doc, &v) != nil {
		return
	}
	r.harvest(v)
}

func (r *secretRegistry) harvest(v any) {
	switch v := v.(type) {
	case map[string]any:
		// CreateAPIKeyResponse: the Basic header a client builds is a secret too.
		if sk, ok := v["secret_key"].(string); ok {
			if k, ok := v["api_key"].(map[string]any); ok {
				pk, _ := k["public_key"].(string)
				r.addAPIKey(pk, sk)
			}
		}
		for k, f := range v {
			if kind, ok := secretFields[k]; ok {
				if s, ok := f.(string); ok {
					r.add(kind, s)
				}
			}
			r.harvest(f)
		}
	case []any:
		for _, f := range v {
			r.harvest(f)
		}
	}
}

// redact replaces every registered secret in s, so failure messages can
// quote answers that carry tokens.
func (r *secretRegistry) redact(s string) string {
	r.mu.Lock()
	defer r.mu.Unlock()
	for v, kind := range r.kind {
		if strings.Contains(s, v) {
			s = strings.ReplaceAll(s, v, fmt.Sprintf(secretRedaction, kind))
		}
	}
	return s
}

// leak is one secret kind found in one log.
type leak struct {
	log   string
	kind  string
	count int
}

func (l leak) String() string {
	return fmt.Sprintf("%s: %d occurrence(s) of a %s", l.log, l.count, l.kind)
}

// scan reads every log and reports which kinds of secrets appear in which
// log, without the secrets themselves.
func (r *secretRegistry) scan(logs []string) ([]leak, error) {
	r.mu.Lock()
	values := maps.Clone(r.kind)
	r.mu.Unlock()
	var leaks []leak
	for _, path := range logs {
		data, err := os.ReadFile(path)
		if err != nil {
			return nil, fmt.Errorf("read log %s: %w", path, err)
		}
		if len(data) > secretsScanReadLimit {
			return nil, fmt.Errorf("log %s is %d bytes, more than the scan reads", path, len(data))
		}
		byKind := map[string]int{}
		for v, kind := range values {
			if n := bytes.Count(data, []byte(v)); n > 0 {
				byKind[kind] += n
			}
		}
		for _, kind := range slices.Sorted(maps.Keys(byKind)) {
			leaks = append(leaks, leak{log: filepath.Base(path), kind: kind, count: byKind[kind]})
		}
	}
	return leaks, nil
}

// counts is how many secrets of each kind the registry holds, to show the
// scan looked for something.
func (r *secretRegistry) counts() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := map[string]int{}
	for _, kind := range r.kind {
		n[kind]++
	}
	var parts []string
	for _, kind := range slices.Sorted(maps.Keys(n)) {
		parts = append(parts, fmt.Sprintf("%d %s", n[kind], kind))
	}
	return strings.Join(parts, ", ")
}

// TestSecretScan checks the scan itself (no platform needed): it must find
// every registered kind wherever it is, name only the kind, and find
// nothing in a clean log.
func TestSecretScan(t *testing.T) {
	r := &secretRegistry{kind: map[string]string{}}
	r.harvestJSON([]byte(`{"email":"a@b.c","password":"hunter2-hunter2-hunter2"}`))
	r.harvestJSON([]byte(`{"api_key":{"public_key":"pk-at-0123456789","secret_hint":"sk-at-...xyz"},"secret_key":"sk-at-secretsecretsecret"}`))
	r.harvestJSON([]byte(`{"tokens":{"access_token":"eyJhbGciOi.payload.signature","refresh_token":"rt-0123456789abcdef"}}`))
	r.harvestJSON([]byte(`[{"token":"inv-0123456789abcdef"}]`))
	r.harvestJSON([]byte(`{"api_key":"sk-llm-0123456789abcdef","password":"short"}`))
	r.harvestJSON([]byte(`not json "password":"hunter2-hunter2-hunter3"`))
	r.add(secretJWT, "jwt-secret-0123456789abcdef0123456789")
	basic := base64.StdEncoding.EncodeToString([]byte("pk-at-0123456789:sk-at-secretsecretsecret"))

	dir := t.TempDir()
	write := func(name, content string) string {
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		return path
	}
	clean := write("clean.log", "level=INFO msg=login user=a@b.c hint=sk-at-...xyz pk=pk-at-0123456789 short\n")
	tests := []struct {
		name, log string
		want      []string
	}{
		{"clean", "", nil},
		{"password", "msg=signup req={password:hunter2-hunter2-hunter2}", []string{secretPassword}},
		{"secret key and basic header", "auth=Basic " + basic + " sk=sk-at-secretsecretsecret", []string{secretBasicAuth, secretAPIKey}},
		{"tokens", "t=eyJhbGciOi.payload.signature r=rt-0123456789abcdef", []string{secretRefreshToken, secretAccessToken}},
		{"invitation and LLM key", "inv-0123456789abcdef sk-llm-0123456789abcdef", []string{secretInvitation, secretLLMAPIKey}},
		{"jwt secret", "cfg=jwt-secret-0123456789abcdef0123456789", []string{secretJWT}},
		{"not harvested from non-JSON", "hunter2-hunter2-hunter3", nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			logs := []string{clean}
			if tc.log != "" {
				logs = append(logs, write(strings.ReplaceAll(tc.name, " ", "-")+".log", tc.log))
			}
			leaks, err := r.scan(logs)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, l := range leaks {
				if r.redact(l.String()) != l.String() {
					t.Errorf("leak report quotes the secret: %s", l)
				}
				got = append(got, l.kind)
			}
			slices.Sort(got)
			want := slices.Sorted(slices.Values(tc.want))
			if !slices.Equal(got, want) {
				t.Errorf("scan found %v, want %v", got, want)
			}
		})
	}

	if _, err := r.scan([]string{filepath.Join(dir, "missing.log")}); err == nil {
		t.Error("scan of a missing log: want an error, got none")
	}
	if got := r.redact("x sk-at-secretsecretsecret y"); strings.Contains(got, "secretsecret") || !strings.Contains(got, secretAPIKey) {
		t.Errorf("redact: got %q", got)
	}
}
