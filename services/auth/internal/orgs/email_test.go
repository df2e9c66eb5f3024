package orgs

import (
	"errors"
	"strings"
	"testing"

	"github.com/agenttrace/agenttrace/services/auth/internal/identity"
)

func TestCleanEmail(t *testing.T) {
	tests := []struct {
		in, want string
		wantErr  bool
	}{
		{in: "ada@example.com", want: "ada@example.com"},
		{in: "  Ada.Lovelace+x@Example.COM ", want: "ada.lovelace+x@example.com"},
		{in: "root@localhost", want: "root@localhost"},
		{in: "", wantErr: true},
		{in: "   ", wantErr: true},
		{in: "ada", wantErr: true},
		{in: "ada@", wantErr: true},
		{in: "@example.com", wantErr: true},
		{in: "Ada <ada@example.com>", wantErr: true},
		{in: "<ada@example.com>", wantErr: true},
		{in: `"a b"@example.com`, wantErr: true},
		{in: "ada@example.com, bob@example.com", wantErr: true},
		{in: "a\x00@example.com", wantErr: true},
		{in: "\xff@example.com", wantErr: true},
		{in: strings.Repeat("a", 250) + "@x.io", wantErr: true},
	}
	for _, tt := range tests {
		got, err := CleanEmail("email", tt.in)
		if tt.wantErr {
			if !errors.Is(err, ErrInvalidArgument) {
				t.Errorf("CleanEmail(%q) = %q, %v; want invalid argument", tt.in, got, err)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("CleanEmail(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
		}
	}
}

func FuzzCleanEmail(f *testing.F) {
	for _, s := range []string{"ada@example.com", "A <a@b.c>", "", "a@b", "\"x\"@y.z", "a@b.c\n", "ä@ö.de"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		got, err := CleanEmail("email", in)
		if err != nil {
			if !errors.Is(err, ErrInvalidArgument) {
				t.Fatalf("CleanEmail(%q): error %v is not an invalid argument", in, err)
			}
			return
		}
		// What is accepted is stored and compared as it is: normalized,
		// bounded and stable under a second cleaning.
		if got != identity.NormalizeEmail(got) || len(got) > maxEmailLen || !strings.Contains(got, "@") {
			t.Fatalf("CleanEmail(%q) = %q", in, got)
		}
		if again, err := CleanEmail("email", got); err != nil || again != got {
			t.Fatalf("CleanEmail(%q) = %q, %v; not idempotent", got, again, err)
		}
	})
}

func TestWellFormedInvitationToken(t *testing.T) {
	token, _, err := identity.NewInvitationToken()
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		in   string
		want bool
	}{
		{token, true},
		{"inv-at-" + strings.Repeat("A", 43), true},
		{"inv-at-" + strings.Repeat("A", 42), false},
		{"inv-at-" + strings.Repeat("A", 44), false},
		{"rt-at-" + strings.Repeat("A", 44), false},
		{"inv-at-" + strings.Repeat("A", 42) + "=", false},
		{"inv-at-" + strings.Repeat("A", 42) + "/", false},
		{"", false},
	}
	for _, tt := range tests {
		if got := WellFormedInvitationToken(tt.in); got != tt.want {
			t.Errorf("WellFormedInvitationToken(%q) = %v, want %v", tt.in, got, tt.want)
		}
	}
}

func FuzzWellFormedInvitationToken(f *testing.F) {
	f.Add("inv-at-" + strings.Repeat("A", 43))
	f.Add("inv-at-")
	f.Add("")
	f.Fuzz(func(t *testing.T, in string) {
		if WellFormedInvitationToken(in) && (len(in) != invitationTokenLen || !strings.HasPrefix(in, identity.InvitationTokenPrefix)) {
			t.Fatalf("accepted %q", in)
		}
	})
}
