package e2e

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/agenttrace/agenttrace/pkg/config"
	authv1 "github.com/agenttrace/agenttrace/pkg/gen/agenttrace/auth/v1"
	queryv1 "github.com/agenttrace/agenttrace/pkg/gen/agenttrace/query/v1"
	"github.com/agenttrace/agenttrace/pkg/jwtkeys"
)

// TestTokenAttacks presents forged and stale access tokens to auth
// (GET /api/v1/auth/me) and to query (GET /api/v1/traces) through the
// gateway: every one must be refused with 401. A token minted here with the
// installation's secret is the control that shows the forgeries differ from
// a good token only in what each attack changes.
func TestTokenAttacks(t *testing.T) {
	s := requireStack(t)
	founder, org := s.founder(t)
	project := s.createProject(t, founder, org, "tokens-"+randomHex(3)).GetId()
	ring, err := jwtkeys.NewRing(jwtkeys.Config{Secret: config.Secret(s.jwtSecret)})
	if err != nil {
		t.Fatal(err)
	}
	other, err := jwtkeys.NewRing(jwtkeys.Config{Secret: config.Secret(randomHex(32))})
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	mint := func(r *jwtkeys.Ring, userID string, at time.Time, ttl time.Duration) string {
		tok, err := r.MintUserToken(userID, founder.Email, randomHex(8), at, ttl)
		if err != nil {
			t.Fatal(err)
		}
		secrets.add(secretAccessToken, tok)
		return tok
	}
	good := mint(ring, founder.ID, now, 5*time.Minute)

	t.Run("control: a token signed with the installation's secret", func(t *testing.T) {
		c := s.rest("Bearer " + good).inProject(project)
		c.mustGet(t, "/api/v1/traces", &queryv1.ListTracesResponse{})
		me, err := s.me(t, &user{tokens: &authv1.Tokens{AccessToken: good}})
		if err != nil || me.GetUser().GetId() != founder.ID {
			t.Fatalf("GET /api/v1/auth/me with the control token: %v %v", me, err)
		}
	})

	service, err := ring.MintServiceToken("worker", now)
	if err != nil {
		t.Fatal(err)
	}
	secrets.add(secretAccessToken, service)
	attacks := []struct{ name, token string }{
		{"alg none", forge(t, good, func(h, c map[string]any) { h["alg"] = "none" }, nil)},
		{"signed with another secret", mint(other, founder.ID, now, 5*time.Minute)},
		{"expired", mint(ring, founder.ID, now.Add(-time.Hour), 10*time.Minute)},
		{"subject changed, signature kept", tamper(t, good, func(c map[string]any) { c["sub"] = randomHex(16) })},
		{"expiry extended, signature kept", tamper(t, mint(ring, founder.ID, now.Add(-time.Hour), 10*time.Minute),
			func(c map[string]any) { c["exp"] = now.Add(time.Hour).Unix() })},
		{"unknown key id, right secret", forge(t, good, func(h, c map[string]any) { h["kid"] = "not-a-key" }, []byte(s.jwtSecret))},
		{"signature stripped", strings.Join(strings.Split(good, ".")[:2], ".") + "."},
	}
	for _, a := range attacks {
		t.Run(a.name, func(t *testing.T) {
			c := s.rest("Bearer " + a.token)
			checkError(t, "auth: GET /api/v1/auth/me", c.do(t, http.MethodGet, "/api/v1/auth/me", nil), http.StatusUnauthorized, "UNAUTHENTICATED")
			checkError(t, "query: GET /api/v1/traces", c.inProject(project).do(t, http.MethodGet, "/api/v1/traces", nil), http.StatusUnauthorized, "UNAUTHENTICATED")
		})
	}

	// A genuine service token is a service, not a user: it may call only
	// internal methods, none of which the gateway routes.
	t.Run("service token on public routes", func(t *testing.T) {
		c := s.rest("Bearer " + service)
		forbidden(t, "auth: GET /api/v1/auth/me", c.do(t, http.MethodGet, "/api/v1/auth/me", nil))
		forbidden(t, "query: GET /api/v1/traces", c.inProject(project).do(t, http.MethodGet, "/api/v1/traces", nil))
	})
}

// forge re-encodes token with edit applied to its header and claims and
// signs it with HS256 under key (no signature at all when key is nil).
func forge(t *testing.T, token string, edit func(header, claims map[string]any), key []byte) string {
	t.Helper()
	header, claims := decodeJWT(t, token)
	edit(header, claims)
	signingInput := encodeSegment(t, header) + "." + encodeSegment(t, claims)
	if key == nil {
		return signingInput + "."
	}
	mac := hmac.New(sha256.New, key)
	mac.Write([]byte(signingInput))
	return signingInput + "." + base64.RawURLEncoding.EncodeToString(mac.Sum(nil))
}

// tamper edits the claims of token and keeps its original signature.
func tamper(t *testing.T, token string, edit func(claims map[string]any)) string {
	t.Helper()
	header, claims := decodeJWT(t, token)
	edit(claims)
	parts := strings.Split(token, ".")
	return encodeSegment(t, header) + "." + encodeSegment(t, claims) + "." + parts[2]
}

func decodeJWT(t *testing.T, token string) (header, claims map[string]any) {
	t.Helper()
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		t.Fatalf("not a JWT: %d parts", len(parts))
	}
	for i, out := range []*map[string]any{&header, &claims} {
		raw, err := base64.RawURLEncoding.DecodeString(parts[i])
		if err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(raw, out); err != nil {
			t.Fatal(err)
		}
	}
	return header, claims
}

func encodeSegment(t *testing.T, v map[string]any) string {
	t.Helper()
	raw, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return base64.RawURLEncoding.EncodeToString(raw)
}
