package settingsapi_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"log/slog"
	"strings"
	"sync"
	"testing"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgxpool"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/agenttrace/agenttrace/pkg/authn"
	"github.com/agenttrace/agenttrace/pkg/config"
	authv1 "github.com/agenttrace/agenttrace/pkg/gen/agenttrace/auth/v1"
	"github.com/agenttrace/agenttrace/pkg/secretbox"
	"github.com/agenttrace/agenttrace/services/auth/internal/audit"
	"github.com/agenttrace/agenttrace/services/auth/internal/pgstore"
	"github.com/agenttrace/agenttrace/services/auth/internal/pgtest"
	"github.com/agenttrace/agenttrace/services/auth/internal/settings"
	"github.com/agenttrace/agenttrace/services/auth/internal/settingsapi"
)

// syncBuffer collects log output written from any goroutine.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

type env struct {
	pool *pgxpool.Pool
	box  *secretbox.Box
	svc  *settings.Service
	srv  *settingsapi.Server
	logs *syncBuffer
}

func keyConfig(keys ...[]byte) secretbox.Config {
	var prev []string
	for _, k := range keys[1:] {
		prev = append(prev, base64.StdEncoding.EncodeToString(k))
	}
	return secretbox.Config{
		Key:          config.Secret(base64.StdEncoding.EncodeToString(keys[0])),
		PreviousKeys: config.Secret(strings.Join(prev, ",")),
	}
}

// newEnv serves settings over the package's database with the given keys
// (the first current, the others previous).
func newEnv(t *testing.T, keys ...[]byte) *env {
	t.Helper()
	return newEnvAt(t, pgtest.URL(t), keys...)
}

// freshDatabase is a migrated database of the test's own, for tests that
// look at every row (re-encryption).
func freshDatabase(t *testing.T) config.Secret {
	t.Helper()
	u := pgtest.FreshURL(t)
	ctx := context.Background()
	if _, err := pgstore.EnsureDatabase(ctx, pgstore.Config{URL: u}); err != nil {
		t.Fatal(err)
	}
	m, err := pgstore.NewMigrator(pgstore.Config{URL: u})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	if err := m.Up(ctx); err != nil {
		t.Fatal(err)
	}
	return u
}

func newEnvAt(t *testing.T, u config.Secret, keys ...[]byte) *env {
	t.Helper()
	pool := pgtest.Pool(t, u)
	if len(keys) == 0 {
		keys = [][]byte{bytes.Repeat([]byte{42}, secretbox.KeySize)}
	}
	box, err := secretbox.New(keyConfig(keys...))
	if err != nil {
		t.Fatal(err)
	}
	svc := settings.NewService(settings.Config{
		Store: pgstore.NewSettingsStore(pool),
		Box:   box,
		Audit: audit.NewRecorder(audit.Config{Store: pgstore.NewAuditStore(pool)}),
	})
	logs := &syncBuffer{}
	log := slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	return &env{pool: pool, box: box, svc: svc, srv: settingsapi.New(svc, log), logs: logs}
}

// tenant is an organization with one project and an admin acting in it.
type tenant struct {
	org, project uuid.UUID
}

func (e *env) newTenant(t *testing.T) tenant {
	t.Helper()
	ctx := context.Background()
	tn := tenant{org: uuid.New(), project: uuid.New()}
	if _, err := e.pool.Exec(ctx, `INSERT INTO organizations (id, name) VALUES ($1, $2)`, tn.org, "org-"+tn.org.String()); err != nil {
		t.Fatal(err)
	}
	if _, err := e.pool.Exec(ctx, `INSERT INTO projects (id, organization_id, name) VALUES ($1, $2, 'p')`, tn.project, tn.org); err != nil {
		t.Fatal(err)
	}
	return tn
}

// ctx acts as an admin key of the tenant's project.
func (tn tenant) ctx() context.Context {
	return authn.WithPrincipal(context.Background(), authn.Principal{
		Kind:           authn.KindAPIKey,
		KeyID:          uuid.NewString(),
		PublicKey:      "pk-at-test",
		Scopes:         []authv1.APIKeyScope{authv1.APIKeyScope_API_KEY_SCOPE_ADMIN},
		OrganizationID: tn.org.String(),
		ProjectID:      tn.project.String(),
	})
}

// userCtx acts as an owner of the tenant's organization, naming no project.
func (tn tenant) userCtx() context.Context {
	return authn.WithPrincipal(context.Background(), authn.Principal{
		Kind:           authn.KindUser,
		UserID:         uuid.NewString(),
		Email:          "owner@example.com",
		Role:           authv1.Role_ROLE_OWNER,
		OrganizationID: tn.org.String(),
	})
}

func serviceCtx(name string) context.Context {
	return authn.WithPrincipal(context.Background(), authn.Principal{Kind: authn.KindService, Service: name})
}

func wantCode(t *testing.T, err error, want codes.Code) {
	t.Helper()
	if got := status.Code(err); got != want {
		t.Fatalf("code = %v (%v), want %v", got, err, want)
	}
}

// auditRows counts the audit events of an organization with an action.
func (e *env) auditRows(t *testing.T, org uuid.UUID, action string) int {
	t.Helper()
	var n int
	if err := e.pool.QueryRow(context.Background(),
		`SELECT count(*) FROM audit_events WHERE organization_id = $1 AND action = $2`, org, action).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}
