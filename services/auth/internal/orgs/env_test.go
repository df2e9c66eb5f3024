package orgs_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/agenttrace/agenttrace/pkg/authn"
	authv1 "github.com/agenttrace/agenttrace/pkg/gen/agenttrace/auth/v1"
	"github.com/agenttrace/agenttrace/services/auth/internal/audit"
	"github.com/agenttrace/agenttrace/services/auth/internal/identity"
	"github.com/agenttrace/agenttrace/services/auth/internal/orgs"
	"github.com/agenttrace/agenttrace/services/auth/internal/pgstore"
	"github.com/agenttrace/agenttrace/services/auth/internal/pgtest"
	"github.com/agenttrace/agenttrace/services/auth/internal/tenancy"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

const (
	owner  = authv1.Role_ROLE_OWNER
	admin  = authv1.Role_ROLE_ADMIN
	member = authv1.Role_ROLE_MEMBER
	viewer = authv1.Role_ROLE_VIEWER
	none   = authv1.Role_ROLE_UNSPECIFIED
)

// invalidations records the users announced; fail makes announcing fail.
type invalidations struct {
	mu    sync.Mutex
	users []uuid.UUID
	fail  error
}

func (i *invalidations) InvalidateUser(_ context.Context, id uuid.UUID) error {
	i.mu.Lock()
	defer i.mu.Unlock()
	if i.fail != nil {
		return i.fail
	}
	i.users = append(i.users, id)
	return nil
}

func (i *invalidations) take() []uuid.UUID {
	i.mu.Lock()
	defer i.mu.Unlock()
	out := i.users
	i.users = nil
	return out
}

// clock is a settable time source.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

type env struct {
	svc   *orgs.Service
	pool  *pgxpool.Pool
	store *pgstore.Store
	inval *invalidations
	clock *clock
}

const ttl = 48 * time.Hour

func newEnv(t *testing.T) *env {
	t.Helper()
	pool := pgtest.Pool(t, pgtest.URL(t))
	e := &env{
		pool:  pool,
		store: pgstore.New(pool),
		inval: &invalidations{},
		clock: &clock{now: time.Now().UTC().Truncate(time.Microsecond)},
	}
	rec := audit.NewRecorder(audit.Config{Store: pgstore.NewAuditStore(pool)})
	e.svc = orgs.NewService(orgs.Config{
		Store:         pgstore.NewOrgStore(pool, rec),
		Invalidator:   e.inval,
		InvitationTTL: ttl,
		Now:           e.clock.Now,
	})
	return e
}

// user is a signed-up user and its principal.
type user struct {
	id    uuid.UUID
	email string
}

func (e *env) newUser(t *testing.T) user {
	t.Helper()
	id := uuid.New()
	u, err := e.store.CreateUser(context.Background(), identity.User{
		ID: id, Email: "u-" + id.String()[:13] + "@example.com", Name: "User " + id.String()[:8],
		PasswordHash: "$argon2id$v=19$m=65536,t=1,p=1$c2FsdA$aGFzaA",
	})
	if err != nil {
		t.Fatal(err)
	}
	return user{id: u.ID, email: u.Email}
}

// caller is u acting with org as its default organization.
func (u user) caller(org uuid.UUID) orgs.Caller {
	return orgs.Caller{Kind: authn.KindUser, UserID: u.id, Email: u.email, OrganizationID: org}
}

// ctx carries u's principal, as the interceptor would, so that audit
// records name u as the actor.
func (u user) ctx(org uuid.UUID) context.Context {
	return authn.WithPrincipal(context.Background(), authn.Principal{
		Kind: authn.KindUser, UserID: u.id.String(), Email: u.email, OrganizationID: org.String(),
	})
}

// tenant is an organization with an owner and one project.
type tenant struct {
	org     tenancy.Organization
	owner   user
	project tenancy.Project
}

func (e *env) newTenant(t *testing.T) tenant {
	t.Helper()
	o := e.newUser(t)
	org, err := e.svc.CreateOrganization(o.ctx(uuid.Nil), o.caller(uuid.Nil), "org "+uuid.NewString())
	if err != nil {
		t.Fatal(err)
	}
	p, err := e.store.CreateProject(context.Background(), tenancy.Project{ID: uuid.New(), OrganizationID: org.ID, Name: "web"})
	if err != nil {
		t.Fatal(err)
	}
	return tenant{org: org, owner: o, project: p}
}

// addMember makes a new user a member of tn with role.
func (e *env) addMember(t *testing.T, tn tenant, role authv1.Role) user {
	t.Helper()
	u := e.newUser(t)
	if _, err := e.store.CreateMembership(context.Background(), identity.Membership{OrganizationID: tn.org.ID, UserID: u.id, Role: role}); err != nil {
		t.Fatal(err)
	}
	return u
}

func (e *env) role(t *testing.T, org, userID uuid.UUID) authv1.Role {
	t.Helper()
	m, err := e.store.GetMembership(context.Background(), org, userID)
	if errors.Is(err, tenancy.ErrNotFound) {
		return none
	}
	if err != nil {
		t.Fatal(err)
	}
	return m.Role
}

// auditRow is what the tests check of a recorded event.
type auditRow struct {
	action, actorID, targetID string
	details                   map[string]string
}

// audits lists the organization's audit events, oldest first.
func (e *env) audits(t *testing.T, org uuid.UUID) []auditRow {
	t.Helper()
	rows, err := e.pool.Query(context.Background(),
		`SELECT action, actor_id, target_id, details FROM audit_events WHERE organization_id = $1 ORDER BY created_at, id`, org)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []auditRow
	for rows.Next() {
		var r auditRow
		if err := rows.Scan(&r.action, &r.actorID, &r.targetID, &r.details); err != nil {
			t.Fatal(err)
		}
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// lastAudit is the organization's newest audit event.
func (e *env) lastAudit(t *testing.T, org uuid.UUID) auditRow {
	t.Helper()
	rows := e.audits(t, org)
	if len(rows) == 0 {
		t.Fatal("no audit events")
	}
	return rows[len(rows)-1]
}

func wantErr(t *testing.T, err, want error) {
	t.Helper()
	if want == nil && err != nil || want != nil && !errors.Is(err, want) {
		t.Fatalf("err = %v, want %v", err, want)
	}
}
