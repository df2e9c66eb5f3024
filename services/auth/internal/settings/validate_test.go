package settings

import (
	"errors"
	"strings"
	"testing"

	"github.com/agenttrace/agenttrace/services/auth/internal/tenancy"
)

func TestCleanBaseURL(t *testing.T) {
	tests := []struct {
		in, want string
		wantErr  bool
	}{
		{in: "", want: ""},
		{in: "  https://api.openai.com/v1 ", want: "https://api.openai.com/v1"},
		{in: "http://localhost:11434", want: "http://localhost:11434"},
		{in: "http://[::1]:8080/x", want: "http://[::1]:8080/x"},
		{in: "ftp://example.com", wantErr: true},
		{in: "api.openai.com", wantErr: true},
		{in: "https://", wantErr: true},
		{in: "https://user:pass@example.com", wantErr: true},
		{in: "https://example.com/?key=sk-1", wantErr: true},
		{in: "https://example.com/#frag", wantErr: true},
		{in: "https://exa mple.com\n", wantErr: true},
		{in: "https://example.com/" + strings.Repeat("a", maxBaseURLLen), wantErr: true},
	}
	for _, tt := range tests {
		got, err := cleanBaseURL(tt.in)
		if tt.wantErr {
			var fe *tenancy.FieldError
			if !errors.As(err, &fe) || fe.Field != "base_url" {
				t.Errorf("cleanBaseURL(%q) = %q, %v; want a FieldError on base_url", tt.in, got, err)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("cleanBaseURL(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
		}
	}
}

func TestCleanConnectionFields(t *testing.T) {
	if p, err := cleanProvider(" Azure-OpenAI "); err != nil || p != "azure-openai" {
		t.Fatalf("cleanProvider = %q, %v", p, err)
	}
	for _, bad := range []string{"", "openai2", "OpenAI Inc"} {
		if _, err := cleanProvider(bad); !errors.Is(err, tenancy.ErrInvalidArgument) {
			t.Errorf("cleanProvider(%q) = %v", bad, err)
		}
	}
	for _, bad := range []string{"", "  ", strings.Repeat("n", maxConnectionNameLen+1), "tab\tname", "\xff"} {
		if _, err := cleanConnectionName(bad); !errors.Is(err, tenancy.ErrInvalidArgument) {
			t.Errorf("cleanConnectionName(%q) = %v", bad, err)
		}
	}
	if k, err := cleanAPIKey("  sk-abc \n"); err != nil || k != "sk-abc" {
		t.Fatalf("cleanAPIKey = %q, %v", k, err)
	}
	for _, bad := range []string{"", "sk a", "sk\x00", "\xff", strings.Repeat("k", maxAPIKeyLen+1)} {
		_, err := cleanAPIKey(bad)
		if !errors.Is(err, tenancy.ErrInvalidArgument) {
			t.Errorf("cleanAPIKey(%q) = %v", bad, err)
		}
		if bad != "" && strings.Contains(err.Error(), bad) {
			t.Errorf("cleanAPIKey error quotes the key: %v", err)
		}
	}
	for _, d := range []int32{-1, MaxRetentionDays + 1} {
		if err := checkRetention(d); !errors.Is(err, tenancy.ErrInvalidArgument) {
			t.Errorf("checkRetention(%d) = %v", d, err)
		}
	}
}

func FuzzCleanBaseURL(f *testing.F) {
	for _, s := range []string{"", "https://api.openai.com/v1", "http://u:p@h", "https://[::1", "javascript:alert(1)"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, err := cleanBaseURL(s)
		if err != nil {
			if !errors.Is(err, tenancy.ErrInvalidArgument) {
				t.Fatalf("cleanBaseURL error %v is not InvalidArgument", err)
			}
			return
		}
		if got == "" {
			return
		}
		if !strings.HasPrefix(got, "http://") && !strings.HasPrefix(got, "https://") {
			t.Fatalf("accepted %q as %q", s, got)
		}
		// Cleaning is idempotent.
		if again, err := cleanBaseURL(got); err != nil || again != got {
			t.Fatalf("cleanBaseURL(%q) = %q, %v; want it unchanged", got, again, err)
		}
	})
}
