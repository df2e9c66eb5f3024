package apikey

import (
	"strings"
	"testing"
)

func TestGenerate(t *testing.T) {
	seen := map[string]bool{}
	for range 100 {
		m, err := Generate()
		if err != nil {
			t.Fatal(err)
		}
		if !WellFormedPublic(m.PublicKey) || len(m.PublicKey) != len(PublicPrefix)+26 {
			t.Fatalf("public key %q is malformed", m.PublicKey)
		}
		if !WellFormedSecret(m.Secret) || len(m.Secret) != len(SecretPrefix)+43 {
			t.Fatalf("secret %q is malformed", m.Secret)
		}
		if m.Hash != HashSecret(m.Secret) {
			t.Fatal("hash is not the secret's digest")
		}
		if m.Hint != SecretPrefix+"..."+m.Secret[len(m.Secret)-4:] {
			t.Fatalf("hint %q", m.Hint)
		}
		if seen[m.PublicKey] || seen[m.Secret] {
			t.Fatal("generated a key twice")
		}
		seen[m.PublicKey], seen[m.Secret] = true, true
	}
}

func TestWellFormed(t *testing.T) {
	secret := SecretPrefix + strings.Repeat("A", 42) + "E" // 43 chars, canonical last char
	tests := []struct {
		name   string
		fn     func(string) bool
		in     string
		wantOK bool
	}{
		{"secret", WellFormedSecret, secret, true},
		{"secret with url alphabet", WellFormedSecret, SecretPrefix + strings.Repeat("-_", 21) + "A", true},
		{"secret no prefix", WellFormedSecret, strings.Repeat("A", 43), false},
		{"secret public prefix", WellFormedSecret, PublicPrefix + strings.Repeat("A", 43), false},
		{"secret short", WellFormedSecret, secret[:len(secret)-1], false},
		{"secret long", WellFormedSecret, secret + "A", false},
		{"secret std alphabet", WellFormedSecret, SecretPrefix + strings.Repeat("+/", 21) + "A", false},
		{"secret padded", WellFormedSecret, SecretPrefix + strings.Repeat("A", 42) + "=", false},
		{"secret non-canonical tail", WellFormedSecret, SecretPrefix + strings.Repeat("A", 42) + "B", false},
		{"empty secret", WellFormedSecret, "", false},
		{"public", WellFormedPublic, PublicPrefix + strings.Repeat("a", 26), true},
		{"public upper case", WellFormedPublic, PublicPrefix + strings.Repeat("A", 26), false},
		{"public short", WellFormedPublic, PublicPrefix + strings.Repeat("a", 25), false},
		{"public bad alphabet", WellFormedPublic, PublicPrefix + strings.Repeat("1", 26), false},
		{"public no prefix", WellFormedPublic, strings.Repeat("a", 32), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.fn(tt.in); got != tt.wantOK {
				t.Fatalf("(%q) = %v, want %v", tt.in, got, tt.wantOK)
			}
		})
	}
}

func TestHint(t *testing.T) {
	tests := map[string]string{
		"sk-at-abcdefgh": "sk-at-...efgh",
		"sk-at-ab":       "sk-at-...",
		"":               "sk-at-...",
	}
	for in, want := range tests {
		if got := Hint(in); got != want {
			t.Errorf("Hint(%q) = %q, want %q", in, got, want)
		}
	}
}

// FuzzWellFormed: the shape checks read untrusted input before any lookup.
func FuzzWellFormed(f *testing.F) {
	m, err := Generate()
	if err != nil {
		f.Fatal(err)
	}
	for _, s := range []string{m.Secret, m.PublicKey, "", SecretPrefix, PublicPrefix, "sk-at-\xff", strings.Repeat("sk-at-", 20)} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if WellFormedSecret(s) {
			if !strings.HasPrefix(s, SecretPrefix) || len(s) != len(SecretPrefix)+secretBodyLen {
				t.Fatalf("accepted secret %q", s)
			}
			if !strings.HasPrefix(Hint(s), SecretPrefix+"...") {
				t.Fatalf("hint of %q", s)
			}
		}
		if WellFormedPublic(s) && (!strings.HasPrefix(s, PublicPrefix) || len(s) != len(PublicPrefix)+publicBodyLen) {
			t.Fatalf("accepted public key %q", s)
		}
	})
}
