package rest

import "net/http"

// withRaw sends requests for the paths of raw to their handlers, and every
// other request to next (the body middleware and the REST routes).
func withRaw(raw map[string]http.Handler, next http.Handler) http.Handler {
	if len(raw) == 0 {
		return next
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h, ok := raw[r.URL.Path]
		if !ok {
			next.ServeHTTP(w, r)
			return
		}
		if info, ok := r.Context().Value(requestInfoKey{}).(*requestInfo); ok {
			info.route = r.URL.Path // one of a fixed set, so a safe label
		}
		h.ServeHTTP(w, r)
	})
}
