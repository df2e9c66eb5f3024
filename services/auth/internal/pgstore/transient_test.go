package pgstore_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/agenttrace/agenttrace/pkg/config"
	"github.com/agenttrace/agenttrace/services/auth/internal/pgstore"
	"github.com/agenttrace/agenttrace/services/auth/internal/pgtest"
)

func TestTransient(t *testing.T) {
	pg := func(code, msg string) error {
		return fmt.Errorf("connect: %w", &pgconn.PgError{Severity: "FATAL", Code: code, Message: msg})
	}
	tests := []struct {
		name string
		err  error
		want bool
	}{
		{"connection refused", &net.OpError{Op: "dial", Net: "tcp", Err: syscall.ECONNREFUSED}, true},
		{"name not found", &net.DNSError{Name: "agenttrace-postgres", Err: "no such host", IsNotFound: true}, true},
		{"i/o timeout", &net.OpError{Op: "read", Err: &timeoutErr{}}, true},
		{"connect timeout", fmt.Errorf("timeout: %w", context.DeadlineExceeded), true},
		{"starting up", pg("57P03", "the database system is starting up"), true},
		{"shutting down", pg("57P03", "the database system is shutting down"), true},
		{"admin shutdown", pg("57P01", "terminating connection due to administrator command"), true},
		{"too many connections", pg("53300", "sorry, too many clients already"), true},
		{"authentication failed", pg("28P01", `password authentication failed for user "agenttrace"`), false},
		{"no pg_hba entry", pg("28000", "no pg_hba.conf entry"), false},
		{"permission denied", pg("42501", "permission denied to create database"), false},
		{"database missing", pg("3D000", `database "x" does not exist`), false},
		{"refusal after a refused dial", errors.Join(&net.OpError{Op: "dial", Err: syscall.ECONNREFUSED}, pg("28P01", "password authentication failed")), false},
		{"dirty schema", errors.New("Dirty database version 12. Fix and force version."), false},
		{"malformed url", errors.New("parse AGENTTRACE_POSTGRES_URL: malformed connection URL"), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := pgstore.Transient(tt.err); got != tt.want {
				t.Errorf("Transient(%v) = %v, want %v", tt.err, got, tt.want)
			}
		})
	}
}

type timeoutErr struct{}

func (timeoutErr) Error() string   { return "i/o timeout" }
func (timeoutErr) Timeout() bool   { return true }
func (timeoutErr) Temporary() bool { return true }

// The errors pgx really returns are classified like the constructed ones.
func TestTransientRealErrors(t *testing.T) {
	u := pgtest.URL(t)
	cc, err := pgx.ParseConfig(u.Value())
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		url  string
		want bool
	}{
		{"closed port", "postgres://postgres@127.0.0.1:1/x?sslmode=disable", true},
		{"unknown role", fmt.Sprintf("postgres://agenttrace_no_such_role@%s:%d/%s?sslmode=disable", cc.Host, cc.Port, cc.Database), false},
		{"unknown database", fmt.Sprintf("postgres://%s@%s:%d/agenttrace_no_such_db?sslmode=disable", cc.User, cc.Host, cc.Port), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, err := pgstore.NewMigrator(pgstore.Config{URL: config.Secret(tt.url), ConnectTimeout: 5 * time.Second})
			if err == nil {
				m.Close()
				t.Fatal("NewMigrator succeeded")
			}
			if got := pgstore.Transient(err); got != tt.want {
				t.Errorf("Transient(%v) = %v, want %v", err, got, tt.want)
			}
		})
	}
}
