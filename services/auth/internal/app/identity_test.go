package app

import (
	"bytes"
	"context"
	"encoding/base64"
	"strings"
	"testing"

	"github.com/agenttrace/agenttrace/services/auth/internal/pgtest"
)

// serve refuses to start without a JWT secret (or with a short one), naming
// the setting and never echoing the value.
func TestServeNeedsJWTSecret(t *testing.T) {
	t.Setenv("AGENTTRACE_POSTGRES_URL", pgtest.URL(t).Value())
	t.Setenv("AGENTTRACE_ENCRYPTION_KEY", base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{1}, 32)))
	for _, secret := range []string{"", "too-short-secret"} {
		t.Setenv("AGENTTRACE_JWT_SECRET", secret)
		cfg, err := Program().Load()
		if err != nil {
			t.Fatal(err)
		}
		_, err = newShell(context.Background(), cfg)
		if err == nil || !strings.Contains(err.Error(), "AGENTTRACE_JWT_SECRET") || (secret != "" && strings.Contains(err.Error(), secret)) {
			t.Fatalf("newShell with JWT secret %q = %v", secret, err)
		}
	}
}

func TestIdentityConfigDefaults(t *testing.T) {
	cfg, err := Program().Load()
	if err != nil {
		t.Fatal(err)
	}
	id := cfg.Identity
	if id.AccessTokenTTL.String() != "15m0s" || id.RefreshTokenTTL.String() != "720h0m0s" ||
		id.Login.AccountAttempts != 10 || id.Login.AddressAttempts != 100 || id.Login.Period.String() != "15m0s" {
		t.Fatalf("identity defaults %+v", id)
	}
}
