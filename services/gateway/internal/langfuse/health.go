package langfuse

import "net/http"

// health serves GET /api/public/health in Langfuse's shape. It checks
// nothing behind the gateway: the SDKs and uptime checks that call it want
// to know the server answers, and it must stay cheap. The gateway's /ready
// (admin port) is what follows the backends.
func health(version string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			methodNotAllowed(w, http.MethodGet, http.MethodHead)
			return
		}
		writeJSON(w, http.StatusOK, map[string]string{"status": "OK", "version": version})
	})
}
