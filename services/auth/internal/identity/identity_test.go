package identity

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/agenttrace/agenttrace/pkg/config"
	authv1 "github.com/agenttrace/agenttrace/pkg/gen/agenttrace/auth/v1"
	"github.com/agenttrace/agenttrace/pkg/jwtkeys"
	"github.com/agenttrace/agenttrace/services/auth/internal/password"
	"github.com/agenttrace/agenttrace/services/auth/internal/tenancy"
)

func TestCheckInvitation(t *testing.T) {
	now := time.Now()
	past := now.Add(-time.Minute)
	open := Invitation{Email: "a@example.com", ExpiresAt: now.Add(time.Hour)}
	with := func(f func(*Invitation)) Invitation { i := open; f(&i); return i }
	cases := []struct {
		name  string
		inv   Invitation
		email string
		want  error
	}{
		{"usable", open, "A@Example.com ", nil},
		{"revoked", with(func(i *Invitation) { i.RevokedAt = &past }), "a@example.com", ErrInvitationRevoked},
		{"accepted", with(func(i *Invitation) { i.AcceptedAt = &past }), "a@example.com", ErrInvitationUsed},
		{"expired", with(func(i *Invitation) { i.ExpiresAt = now }), "a@example.com", ErrInvitationExpired},
		{"other email", open, "b@example.com", ErrInvitationForOther},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := CheckInvitation(tc.inv, tc.email, now)
			if !errors.Is(err, tc.want) || (tc.want != nil && !errors.Is(err, ErrInvitationInvalid)) {
				t.Fatalf("CheckInvitation = %v, want %v", err, tc.want)
			}
		})
	}
}

func TestRoles(t *testing.T) {
	for _, r := range []authv1.Role{authv1.Role_ROLE_OWNER, authv1.Role_ROLE_ADMIN, authv1.Role_ROLE_MEMBER, authv1.Role_ROLE_VIEWER} {
		if got, ok := ParseRole(RoleName(r)); !ok || got != r {
			t.Errorf("round trip of %v = %v, %v", r, got, ok)
		}
	}
	for _, name := range []string{"", "UNSPECIFIED", "owner", "ROLE_OWNER", "ROOT"} {
		if _, ok := ParseRole(name); ok {
			t.Errorf("ParseRole(%q) accepted", name)
		}
	}
}

func TestTokens(t *testing.T) {
	inv, invHash, err := NewInvitationToken()
	if err != nil {
		t.Fatal(err)
	}
	rt, rtHash, err := newRefreshToken()
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(inv, "inv-at-") || len(inv) != 7+43 || !strings.HasPrefix(rt, "rt-at-") || len(rt) != 6+43 {
		t.Fatalf("tokens %q %q", inv, rt)
	}
	if invHash != HashToken(inv) || rtHash != HashToken(rt) || invHash == rtHash {
		t.Fatal("hashes do not match their tokens")
	}
	again, _, _ := NewInvitationToken()
	if again == inv {
		t.Fatal("tokens repeat")
	}
}

func TestNewServiceChecksConfig(t *testing.T) {
	hasher, err := password.New(password.WithTestParams())
	if err != nil {
		t.Fatal(err)
	}
	ring, err := jwtkeys.NewRing(jwtkeys.Config{Secret: config.Secret(strings.Repeat("k", 32))})
	if err != nil {
		t.Fatal(err)
	}
	var store Store // the checks never call it
	good := Config{Store: struct{ Store }{store}, Hasher: hasher, Keys: ring, AccessTTL: time.Minute, RefreshTTL: time.Hour}
	if _, err := NewService(good); err != nil {
		t.Fatalf("valid config refused: %v", err)
	}
	for name, mutate := range map[string]func(*Config){
		"no store":      func(c *Config) { c.Store = nil },
		"no hasher":     func(c *Config) { c.Hasher = nil },
		"no keys":       func(c *Config) { c.Keys = nil },
		"no access ttl": func(c *Config) { c.AccessTTL = 0 },
		"negative ttl":  func(c *Config) { c.RefreshTTL = -time.Second },
	} {
		cfg := good
		mutate(&cfg)
		if _, err := NewService(cfg); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

func TestCleanEmail(t *testing.T) {
	cases := []struct {
		in, want string
		ok       bool
	}{
		{"a@example.com", "a@example.com", true},
		{"  Mixed.Case+tag@Example.COM ", "mixed.case+tag@example.com", true},
		{"", "", false},
		{"a", "", false},
		{"a@b", "", false},
		{"A <a@example.com>", "", false},
		{"a@example.com, b@example.com", "", false},
		{"(comment)a@example.com", "", false},
		{strings.Repeat("a", 243) + "@example.com", "", false},
	}
	for _, tc := range cases {
		got, err := cleanEmail(tc.in)
		if (err == nil) != tc.ok || got != tc.want {
			t.Errorf("cleanEmail(%q) = %q, %v", tc.in, got, err)
		}
		var fe *tenancy.FieldError
		if err != nil && (!errors.As(err, &fe) || fe.Field != "email") {
			t.Errorf("cleanEmail(%q) error %v is not a field error on email", tc.in, err)
		}
	}
}

func FuzzCleanEmail(f *testing.F) {
	for _, s := range []string{"a@example.com", "A <a@b.c>", "\"q\"@example.com", "a@[127.0.0.1]", "@", "a@b.c\x00", "ä@ö.de"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, err := cleanEmail(s)
		if err != nil {
			var fe *tenancy.FieldError
			if !errors.As(err, &fe) {
				t.Fatalf("error %v is not a FieldError", err)
			}
			return
		}
		// An accepted address is normalized, bounded, and stable.
		if got != NormalizeEmail(got) || len(got) > maxEmailLen || !strings.Contains(got, "@") {
			t.Fatalf("cleanEmail(%q) = %q", s, got)
		}
		if again, err := cleanEmail(got); err != nil || again != got {
			t.Fatalf("not idempotent: %q -> %q, %v", got, again, err)
		}
	})
}

func FuzzCleanName(f *testing.F) {
	for _, s := range []string{"Acme", " ", "a\x00b", strings.Repeat("é", 201), "\xff"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, err := cleanName("name", s)
		if err != nil {
			return
		}
		if got == "" || got != strings.TrimSpace(got) || len([]rune(got)) > maxNameLen {
			t.Fatalf("cleanName(%q) = %q", s, got)
		}
	})
}
