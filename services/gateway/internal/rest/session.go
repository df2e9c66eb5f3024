package rest

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"strconv"
	"time"
)

// A browser's login keeps its refresh token in a cookie that scripts
// cannot read: a client that sends "X-AgentTrace-Session: cookie" with
// login, signup, refresh and logout (the web UI does) gets the refresh
// token as an HttpOnly, SameSite=Strict cookie scoped to /api/v1/auth
// instead of in the answer's body, and refresh and logout read it from
// there when their body names none. The access token stays in the body,
// for the page to keep in memory. A cross-site page cannot use the cookie:
// the browser sends it to same-site requests only, and the custom header
// (which a form cannot set, and which a cross-origin fetch may set only
// after a CORS preflight the gateway never grants) is required too.
// Beside it goes a marker cookie holding no secret ("1"), which the page
// can read, so that a reload tries to restore the login only when there
// is one. Clients that do not send the header (SDKs, curl) see no change.
const (
	sessionHeader  = "X-Agenttrace-Session" // canonical form of X-AgentTrace-Session
	sessionCookie  = "cookie"
	refreshCookie  = "agenttrace_refresh"
	refreshPath    = "/api/v1/auth"
	markerCookie   = "agenttrace_session"
	maxSessionBody = 64 << 10
)

// sessionStep is what a cookie session does around one auth route.
type sessionStep int

const (
	issue  sessionStep = iota // login, signup: set the cookie from the answer
	rotate                    // refresh: read the cookie, set the new one
	end                       // logout: read the cookie, then clear it
)

var sessionRoutes = map[string]sessionStep{
	"/api/v1/auth/login":   issue,
	"/api/v1/auth/signup":  issue,
	"/api/v1/auth/refresh": rotate,
	"/api/v1/auth/logout":  end,
}

// withSessionCookie serves cookie sessions (above) around next; the
// request body has been read into memory already (limitBody).
func withSessionCookie(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		step, ok := sessionRoutes[r.URL.Path]
		if !ok || r.Method != http.MethodPost || r.Header.Get(sessionHeader) != sessionCookie {
			next.ServeHTTP(w, r)
			return
		}
		if step != issue {
			if c, err := r.Cookie(refreshCookie); err == nil && c.Value != "" {
				withRefreshToken(r, c.Value)
			}
		}
		rec := &bufferedResponse{header: http.Header{}, status: http.StatusOK}
		next.ServeHTTP(rec, r)
		body := rec.body.Bytes()
		switch {
		case step == end, step == rotate && (rec.status == http.StatusUnauthorized || rec.status == http.StatusBadRequest):
			// Logged out, or the token is no good: forget it.
			setSessionCookies(w, r, "", time.Time{})
		case rec.status == http.StatusOK:
			if token, expires, rest, ok := takeRefreshToken(body); ok {
				setSessionCookies(w, r, token, expires)
				body = rest
			}
		}
		for k, v := range rec.header {
			w.Header()[k] = v
		}
		w.Header().Set("Content-Length", strconv.Itoa(len(body)))
		w.Header().Add("Cache-Control", "no-store")
		w.WriteHeader(rec.status)
		_, _ = w.Write(body)
	})
}

// withRefreshToken puts token in the request's JSON body when the body
// names no refresh token (an empty body counts as {}); a body that is not a
// JSON object is left for the route to refuse.
func withRefreshToken(r *http.Request, token string) {
	raw, err := io.ReadAll(io.LimitReader(r.Body, maxSessionBody))
	if err != nil {
		return
	}
	fields := map[string]json.RawMessage{}
	if len(bytes.TrimSpace(raw)) > 0 {
		if err := json.Unmarshal(raw, &fields); err != nil || fields == nil {
			r.Body = io.NopCloser(bytes.NewReader(raw))
			return
		}
	}
	var named string
	if v, ok := fields["refresh_token"]; ok && json.Unmarshal(v, &named) == nil && named != "" {
		r.Body = io.NopCloser(bytes.NewReader(raw))
		return
	}
	fields["refresh_token"], _ = json.Marshal(token)
	out, _ := json.Marshal(fields)
	r.Body, r.ContentLength = io.NopCloser(bytes.NewReader(out)), int64(len(out))
	r.Header.Set("Content-Length", strconv.Itoa(len(out)))
}

// takeRefreshToken removes tokens.refresh_token from a JSON answer and
// returns it, its expiry and the answer without it; ok is false when the
// answer holds none.
func takeRefreshToken(body []byte) (token string, expires time.Time, rest []byte, ok bool) {
	var answer map[string]json.RawMessage
	if json.Unmarshal(body, &answer) != nil {
		return "", time.Time{}, nil, false
	}
	var tokens map[string]json.RawMessage
	if json.Unmarshal(answer["tokens"], &tokens) != nil {
		return "", time.Time{}, nil, false
	}
	if json.Unmarshal(tokens["refresh_token"], &token) != nil || token == "" {
		return "", time.Time{}, nil, false
	}
	var at string
	if json.Unmarshal(tokens["refresh_token_expires_at"], &at) == nil {
		expires, _ = time.Parse(time.RFC3339Nano, at)
	}
	delete(tokens, "refresh_token")
	answer["tokens"], _ = json.Marshal(tokens)
	rest, err := json.Marshal(answer)
	if err != nil {
		return "", time.Time{}, nil, false
	}
	return token, expires, rest, true
}

// setSessionCookies sets the refresh token's cookie and the marker until
// expires (the browser's session when zero); an empty token clears both.
// They are Secure when the request came over HTTPS (to the gateway, or to
// a proxy in front of it).
func setSessionCookies(w http.ResponseWriter, r *http.Request, token string, expires time.Time) {
	secure := r.TLS != nil || r.Header.Get("X-Forwarded-Proto") == "https"
	refresh := &http.Cookie{Name: refreshCookie, Value: token, Path: refreshPath, HttpOnly: true, SameSite: http.SameSiteStrictMode, Secure: secure}
	marker := &http.Cookie{Name: markerCookie, Value: "1", Path: "/", SameSite: http.SameSiteStrictMode, Secure: secure}
	for _, c := range []*http.Cookie{refresh, marker} {
		switch {
		case token == "":
			c.Value, c.MaxAge = "", -1
		case !expires.IsZero():
			c.Expires = expires
		}
		http.SetCookie(w, c)
	}
}

// bufferedResponse holds an answer for withSessionCookie to rewrite.
type bufferedResponse struct {
	header http.Header
	status int
	body   bytes.Buffer
}

func (b *bufferedResponse) Header() http.Header         { return b.header }
func (b *bufferedResponse) Write(p []byte) (int, error) { return b.body.Write(p) }
func (b *bufferedResponse) WriteHeader(status int)      { b.status = status }
