package langfuse

import (
	"net/http"
	"strings"
)

// mediaMessage explains why media routes answer 501.
const mediaMessage = "media upload is not supported by AgentTrace: media in input and output is not stored " +
	"(the Langfuse SDK replaces it with a placeholder and sends the event anyway); see docs/langfuse.md"

// serveMedia answers Langfuse's media routes (POST /api/public/media for an
// upload URL, PATCH and GET /api/public/media/{id}) with 501 and a JSON
// message. AgentTrace has no blob store. The SDKs treat a failed media
// upload as a warning and send the trace regardless: JS v3 sees no
// uploadUrl nor mediaId in the answer and writes a placeholder
// ("<Upload handling failed for LangfuseMedia ...>") where the media was;
// the OTel-based SDKs (JS v4+, Python v3+) log the failure and export the
// span unchanged.
func serveMedia(w http.ResponseWriter, r *http.Request) {
	id := strings.TrimPrefix(r.URL.Path, MediaPrefix)
	switch {
	case r.URL.Path == MediaPath:
		if r.Method != http.MethodPost {
			methodNotAllowed(w, http.MethodPost)
			return
		}
	case id == "" || strings.Contains(id, "/"):
		writeMessage(w, http.StatusNotFound, "no route for "+r.Method+" "+printable(r.URL.Path))
		return
	case r.Method != http.MethodGet && r.Method != http.MethodPatch:
		methodNotAllowed(w, http.MethodGet, http.MethodPatch)
		return
	}
	writeMessage(w, http.StatusNotImplemented, mediaMessage)
}
