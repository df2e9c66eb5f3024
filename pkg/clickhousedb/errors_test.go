package clickhousedb

import (
	"context"
	"errors"
	"fmt"
	"net"
	"syscall"
	"testing"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"

	"github.com/agenttrace/agenttrace/pkg/config"
)

func TestTransient(t *testing.T) {
	ex := func(code int32) error {
		return fmt.Errorf("ping clickhouse: %w", &clickhouse.Exception{Code: code, Message: "m"})
	}
	tests := []struct {
		name string
		err  error
		want bool
	}{
		{"connection refused", &net.OpError{Op: "dial", Net: "tcp", Err: syscall.ECONNREFUSED}, true},
		{"name not found", &net.DNSError{Name: "clickhouse", IsNotFound: true}, true},
		{"acquire timeout", fmt.Errorf("x: %w", clickhouse.ErrAcquireConnTimeout), true},
		{"network error", ex(codeNetworkError), true},
		{"socket timeout", ex(codeSocketTimeout), true},
		{"too many queries", ex(codeTooManySimultaneousQueries), true},
		{"authentication failed", ex(516), false},
		{"wrong password (18.16)", ex(193), false},
		{"unknown user (18.16)", ex(192), false},
		{"access denied", ex(497), false},
		{"syntax error", ex(62), false},
		{"unknown database", ex(CodeUnknownDatabase), false},
		{"other", errors.New("boom"), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Transient(tt.err); got != tt.want {
				t.Errorf("Transient(%v) = %v, want %v", tt.err, got, tt.want)
			}
		})
	}
}

// The errors a real server and a closed port give are classified like the
// constructed ones above.
func TestTransientRealErrors(t *testing.T) {
	if testing.Short() {
		t.Skip("needs ClickHouse")
	}
	base := Config{Addr: "127.0.0.1:9000", Database: "default", User: "default", DialTimeout: time.Second, QueryTimeout: 5 * time.Second, MaxOpenConns: 1}
	closed := base
	closed.Addr = "127.0.0.1:1"
	badLogin := base
	badLogin.User, badLogin.Password = "agenttrace_no_such_user", config.Secret("wrong")
	tests := []struct {
		name string
		cfg  Config
		want bool
	}{
		{"closed port", closed, true},
		{"unknown user or wrong password", badLogin, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Open(context.Background(), tt.cfg, "")
			if err == nil {
				t.Fatal("Open succeeded")
			}
			if got := Transient(err); got != tt.want {
				t.Errorf("Transient(%v) = %v, want %v", err, got, tt.want)
			}
		})
	}
}
