package authn

import (
	"context"
	"encoding/base64"
	"errors"
	"reflect"
	"strings"
	"testing"
	"unicode"
)

func basic(s string) string { return "Basic " + base64.StdEncoding.EncodeToString([]byte(s)) }

func TestParseAuthorization(t *testing.T) {
	tests := []struct {
		name    string
		header  string
		want    Credentials
		wantErr bool
	}{
		{name: "basic", header: basic("pk-at-abc:sk-at-xyz"), want: Credentials{PublicKey: "pk-at-abc", SecretKey: "sk-at-xyz"}},
		{name: "basic lower-case scheme", header: "basic " + base64.StdEncoding.EncodeToString([]byte("pk:sk")), want: Credentials{PublicKey: "pk", SecretKey: "sk"}},
		{name: "basic secret with colon", header: basic("pk:s:k"), want: Credentials{PublicKey: "pk", SecretKey: "s:k"}},
		{name: "basic surrounding spaces", header: "  " + basic("pk:sk") + "  ", want: Credentials{PublicKey: "pk", SecretKey: "sk"}},
		{name: "basic several spaces after scheme", header: "Basic    " + base64.StdEncoding.EncodeToString([]byte("pk:sk")), want: Credentials{PublicKey: "pk", SecretKey: "sk"}},
		{name: "bearer", header: "Bearer sk-at-xyz", want: Credentials{SecretKey: "sk-at-xyz"}},
		{name: "bearer upper-case scheme", header: "BEARER sk-at-xyz", want: Credentials{SecretKey: "sk-at-xyz"}},
		{name: "empty", header: "", wantErr: true},
		{name: "scheme only", header: "Bearer", wantErr: true},
		{name: "bearer blank token", header: "Bearer    ", wantErr: true},
		{name: "unknown scheme", header: "Digest abc", wantErr: true},
		{name: "token without scheme", header: "sk-at-xyz", wantErr: true},
		{name: "basic not base64", header: "Basic !!!", wantErr: true},
		{name: "basic no colon", header: basic("pk-sk"), wantErr: true},
		{name: "basic empty public", header: basic(":sk"), wantErr: true},
		{name: "basic empty secret", header: basic("pk:"), wantErr: true},
		{name: "basic unpadded base64", header: "Basic " + base64.RawStdEncoding.EncodeToString([]byte("pk:sk1")), want: Credentials{PublicKey: "pk", SecretKey: "sk1"}},
		{name: "basic bad padding", header: "Basic cGs6c2sx=", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseAuthorization(tt.header)
			if tt.wantErr {
				if !errors.Is(err, ErrNoCredentials) {
					t.Fatalf("ParseAuthorization(%q) = %+v, %v; want ErrNoCredentials", tt.header, got, err)
				}
				if got != (Credentials{}) {
					t.Fatalf("ParseAuthorization(%q) returned credentials %+v with an error", tt.header, got)
				}
				return
			}
			if err != nil {
				t.Fatalf("ParseAuthorization(%q): %v", tt.header, err)
			}
			if got != tt.want {
				t.Fatalf("ParseAuthorization(%q) = %+v, want %+v", tt.header, got, tt.want)
			}
		})
	}
}

func FuzzParseAuthorization(f *testing.F) {
	for _, seed := range []string{
		"", "Bearer", "Bearer sk-at-abc", "bearer  x ", basic("pk:sk"), basic(":"), basic("a:b:c"),
		"Basic", "Basic ====", "Basic " + strings.Repeat("A", 1000), "\x00 \x00", "Basic \xff\xfe",
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, h string) {
		c, err := ParseAuthorization(h)
		if err != nil {
			if !errors.Is(err, ErrNoCredentials) {
				t.Fatalf("unexpected error kind: %v", err)
			}
			return
		}
		if c.SecretKey == "" {
			t.Fatalf("accepted %q with an empty secret", h)
		}
		if strings.Contains(c.PublicKey, ":") {
			t.Fatalf("public key %q contains the separator", c.PublicKey)
		}
	})
}

// FuzzBasicRoundTrip checks that any pair the interceptor could be sent is
// read back exactly.
func FuzzBasicRoundTrip(f *testing.F) {
	f.Add("pk-at-abc", "sk-at-xyz")
	f.Add("p", "s:with:colons")
	f.Fuzz(func(t *testing.T, pk, sk string) {
		if pk == "" || sk == "" || strings.Contains(pk, ":") {
			t.Skip("not a valid pair")
		}
		c, err := ParseAuthorization(basic(pk + ":" + sk))
		if err != nil || c.PublicKey != pk || c.SecretKey != sk {
			t.Fatalf("round trip of %q:%q gave %+v, %v", pk, sk, c, err)
		}
		if strings.ContainsFunc(sk, unicode.IsSpace) || strings.TrimSpace(sk) != sk {
			return
		}
		c, err = ParseAuthorization("Bearer " + sk)
		if err != nil || c.SecretKey != sk || c.PublicKey != "" {
			t.Fatalf("bearer round trip of %q gave %+v, %v", sk, c, err)
		}
	})
}

func TestPrincipalContext(t *testing.T) {
	if _, ok := FromContext(context.Background()); ok {
		t.Fatal("empty context has a principal")
	}
	want := Principal{KeyID: "k", PublicKey: "pk", ProjectID: "p", OrganizationID: "o"}
	got, ok := FromContext(WithPrincipal(context.Background(), want))
	if !ok || !reflect.DeepEqual(got, want) {
		t.Fatalf("FromContext = %+v, %v; want %+v", got, ok, want)
	}
}
