// Package webui serves the browser UI: the single-page app built from
// services/gateway/web (`make web`) into dist/app and embedded in the
// gateway binary at build time. A build without the app (a Go build
// without Node.js) serves dist/placeholder.html instead, which says how
// to build it, as Jaeger does.
//
// The UI gets GET and HEAD requests outside the API's paths (see
// Handler); a path that names no file of the app is served index.html,
// so the app's own routes (/traces/abc) survive a reload. Every response
// carries a Content-Security-Policy that allows no inline script and no
// origin but the gateway's own; files under /assets/ (named by their
// content's hash) are cached for a year, index.html never.
package webui

import (
	"bytes"
	"embed"
	"io/fs"
	"net/http"
	"path"
	"strings"
	"time"
)

//go:embed all:dist
var dist embed.FS

// contentSecurityPolicy allows scripts, styles, fonts and API calls from
// the gateway's origin only, images also as data: URLs, no plugin, no
// framing, no form posted elsewhere.
const contentSecurityPolicy = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; " +
	"font-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'self'; frame-ancestors 'none'; form-action 'self'"

// apiPaths are the path prefixes the gateway's API serves: the REST API
// and the Langfuse front door (/api/), OTLP/HTTP (/v1/), and /health.
var apiPaths = []string{"/api/", "/v1/"}

// isAPI reports whether p belongs to the API rather than to the UI.
func isAPI(p string) bool {
	if p == "/health" || p == "/api" || p == "/v1" {
		return true
	}
	for _, prefix := range apiPaths {
		if strings.HasPrefix(p, prefix) {
			return true
		}
	}
	return false
}

// UI serves the embedded app, or the placeholder when the build holds none.
type UI struct {
	files fs.FS  // the app's files; nil: no app built
	index []byte // the app's index.html, or the placeholder
	mod   time.Time
}

// New returns the UI embedded in this binary.
func New() (*UI, error) { return fromFS(dist) }

// fromFS reads the UI from a tree shaped like dist: app/ (optional) and
// placeholder.html.
func fromFS(root fs.FS) (*UI, error) {
	app, err := fs.Sub(root, "dist/app")
	if err != nil {
		return nil, err
	}
	if index, err := fs.ReadFile(app, "index.html"); err == nil {
		return &UI{files: app, index: index}, nil
	}
	placeholder, err := fs.ReadFile(root, "dist/placeholder.html")
	if err != nil {
		return nil, err
	}
	return &UI{index: placeholder}, nil
}

// Built reports whether the binary holds the app, not the placeholder.
func (u *UI) Built() bool { return u.files != nil }

// Handler serves the UI for GET and HEAD requests outside the API's
// paths, and passes every other request to api.
func (u *UI) Handler(api http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if (r.Method != http.MethodGet && r.Method != http.MethodHead) || isAPI(r.URL.Path) {
			api.ServeHTTP(w, r)
			return
		}
		u.ServeHTTP(w, r)
	})
}

// ServeHTTP serves the file the path names, or index.html.
func (u *UI) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Content-Security-Policy", contentSecurityPolicy)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("X-Frame-Options", "DENY")
	name := strings.TrimPrefix(path.Clean(r.URL.Path), "/")
	if u.files != nil && name != "" && name != "index.html" {
		if f, err := u.files.Open(name); err == nil {
			st, err := f.Stat()
			_ = f.Close()
			if err == nil && !st.IsDir() {
				if strings.HasPrefix(name, "assets/") {
					h.Set("Cache-Control", "public, max-age=31536000, immutable")
				} else {
					h.Set("Cache-Control", "no-cache")
				}
				http.ServeFileFS(w, r, u.files, name)
				return
			}
		}
		// A missing asset is a 404, not the app: a stale page asking for
		// the previous build's bundle must not get HTML as JavaScript.
		if strings.HasPrefix(name, "assets/") {
			http.NotFound(w, r)
			return
		}
	}
	h.Set("Cache-Control", "no-cache")
	http.ServeContent(w, r, "index.html", u.mod, bytes.NewReader(u.index))
}
