package webui

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"testing/fstest"
)

const (
	placeholder = "<html>build the UI</html>"
	appIndex    = `<html><script type="module" src="/assets/index-1a2b.js"></script></html>`
	appScript   = "console.log('app')"
)

func built() fstest.MapFS {
	return fstest.MapFS{
		"dist/placeholder.html":         {Data: []byte(placeholder)},
		"dist/app/index.html":           {Data: []byte(appIndex)},
		"dist/app/assets/index-1a2b.js": {Data: []byte(appScript)},
		"dist/app/favicon.svg":          {Data: []byte("<svg/>")},
	}
}

// get serves one request and returns what was written.
func get(h http.Handler, method, target string) *httptest.ResponseRecorder {
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(method, target, nil))
	return rec
}

// api stands for the REST API: it answers 299 so a test can tell who served.
var api = http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(299) })

// TestAppFiles: the app's files are served with their types, hashed
// assets cached for a year, everything else revalidated; a path that
// names no file is the app's index (its client-side routes), but a
// missing asset is a 404; every response carries the CSP.
func TestAppFiles(t *testing.T) {
	ui, err := fromFS(built())
	if err != nil {
		t.Fatal(err)
	}
	if !ui.Built() {
		t.Fatal("an app with index.html read as not built")
	}
	h := ui.Handler(api)
	for _, c := range []struct {
		path, want, cache, ctype string
		status                   int
	}{
		{"/", appIndex, "no-cache", "text/html", 200},
		{"/index.html", appIndex, "no-cache", "text/html", 200},
		{"/traces/abc?x=1", appIndex, "no-cache", "text/html", 200},
		{"/assets/index-1a2b.js", appScript, "public, max-age=31536000, immutable", "text/javascript", 200},
		{"/favicon.svg", "<svg/>", "no-cache", "image/svg+xml", 200},
		{"/assets/index-old.js", "404 page not found\n", "", "text/plain", 404},
		{"/assets", appIndex, "no-cache", "text/html", 200},
		{"/../../etc/passwd", appIndex, "no-cache", "text/html", 200},
	} {
		r := get(h, http.MethodGet, c.path)
		if got := r.Body.String(); r.Code != c.status || got != c.want {
			t.Errorf("GET %s: %d %q, want %d %q", c.path, r.Code, got, c.status, c.want)
		}
		if c.cache != "" && r.Header().Get("Cache-Control") != c.cache {
			t.Errorf("GET %s: Cache-Control %q, want %q", c.path, r.Header().Get("Cache-Control"), c.cache)
		}
		if ct := r.Header().Get("Content-Type"); !strings.HasPrefix(ct, c.ctype) {
			t.Errorf("GET %s: Content-Type %q, want %s", c.path, ct, c.ctype)
		}
		if csp := r.Header().Get("Content-Security-Policy"); !strings.Contains(csp, "script-src 'self'") || strings.Contains(csp, "unsafe") {
			t.Errorf("GET %s: Content-Security-Policy %q", c.path, csp)
		}
		if r.Header().Get("X-Content-Type-Options") != "nosniff" || r.Header().Get("X-Frame-Options") != "DENY" {
			t.Errorf("GET %s: headers %v", c.path, r.Header())
		}
	}
	if r := get(h, http.MethodHead, "/"); r.Code != 200 || r.Body.Len() != 0 {
		t.Errorf("HEAD /: %d, %d bytes", r.Code, r.Body.Len())
	}
}

// TestPlaceholder: without the app every UI path is the placeholder page.
func TestPlaceholder(t *testing.T) {
	fsys := built()
	for name := range fsys {
		if strings.HasPrefix(name, "dist/app/") {
			delete(fsys, name)
		}
	}
	ui, err := fromFS(fsys)
	if err != nil {
		t.Fatal(err)
	}
	if ui.Built() {
		t.Fatal("no app, yet built")
	}
	for _, p := range []string{"/", "/traces", "/assets/index-1a2b.js"} {
		r := get(ui.Handler(api), http.MethodGet, p)
		if got := r.Body.String(); r.Code != 200 || got != placeholder || r.Header().Get("Content-Security-Policy") == "" {
			t.Errorf("GET %s: %d %q", p, r.Code, got)
		}
	}
	delete(fsys, "dist/placeholder.html")
	if _, err := fromFS(fsys); err == nil {
		t.Error("neither app nor placeholder, yet a UI")
	}
}

// TestAPIPathsPassThrough: the API's paths, and every method but GET and
// HEAD, reach the API; a path that merely starts like one is the UI's.
func TestAPIPathsPassThrough(t *testing.T) {
	ui, err := fromFS(built())
	if err != nil {
		t.Fatal(err)
	}
	h := ui.Handler(api)
	for _, c := range []struct {
		method, path string
		api          bool
	}{
		{http.MethodGet, "/api/v1/traces", true},
		{http.MethodGet, "/api/public/health", true},
		{http.MethodGet, "/api", true},
		{http.MethodPost, "/v1/traces", true},
		{http.MethodGet, "/v1/traces", true},
		{http.MethodGet, "/health", true},
		{http.MethodPost, "/", true},
		{http.MethodDelete, "/traces", true},
		{http.MethodGet, "/apis", false},
		{http.MethodGet, "/v1x", false},
		{http.MethodGet, "/healthz", false},
		{http.MethodGet, "/", false},
	} {
		r := get(h, c.method, c.path)
		if got := r.Code == 299; got != c.api {
			t.Errorf("%s %s: served by the API %v, want %v", c.method, c.path, got, c.api)
		}
	}
}

// TestEmbedded: the binary's own UI loads, app or placeholder.
func TestEmbedded(t *testing.T) {
	ui, err := New()
	if err != nil {
		t.Fatal(err)
	}
	r := get(ui.Handler(api), http.MethodGet, "/")
	if got := r.Body.String(); r.Code != 200 || !strings.Contains(got, "<html") {
		t.Errorf("GET /: %d %q", r.Code, got)
	}
}
