package rest

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"
)

// identityStub answers the auth routes as the identity service would,
// recording the refresh token each request named.
type identityStub struct {
	named  []string
	status int // of refresh's answer; 200 when zero
}

func (s *identityStub) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	raw, _ := io.ReadAll(r.Body)
	var req struct {
		RefreshToken string `json:"refresh_token"`
	}
	if err := json.Unmarshal(raw, &req); err != nil {
		w.WriteHeader(http.StatusBadRequest)
		_, _ = w.Write([]byte(`{"error":{"message":"bad body"}}`))
		return
	}
	s.named = append(s.named, req.RefreshToken)
	w.Header().Set("Content-Type", "application/json")
	switch r.URL.Path {
	case "/api/v1/auth/logout":
		_, _ = w.Write([]byte(`{}`))
	case "/api/v1/auth/refresh":
		if s.status != 0 {
			w.WriteHeader(s.status)
			_, _ = w.Write([]byte(`{"error":{"message":"invalid or expired refresh token"}}`))
			return
		}
		_, _ = w.Write([]byte(`{"tokens":{"access_token":"at-2","refresh_token":"rt-2","refresh_token_expires_at":"2026-12-31T00:00:00Z"}}`))
	default:
		_, _ = w.Write([]byte(`{"user":{"email":"a@b.c"},"tokens":{"access_token":"at-1","refresh_token":"rt-1","refresh_token_expires_at":"2026-12-31T00:00:00Z"}}`))
	}
}

// sessionAnswer is what a client sees of one answer.
type sessionAnswer struct {
	status  int
	header  http.Header
	cookies []*http.Cookie
}

