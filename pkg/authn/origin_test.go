package authn

import (
	"context"
	"net"
	"testing"

	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/peer"
)

func TestClientIPAndUserAgent(t *testing.T) {
	tcp := &net.TCPAddr{IP: net.ParseIP("192.0.2.7"), Port: 5000}
	tests := []struct {
		name   string
		md     metadata.MD
		peer   net.Addr
		ip, ua string
	}{
		{"peer only", nil, tcp, "192.0.2.7", ""},
		{"forwarded first hop", metadata.Pairs("x-forwarded-for", "203.0.113.5, 10.0.0.1"), tcp, "203.0.113.5", ""},
		{"forwarded ipv6", metadata.Pairs("x-forwarded-for", "2001:db8::1"), tcp, "2001:db8::1", ""},
		{"forwarded mapped v4", metadata.Pairs("x-forwarded-for", "::ffff:198.51.100.1"), nil, "198.51.100.1", ""},
		{"forwarded garbage falls back to the peer", metadata.Pairs("x-forwarded-for", "<script>, 10.0.0.1"), tcp, "192.0.2.7", ""},
		{"no peer", nil, nil, "", ""},
		{"unix peer", nil, &net.UnixAddr{Name: "/tmp/s", Net: "unix"}, "", ""},
		{"gateway agent first", metadata.Pairs("grpcgateway-user-agent", "Mozilla/5.0", "user-agent", "grpc-go/1"), nil, "", "Mozilla/5.0"},
		{"grpc agent", metadata.Pairs("user-agent", "grpc-go/1"), nil, "", "grpc-go/1"},
		{"empty gateway agent skipped", metadata.Pairs("grpcgateway-user-agent", "", "user-agent", "grpc-go/1"), nil, "", "grpc-go/1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := metadata.NewIncomingContext(context.Background(), tt.md)
			if tt.peer != nil {
				ctx = peer.NewContext(ctx, &peer.Peer{Addr: tt.peer})
			}
			if got := ClientIP(ctx); got != tt.ip {
				t.Errorf("ClientIP = %q, want %q", got, tt.ip)
			}
			if got := UserAgent(ctx); got != tt.ua {
				t.Errorf("UserAgent = %q, want %q", got, tt.ua)
			}
		})
	}
}
