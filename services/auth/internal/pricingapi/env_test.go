package pricingapi_test

import (
	"context"
	"testing"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgxpool"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/agenttrace/agenttrace/pkg/authn"
	authv1 "github.com/agenttrace/agenttrace/pkg/gen/agenttrace/auth/v1"
	"github.com/agenttrace/agenttrace/services/auth/internal/audit"
	"github.com/agenttrace/agenttrace/services/auth/internal/pgstore"
	"github.com/agenttrace/agenttrace/services/auth/internal/pgtest"
	"github.com/agenttrace/agenttrace/services/auth/internal/pricing"
	"github.com/agenttrace/agenttrace/services/auth/internal/pricingapi"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

type env struct {
	pool *pgxpool.Pool
	srv  *pricingapi.Server
}

func newEnv(t *testing.T) *env {
	t.Helper()
	pool := pgtest.Pool(t, pgtest.URL(t))
	svc := pricing.NewService(pricing.Config{
		Store: pgstore.NewPriceStore(pool),
		Audit: audit.NewRecorder(audit.Config{Store: pgstore.NewAuditStore(pool)}),
	})
	return &env{pool: pool, srv: pricingapi.New(svc, nil)}
}

// tenant is an organization with two projects.
type tenant struct {
	org, project, other uuid.UUID
}

func (e *env) newTenant(t *testing.T) tenant {
	t.Helper()
	ctx := context.Background()
	tn := tenant{org: uuid.New(), project: uuid.New(), other: uuid.New()}
	if _, err := e.pool.Exec(ctx, `INSERT INTO organizations (id, name) VALUES ($1, $2)`, tn.org, "org-"+tn.org.String()); err != nil {
		t.Fatal(err)
	}
	for _, p := range []uuid.UUID{tn.project, tn.other} {
		if _, err := e.pool.Exec(ctx, `INSERT INTO projects (id, organization_id, name) VALUES ($1, $2, $3)`, p, tn.org, "p-"+p.String()); err != nil {
			t.Fatal(err)
		}
	}
	return tn
}

// keyCtx acts as an admin API key of the tenant's first project.
func (tn tenant) keyCtx() context.Context {
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

func serviceCtx() context.Context {
	return authn.WithPrincipal(context.Background(), authn.Principal{Kind: authn.KindService, Service: "worker"})
}

func wantCode(t *testing.T, err error, want codes.Code) {
	t.Helper()
	if got := status.Code(err); got != want {
		t.Fatalf("code = %v (%v), want %v", got, err, want)
	}
}

// auditRows counts the audit events of a price with an action.
func (e *env) auditRows(t *testing.T, priceID, action string) int {
	t.Helper()
	var n int
	if err := e.pool.QueryRow(context.Background(),
		`SELECT count(*) FROM audit_events WHERE target_kind = 'model_price' AND target_id = $1 AND action = $2`,
		priceID, action).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// withPrincipalProject returns ctx's principal naming project.
func withPrincipalProject(ctx context.Context, project uuid.UUID) context.Context {
	p, _ := authn.FromContext(ctx)
	p.ProjectID = project.String()
	return authn.WithPrincipal(context.Background(), p)
}
