package ingestapi

import (
	"context"
	"net"
	"strings"
	"testing"

	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/peer"

	"github.com/agenttrace/agenttrace/pkg/authn"
	"github.com/agenttrace/agenttrace/services/ingest/internal/ingestion"
)

func TestActorOf(t *testing.T) {
	tests := []struct {
		p    authn.Principal
		want ingestion.Actor
	}{
		{authn.Principal{Kind: authn.KindAPIKey, KeyID: "k1", PublicKey: "pk-at-x"}, ingestion.Actor{Kind: "api_key", ID: "k1", Label: "pk-at-x"}},
		{authn.Principal{Kind: authn.KindUser, UserID: "u1", Email: "a@example.com"}, ingestion.Actor{Kind: "user", ID: "u1", Label: "a@example.com"}},
		{authn.Principal{Kind: authn.KindService, Service: "worker"}, ingestion.Actor{Kind: "service", ID: "worker", Label: "worker"}},
	}
	for _, tt := range tests {
		if got := actorOf(tt.p); got != tt.want {
			t.Errorf("actorOf(%+v) = %+v, want %+v", tt.p, got, tt.want)
		}
	}
}

func TestOrigin(t *testing.T) {
	tcp := &net.TCPAddr{IP: net.ParseIP("192.0.2.1"), Port: 5000}
	tests := []struct {
		name   string
		md     metadata.MD
		peer   net.Addr
		ip, ua string
	}{
		{"gateway", metadata.Pairs("x-forwarded-for", "203.0.113.7, 10.0.0.1", "grpcgateway-user-agent", "curl/8", "user-agent", "grpc-go"), tcp, "203.0.113.7", "curl/8"},
		{"mapped v6", metadata.Pairs("x-forwarded-for", "::ffff:203.0.113.8"), tcp, "203.0.113.8", ""},
		{"garbage forwarded-for falls back to peer", metadata.Pairs("x-forwarded-for", "<script>", "user-agent", "grpc-go"), tcp, "192.0.2.1", "grpc-go"},
		{"no peer", metadata.MD{}, nil, "", ""},
		{"unix peer", metadata.MD{}, &net.UnixAddr{Name: "/tmp/s", Net: "unix"}, "", ""},
		{"long user agent", metadata.Pairs("user-agent", strings.Repeat("é", 400)), nil, "", strings.Repeat("é", 256)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := metadata.NewIncomingContext(context.Background(), tt.md)
			if tt.peer != nil {
				ctx = peer.NewContext(ctx, &peer.Peer{Addr: tt.peer})
			}
			ip, ua := origin(ctx)
			if ip != tt.ip || ua != tt.ua {
				t.Errorf("origin = %q, %q; want %q, %q", ip, ua, tt.ip, tt.ua)
			}
		})
	}
}
