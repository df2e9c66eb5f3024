package ingestapi

import (
	"context"
	"strings"

	"github.com/agenttrace/agenttrace/pkg/authn"
	"github.com/agenttrace/agenttrace/services/ingest/internal/ingestion"
)

// maxUserAgent bounds the user agent passed to the audit log.
const maxUserAgent = 512

// actorOf names the caller the way the audit log does.
func actorOf(p authn.Principal) ingestion.Actor {
	switch p.Kind {
	case authn.KindUser:
		return ingestion.Actor{Kind: "user", ID: p.UserID, Label: p.Email}
	case authn.KindService:
		return ingestion.Actor{Kind: "service", ID: p.Service, Label: p.Service}
	default:
		return ingestion.Actor{Kind: "api_key", ID: p.KeyID, Label: p.PublicKey}
	}
}

// origin returns the client address and user agent of a call (see
// authn.ClientIP), the agent bounded for the audit log.
func origin(ctx context.Context) (clientIP, userAgent string) {
	return authn.ClientIP(ctx), truncate(authn.UserAgent(ctx), maxUserAgent)
}

// truncate cuts s to at most n bytes, dropping a UTF-8 sequence cut in two.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return strings.ToValidUTF8(s[:n], "")
}