func sessionCall(t *testing.T, h http.Handler, method, path, body string, cookie bool, extra map[string]string) (sessionAnswer, map[string]any) {
	t.Helper()
	r := httptest.NewRequest(method, path, strings.NewReader(body))
	if cookie {
		r.Header.Set("X-AgentTrace-Session", "cookie")
	}
	for k, v := range extra {
		if k == "Cookie" {
			r.AddCookie(&http.Cookie{Name: refreshCookie, Value: v})
			continue
		}
		r.Header.Set(k, v)
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	raw := w.Body.Bytes()
	var out map[string]any
	if len(raw) > 0 {
		if err := json.Unmarshal(raw, &out); err != nil {
			t.Fatalf("%s %s: answer %q is not JSON: %v", method, path, raw, err)
		}
	}
	if n := w.Header().Get("Content-Length"); n != "" && n != strconv.Itoa(len(raw)) {
		t.Errorf("%s %s: Content-Length %s, body %d bytes", method, path, n, len(raw))
	}
	cookies := (&http.Response{Header: w.Header()}).Cookies()
	return sessionAnswer{status: w.Code, header: w.Header(), cookies: cookies}, out
}

func refreshCookieOf(t *testing.T, res sessionAnswer) *http.Cookie {
	t.Helper()
	return cookieOf(res, refreshCookie)
}

func cookieOf(res sessionAnswer, name string) *http.Cookie {
	for _, c := range res.cookies {
		if c.Name == name {
			return c
		}
	}
	return nil
}

func tokensOf(out map[string]any) map[string]any {
	m, _ := out["tokens"].(map[string]any)
	return m
}

func TestSessionCookieLifecycle(t *testing.T) {
	stub := &identityStub{}
	h := withSessionCookie(stub)

	// Login: the refresh token leaves the body for an HttpOnly cookie.
	res, out := sessionCall(t, h, http.MethodPost, "/api/v1/auth/login", `{"email":"a@b.c","password":"pw"}`, true, nil)
	c := refreshCookieOf(t, res)
	if c == nil || c.Value != "rt-1" || !c.HttpOnly || c.SameSite != http.SameSiteStrictMode || c.Path != "/api/v1/auth" || c.Secure ||
		!c.Expires.Equal(time.Date(2026, 12, 31, 0, 0, 0, 0, time.UTC)) {
		t.Fatalf("login's cookie = %+v", c)
	}
	// The marker: readable by the page, no secret, expiring with the token.
	if m := cookieOf(res, markerCookie); m == nil || m.Value != "1" || m.HttpOnly || m.Path != "/" || !m.Expires.Equal(c.Expires) {
		t.Errorf("login's marker cookie = %+v", m)
	}
	if tok := tokensOf(out); tok["access_token"] != "at-1" || tok["refresh_token"] != nil || tok["refresh_token_expires_at"] == nil {
		t.Errorf("login's tokens in the body = %v; want the access token and the expiry, no refresh token", tok)
	}
	if out["user"] == nil || res.header.Get("Cache-Control") != "no-store" {
		t.Errorf("login's answer lost its user or is cacheable: %v, %q", out, res.header.Get("Cache-Control"))
	}

	// Refresh with an empty body: the cookie's token is sent, a new cookie set.
	res, out = sessionCall(t, h, http.MethodPost, "/api/v1/auth/refresh", ``, true, map[string]string{"Cookie": "rt-1"})
	if got := stub.named[len(stub.named)-1]; got != "rt-1" {
		t.Errorf("refresh named %q, want the cookie's rt-1", got)
	}
	if c := refreshCookieOf(t, res); c == nil || c.Value != "rt-2" {
		t.Errorf("refresh's cookie = %+v, want rt-2", c)
	}
	if tok := tokensOf(out); tok["access_token"] != "at-2" || tok["refresh_token"] != nil {
		t.Errorf("refresh's tokens = %v", tok)
	}

	// A body that names a token keeps it.
	sessionCall(t, h, http.MethodPost, "/api/v1/auth/refresh", `{"refresh_token":"rt-body"}`, true, map[string]string{"Cookie": "rt-2"})
	if got := stub.named[len(stub.named)-1]; got != "rt-body" {
		t.Errorf("refresh named %q, want the body's rt-body", got)
	}

	// Logout: the cookie's token is revoked and the cookie cleared.
	res, _ = sessionCall(t, h, http.MethodPost, "/api/v1/auth/logout", `{}`, true, map[string]string{"Cookie": "rt-2"})
	if got := stub.named[len(stub.named)-1]; got != "rt-2" {
		t.Errorf("logout named %q, want the cookie's rt-2", got)
	}
	if c := refreshCookieOf(t, res); c == nil || c.Value != "" || c.MaxAge >= 0 {
		t.Errorf("logout's cookie = %+v, want it cleared", c)
	}
	if m := cookieOf(res, markerCookie); m == nil || m.MaxAge >= 0 {
		t.Errorf("logout's marker cookie = %+v, want it cleared", m)
	}
}

// A refused refresh clears the cookie: the token is no good.
func TestSessionCookieClearedWhenRefused(t *testing.T) {
	h := withSessionCookie(&identityStub{status: http.StatusUnauthorized})
	res, out := sessionCall(t, h, http.MethodPost, "/api/v1/auth/refresh", `{}`, true, map[string]string{"Cookie": "stale"})
	if res.status != http.StatusUnauthorized || out["error"] == nil {
		t.Errorf("refused refresh: %d %v", res.status, out)
	}
	if c := refreshCookieOf(t, res); c == nil || c.MaxAge >= 0 {
		t.Errorf("refused refresh's cookie = %+v, want it cleared", c)
	}
}

// Without the header (SDKs, curl), or on other routes and methods, nothing
// changes: the refresh token stays in the body and no cookie is read.
func TestSessionCookieOnlyWhenAsked(t *testing.T) {
	stub := &identityStub{}
	h := withSessionCookie(stub)
	res, out := sessionCall(t, h, http.MethodPost, "/api/v1/auth/login", `{}`, false, nil)
	if refreshCookieOf(t, res) != nil || tokensOf(out)["refresh_token"] != "rt-1" {
		t.Errorf("login without the header: cookie %v, tokens %v", refreshCookieOf(t, res), tokensOf(out))
	}
	sessionCall(t, h, http.MethodPost, "/api/v1/auth/refresh", `{}`, false, map[string]string{"Cookie": "rt-1"})
	if got := stub.named[len(stub.named)-1]; got != "" {
		t.Errorf("refresh without the header read the cookie: %q", got)
	}
	res, _ = sessionCall(t, h, http.MethodPost, "/api/v1/auth/me", `{}`, true, nil)
	if refreshCookieOf(t, res) != nil {
		t.Error("another route set the cookie")
	}
}

// Over HTTPS (directly or behind a proxy that says so) the cookie is Secure.
func TestSessionCookieSecureOverHTTPS(t *testing.T) {
	res, _ := sessionCall(t, withSessionCookie(&identityStub{}), http.MethodPost, "/api/v1/auth/login", `{}`, true,
		map[string]string{"X-Forwarded-Proto": "https"})
	if c := refreshCookieOf(t, res); c == nil || !c.Secure {
		t.Errorf("cookie over HTTPS = %+v, want Secure", c)
	}
}

// A body that is not a JSON object goes to the route as it came (which
// refuses it), and the cookie is not lost in it.
func TestSessionCookieLeavesOddBodies(t *testing.T) {
	for _, body := range []string{`not json`, `[1,2]`, `"x"`, `null`} {
		r := httptest.NewRequest(http.MethodPost, "/api/v1/auth/refresh", strings.NewReader(body))
		withRefreshToken(r, "rt")
		got, _ := io.ReadAll(r.Body)
		if body != `null` && string(got) != body {
			t.Errorf("body %q became %q", body, got)
		}
	}
}

// FuzzWithRefreshToken: whatever the body, the result is the body as it
// came or a JSON object naming a refresh token, never a panic.
func FuzzWithRefreshToken(f *testing.F) {
	for _, s := range []string{``, `{}`, `{"refresh_token":""}`, `{"refresh_token":"a"}`, `{"refresh_token":1}`, `[`, `{"a":{"b":[1,2]}}`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, body string) {
		r := httptest.NewRequest(http.MethodPost, "/api/v1/auth/refresh", strings.NewReader(body))
		withRefreshToken(r, "cookie-token")
		got, err := io.ReadAll(r.Body)
		if err != nil {
			t.Fatal(err)
		}
		if string(got) == body {
			return
		}
		var out struct {
			RefreshToken string `json:"refresh_token"`
		}
		if err := json.Unmarshal(got, &out); err != nil || out.RefreshToken == "" {
			t.Fatalf("body %q became %q (%v)", body, got, err)
		}
	})
}

// FuzzTakeRefreshToken: whatever the answer, taking the token never
// panics, and an answer it changes is JSON without the token.
func FuzzTakeRefreshToken(f *testing.F) {
	for _, s := range []string{`{}`, `{"tokens":{"refresh_token":"r","access_token":"a"}}`, `{"tokens":null}`, `{"tokens":{"refresh_token":5}}`, `x`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, body string) {
		token, _, rest, ok := takeRefreshToken([]byte(body))
		if !ok {
			return
		}
		var answer struct {
			Tokens map[string]json.RawMessage `json:"tokens"`
		}
		if err := json.Unmarshal(rest, &answer); err != nil || token == "" || answer.Tokens["refresh_token"] != nil {
			t.Fatalf("answer %q: token %q, rest %q (%v)", body, token, rest, err)
		}
	})
}
