package ingestapi

import (
	"context"
	"net"
	"net/netip"
	"strings"

	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/peer"

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

// origin returns the client address and user agent of a call.
//
// The address is the first hop of x-forwarded-for, which the gateway sets
// from the HTTP request (appending the address it saw to any list the
// client sent); else the peer's address. The first hop identifies the
// client when the gateway sits behind trusted proxies only, as it does in
// the chart; what does not parse as an IP address is not recorded.
func origin(ctx context.Context) (clientIP, userAgent string) {
	md, _ := metadata.FromIncomingContext(ctx)
	if xff := md.Get("x-forwarded-for"); len(xff) > 0 {
		first, _, _ := strings.Cut(xff[0], ",")
		if ip, err := netip.ParseAddr(strings.TrimSpace(first)); err == nil {
			clientIP = ip.Unmap().String()
		}
	}
	if clientIP == "" {
		if p, ok := peer.FromContext(ctx); ok && p.Addr != nil {
			clientIP = peerIP(p.Addr)
		}
	}
	// The gateway moves the HTTP client's User-Agent to
	// grpcgateway-user-agent; user-agent is then its own gRPC client's.
	for _, key := range []string{"grpcgateway-user-agent", "user-agent"} {
		if v := md.Get(key); len(v) > 0 && v[0] != "" {
			userAgent = truncate(v[0], maxUserAgent)
			break
		}
	}
	return clientIP, userAgent
}

func peerIP(a net.Addr) string {
	host, _, err := net.SplitHostPort(a.String())
	if err != nil {
		host = a.String()
	}
	ip, err := netip.ParseAddr(host)
	if err != nil {
		return "" // a unix socket or in-memory listener has no IP
	}
	return ip.Unmap().String()
}

// truncate cuts s to at most n bytes, dropping a UTF-8 sequence cut in two.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return strings.ToValidUTF8(s[:n], "")
}
