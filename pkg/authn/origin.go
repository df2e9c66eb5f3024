package authn

import (
	"context"
	"net"
	"net/netip"
	"strings"

	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/peer"
)

// ClientIP is the address a call came from, for audit records and
// per-address limits: the first hop of x-forwarded-for, which the gateway
// sets from the HTTP request (appending the address it saw to any list the
// client sent), else the gRPC peer's address. The first hop is what the
// outermost proxy was told; it identifies the client when the gateway sits
// behind trusted proxies only, as it does in the chart. What does not parse
// as an IP address is ignored; "" when nothing does.
func ClientIP(ctx context.Context) string {
	md, _ := metadata.FromIncomingContext(ctx)
	if xff := md.Get("x-forwarded-for"); len(xff) > 0 {
		first, _, _ := strings.Cut(xff[0], ",")
		if ip, err := netip.ParseAddr(strings.TrimSpace(first)); err == nil {
			return ip.Unmap().String()
		}
	}
	if p, ok := peer.FromContext(ctx); ok && p.Addr != nil {
		return peerIP(p.Addr)
	}
	return ""
}

// UserAgent is the calling client's user agent, unbounded: the HTTP
// client's when the call came through the gateway (which moves it to
// grpcgateway-user-agent), else the gRPC client's own.
func UserAgent(ctx context.Context) string {
	md, _ := metadata.FromIncomingContext(ctx)
	for _, key := range []string{"grpcgateway-user-agent", "user-agent"} {
		if v := md.Get(key); len(v) > 0 && v[0] != "" {
			return v[0]
		}
	}
	return ""
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
