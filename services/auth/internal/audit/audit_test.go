package audit

import (
	"context"
	"errors"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/peer"

	"github.com/agenttrace/agenttrace/pkg/authn"
)

func validEvent() Event {
	return Event{
		Actor:      Actor{Kind: ActorUser, ID: "u1", Label: "a@example.com"},
		Action:     ActionAPIKeyCreate,
		TargetKind: "api_key",
		TargetID:   "k1",
		Details:    map[string]string{"note": "ci\nkey", "public_key": "pk-at-x"},
		ClientIP:   "10.0.0.1",
		UserAgent:  "curl/8",
	}
}

func TestValidate(t *testing.T) {
	tests := []struct {
		name   string
		change func(*Event)
		field  string
	}{
		{"valid", func(*Event) {}, ""},
		{"no target", func(e *Event) { e.TargetKind, e.TargetID = "", "" }, ""},
		{"empty action", func(e *Event) { e.Action = "" }, "action"},
		{"undotted action", func(e *Event) { e.Action = "delete" }, "action"},
		{"upper-case action", func(e *Event) { e.Action = "API_KEY.create" }, "action"},
		{"long action", func(e *Event) { e.Action = "a." + strings.Repeat("b", maxNameLen) }, "action"},
		{"bad target kind", func(e *Event) { e.TargetKind = "Api Key" }, "target_kind"},
		{"bad actor kind", func(e *Event) { e.Actor.Kind = "robot" }, "actor_kind"},
		{"long target id", func(e *Event) { e.TargetID = strings.Repeat("x", maxTargetIDLen+1) }, "target_id"},
		{"control in label", func(e *Event) { e.Actor.Label = "a\nb" }, "actor_label"},
		{"bad utf8 agent", func(e *Event) { e.UserAgent = "\xff" }, "user_agent"},
		{"secret detail key", func(e *Event) { e.Details = map[string]string{"api_key": "sk-x"} }, "details"},
		{"password detail key", func(e *Event) { e.Details = map[string]string{"password": "x"} }, "details"},
		{"long detail", func(e *Event) { e.Details = map[string]string{"note": strings.Repeat("n", maxDetailLen+1)} }, "details.note"},
		{"nul in detail", func(e *Event) { e.Details = map[string]string{"note": "a\x00"} }, "details.note"},
		{"too many details", func(e *Event) {
			e.Details = map[string]string{}
			for k := range AllowedDetails {
				e.Details[k] = "v"
			}
			for i := len(e.Details); i <= maxDetails; i++ {
				e.Details[strings.Repeat("z", i)] = "v"
			}
		}, "details"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := validEvent()
			tt.change(&e)
			err := Validate(e)
			if tt.field == "" {
				if err != nil {
					t.Fatalf("Validate = %v, want nil", err)
				}
				return
			}
			var fe *FieldError
			if !errors.As(err, &fe) || fe.Field != tt.field || !errors.Is(err, ErrInvalidArgument) {
				t.Fatalf("Validate = %v, want a FieldError on %s", err, tt.field)
			}
		})
	}
}

