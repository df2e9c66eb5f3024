package pgstore

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/agenttrace/agenttrace/pkg/config"
)

// TestPasswordOverride: AGENTTRACE_POSTGRES_PASSWORD replaces the URL's
// password byte for byte, in the settings every connection starts from.
func TestPasswordOverride(t *testing.T) {
	const reserved = "a/b+c=d@e:f?g#h%2F"
	tests := []struct {
		name     string
		url      string
		password config.Secret
		want     string
	}{
		{"url without password", "postgres://agenttrace@db:5432/agenttrace?sslmode=disable", reserved, reserved},
		{"replaces the url's password", "postgres://agenttrace:old@db:5432/agenttrace?sslmode=disable", reserved, reserved},
		{"url password when unset", "postgres://agenttrace:p%2Fw@db:5432/agenttrace?sslmode=disable", "", "p/w"},
		{"keyword/value form", "host=db user=agenttrace password=old dbname=agenttrace sslmode=disable", reserved, reserved},
		{"with pool settings in the url", "postgres://agenttrace@db/agenttrace?sslmode=disable&pool_max_conns=3", "pw", "pw"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := Config{URL: config.Secret(tt.url), Password: tt.password, ConnectTimeout: 3 * time.Second}
			pc, err := cfg.poolConfig()
			if err != nil {
				t.Fatal(err)
			}
			cc, err := cfg.connConfig()
			if err != nil {
				t.Fatal(err)
			}
			for what, got := range map[string]string{"pool": pc.ConnConfig.Password, "connection": cc.Password} {
				if got != tt.want {
					t.Errorf("%s password = %q, want %q", what, got, tt.want)
				}
			}
			if cc.Host != "db" || cc.User != "agenttrace" || cc.Database != "agenttrace" || cc.ConnectTimeout != 3*time.Second {
				t.Errorf("connection settings %s@%s/%s timeout %s", cc.User, cc.Host, cc.Database, cc.ConnectTimeout)
			}
			if _, ok := cc.RuntimeParams["pool_max_conns"]; ok {
				t.Error("a pool setting would be sent to the server")
			}
		})
	}
}

// The password never prints with the configuration.
func TestPasswordDoesNotPrint(t *testing.T) {
	cfg := Config{URL: "postgres://agenttrace@db/agenttrace", Password: "a/b+c=d@e:f?g#h"}
	for _, format := range []string{"%v", "%+v", "%#v", "%s"} {
		if out := fmt.Sprintf(format, cfg); strings.Contains(out, "a/b+c") {
			t.Errorf("%s prints the password: %s", format, out)
		}
	}
}
