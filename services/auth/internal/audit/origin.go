package audit

import (
	"context"
	"net"
	"net/netip"
	"strings"

	"github.com/google/uuid"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/peer"

	"github.com/agenttrace/agenttrace/pkg/authn"
)

// Caller is the actor of a call and the organization it acts in.
type Caller struct {
	Actor          Actor
	OrganizationID uuid.UUID
}

// ActorFromContext names the authenticated caller of ctx; without one the
// actor is ActorSystem (an operator command such as bootstrap).
func ActorFromContext(ctx context.Context) Caller {
	p, ok := authn.FromContext(ctx)
	if !ok {
		return Caller{Actor: Actor{Kind: ActorSystem}}
	}
	// A malformed organization id leaves it Nil: the caller's own records
	// then belong to no organization rather than failing the action.
	org, _ := uuid.Parse(p.OrganizationID)
	switch p.Kind {
	case authn.KindUser:
		return Caller{Actor: Actor{Kind: ActorUser, ID: p.UserID, Label: p.Email}, OrganizationID: org}
	case authn.KindService:
		return Caller{Actor: Actor{Kind: ActorService, ID: p.Service, Label: p.Service}, OrganizationID: org}
	default:
		return Caller{Actor: Actor{Kind: ActorAPIKey, ID: p.KeyID, Label: p.PublicKey}, OrganizationID: org}
	}
}

// Origin is where a call came from.
type Origin struct {
	ClientIP  string
	UserAgent string
}

// OriginFromContext reads the client address and user agent of a gRPC call.
//
// The address is the first hop of x-forwarded-for, which the gateway sets
// from the HTTP request (appending the address it saw to any list the client
// sent), else the peer's address. The first hop is what the outermost proxy
// was told; it identifies the client when the gateway sits behind trusted
// proxies only, as it does in the chart. Anything that does not parse as an
// IP address is ignored rather than recorded.
func OriginFromContext(ctx context.Context) Origin {
	md, _ := metadata.FromIncomingContext(ctx)
	var o Origin
	if xff := md.Get("x-forwarded-for"); len(xff) > 0 {
		first, _, _ := strings.Cut(xff[0], ",")
		if ip, err := netip.ParseAddr(strings.TrimSpace(first)); err == nil {
			o.ClientIP = ip.Unmap().String()
		}
	}
	if o.ClientIP == "" {
		if p, ok := peer.FromContext(ctx); ok && p.Addr != nil {
			o.ClientIP = peerIP(p.Addr)
		}
	}
	// The gateway moves the HTTP client's User-Agent to
	// grpcgateway-user-agent; user-agent is then its own gRPC client's.
	for _, key := range []string{"grpcgateway-user-agent", "user-agent"} {
		if v := md.Get(key); len(v) > 0 && v[0] != "" {
			o.UserAgent = truncate(v[0], maxUserAgentLen)
			break
		}
	}
	return o
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