func TestActorFromContext(t *testing.T) {
	org := uuid.New()
	tests := []struct {
		name string
		p    *authn.Principal
		want Caller
	}{
		{"none", nil, Caller{Actor: Actor{Kind: ActorSystem}}},
		{"user", &authn.Principal{Kind: authn.KindUser, UserID: "u", Email: "e@x", OrganizationID: org.String()},
			Caller{Actor: Actor{Kind: ActorUser, ID: "u", Label: "e@x"}, OrganizationID: org}},
		{"key", &authn.Principal{Kind: authn.KindAPIKey, KeyID: "k", PublicKey: "pk-at-1", OrganizationID: org.String()},
			Caller{Actor: Actor{Kind: ActorAPIKey, ID: "k", Label: "pk-at-1"}, OrganizationID: org}},
		{"service", &authn.Principal{Kind: authn.KindService, Service: "worker"},
			Caller{Actor: Actor{Kind: ActorService, ID: "worker", Label: "worker"}}},
		{"malformed org", &authn.Principal{Kind: authn.KindUser, UserID: "u", OrganizationID: "nope"},
			Caller{Actor: Actor{Kind: ActorUser, ID: "u"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := context.Background()
			if tt.p != nil {
				ctx = authn.WithPrincipal(ctx, *tt.p)
			}
			if got := ActorFromContext(ctx); got != tt.want {
				t.Fatalf("ActorFromContext = %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestOriginFromContext(t *testing.T) {
	tcp := &net.TCPAddr{IP: net.ParseIP("192.0.2.7"), Port: 5000}
	tests := []struct {
		name string
		md   metadata.MD
		peer net.Addr
		want Origin
	}{
		{"peer only", nil, tcp, Origin{ClientIP: "192.0.2.7"}},
		{"forwarded first hop", metadata.Pairs("x-forwarded-for", "203.0.113.5, 10.0.0.1"), tcp, Origin{ClientIP: "203.0.113.5"}},
		{"forwarded ipv6", metadata.Pairs("x-forwarded-for", "2001:db8::1"), tcp, Origin{ClientIP: "2001:db8::1"}},
		{"forwarded mapped v4", metadata.Pairs("x-forwarded-for", "::ffff:198.51.100.1"), nil, Origin{ClientIP: "198.51.100.1"}},
		{"forwarded garbage", metadata.Pairs("x-forwarded-for", "<script>, 10.0.0.1"), tcp, Origin{ClientIP: "192.0.2.7"}},
		{"unix peer", nil, &net.UnixAddr{Name: "/tmp/s", Net: "unix"}, Origin{}},
		{"gateway agent first", metadata.Pairs("grpcgateway-user-agent", "Mozilla/5.0", "user-agent", "grpc-go/1"), nil, Origin{UserAgent: "Mozilla/5.0"}},
		{"grpc agent", metadata.Pairs("user-agent", "grpc-go/1"), nil, Origin{UserAgent: "grpc-go/1"}},
		{"agent cleaned", metadata.Pairs("user-agent", "bad\x01agent"), nil, Origin{UserAgent: "badagent"}},
		{"long agent", metadata.Pairs("user-agent", strings.Repeat("a", 2000)), nil, Origin{UserAgent: strings.Repeat("a", maxUserAgentLen)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := metadata.NewIncomingContext(context.Background(), tt.md)
			if tt.peer != nil {
				ctx = peer.NewContext(ctx, &peer.Peer{Addr: tt.peer})
			}
			if got := OriginFromContext(ctx); got != tt.want {
				t.Fatalf("OriginFromContext = %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestPageToken(t *testing.T) {
	c := Cursor{CreatedAt: time.Date(2030, 1, 2, 3, 4, 5, 6000, time.UTC), ID: uuid.New()}
	got, err := DecodePageToken(EncodePageToken(c))
	if err != nil || !got.CreatedAt.Equal(c.CreatedAt) || got.ID != c.ID {
		t.Fatalf("round trip = %+v, %v; want %+v", got, err, c)
	}
	for _, bad := range []string{"", "!!", "AQ", EncodePageToken(c) + "A", "Ag" + EncodePageToken(c)[2:]} {
		if _, err := DecodePageToken(bad); !errors.Is(err, ErrInvalidArgument) {
			t.Errorf("DecodePageToken(%q) = %v, want ErrInvalidArgument", bad, err)
		}
	}
}

func FuzzDecodePageToken(f *testing.F) {
	f.Add(EncodePageToken(Cursor{CreatedAt: time.Unix(1, 0), ID: uuid.New()}))
	f.Add("")
	f.Add("AAAA")
	f.Fuzz(func(t *testing.T, s string) {
		c, err := DecodePageToken(s)
		if err != nil {
			return
		}
		// Whatever decodes re-encodes to a token that decodes the same.
		again, err := DecodePageToken(EncodePageToken(c))
		if err != nil || !again.CreatedAt.Equal(c.CreatedAt) || again.ID != c.ID {
			t.Fatalf("re-encoding %q: %+v, %v", s, again, err)
		}
	})
}

func FuzzValidate(f *testing.F) {
	f.Add("api_key.create", "api_key", "note", "ci key", "curl/8")
	f.Add("", "", "api_key", "sk-x", "")
	f.Add("a.b", "Bad Kind", "note", "\x00", "\xff")
	f.Fuzz(func(t *testing.T, action, targetKind, detailKey, detailValue, agent string) {
		e := validEvent()
		e.Action, e.TargetKind, e.UserAgent = action, targetKind, agent
		e.Details = map[string]string{detailKey: detailValue}
		if err := Validate(e); err != nil {
			if !errors.Is(err, ErrInvalidArgument) {
				t.Fatalf("Validate error %v is not ErrInvalidArgument", err)
			}
			return
		}
		if !AllowedDetails[detailKey] {
			t.Fatalf("detail key %q accepted", detailKey)
		}
	})
}
