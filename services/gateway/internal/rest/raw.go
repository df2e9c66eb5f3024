package rest

import (
	"net/http"
	"sort"
	"strings"
)

// withRaw sends requests for the paths of raw to their handlers, and every
// other request to next (the body middleware and the REST routes). A key
// ending in "/" serves the paths beneath it (as in http.ServeMux), the
// longest such key winning; an exact key wins over any of them.
func withRaw(raw map[string]http.Handler, next http.Handler) http.Handler {
	if len(raw) == 0 {
		return next
	}
	var prefixes []string
	for p := range raw {
		if strings.HasSuffix(p, "/") {
			prefixes = append(prefixes, p)
		}
	}
	sort.Slice(prefixes, func(i, j int) bool { return len(prefixes[i]) > len(prefixes[j]) })
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		route := r.URL.Path
		h, ok := raw[route]
		for _, p := range prefixes {
			if ok {
				break
			}
			if strings.HasPrefix(r.URL.Path, p) {
				route, h, ok = p, raw[p], true
			}
		}
		if !ok {
			next.ServeHTTP(w, r)
			return
		}
		if info, ok := r.Context().Value(requestInfoKey{}).(*requestInfo); ok {
			info.route = route // one of a fixed set, so a safe label
		}
		h.ServeHTTP(w, r)
	})
}
