package pgstore_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/agenttrace/agenttrace/services/auth/internal/apikey"
	"github.com/agenttrace/agenttrace/services/auth/internal/pgstore"
	"github.com/agenttrace/agenttrace/services/auth/internal/pgtest"
	"github.com/agenttrace/agenttrace/services/auth/internal/tenancy"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

func newStore(t *testing.T) *pgstore.Store {
	t.Helper()
	return pgstore.New(pgtest.Pool(t, pgtest.URL(t)))
}

func newID(t *testing.T) uuid.UUID {
	t.Helper()
	id, err := uuid.NewV7()
	if err != nil {
		t.Fatal(err)
	}
	return id
}

// fixture is an organization with one project, named uniquely per test.
type fixture struct {
	org     tenancy.Organization
	project tenancy.Project
}

func newFixture(t *testing.T, s *pgstore.Store) fixture {
	t.Helper()
	ctx := context.Background()
	org, err := s.EnsureOrganization(ctx, tenancy.Organization{ID: newID(t), Name: "org-" + newID(t).String()})
	if err != nil {
		t.Fatal(err)
	}
	p, err := s.CreateProject(ctx, tenancy.Project{ID: newID(t), OrganizationID: org.ID, Name: "default"})
	if err != nil {
		t.Fatal(err)
	}
	return fixture{org: org, project: p}
}

func newKey(t *testing.T, s *pgstore.Store, p tenancy.Project) (tenancy.APIKey, apikey.Material) {
	t.Helper()
	m, err := apikey.Generate()
	if err != nil {
		t.Fatal(err)
	}
	k, err := s.CreateAPIKey(context.Background(), tenancy.APIKey{
		ID: newID(t), ProjectID: p.ID, OrganizationID: p.OrganizationID,
		PublicKey: m.PublicKey, SecretHint: m.Hint, Note: "test", Scopes: tenancy.DefaultScopes,
	}, m.Hash)
	if err != nil {
		t.Fatal(err)
	}
	return k, m
}

func TestEnsureOrganizationAndProject(t *testing.T) {
	s := newStore(t)
	ctx := context.Background()
	name := "ensure-" + newID(t).String()
	first, err := s.EnsureOrganization(ctx, tenancy.Organization{ID: newID(t), Name: name})
	if err != nil {
		t.Fatal(err)
	}
	if first.CreatedAt.IsZero() {
		t.Fatal("created_at not returned")
	}
	again, err := s.EnsureOrganization(ctx, tenancy.Organization{ID: newID(t), Name: name})
	if err != nil {
		t.Fatal(err)
	}
	if again.ID != first.ID {
		t.Fatalf("second ensure made a new organization %s, want %s", again.ID, first.ID)
	}

	p1, err := s.EnsureProject(ctx, tenancy.Project{ID: newID(t), OrganizationID: first.ID, Name: "web"})
	if err != nil {
		t.Fatal(err)
	}
	p2, err := s.EnsureProject(ctx, tenancy.Project{ID: newID(t), OrganizationID: first.ID, Name: "web"})
	if err != nil {
		t.Fatal(err)
	}
	if p1.ID != p2.ID {
		t.Fatalf("second ensure made a new project %s, want %s", p2.ID, p1.ID)
	}
	if _, err := s.EnsureProject(ctx, tenancy.Project{ID: newID(t), OrganizationID: newID(t), Name: "web"}); !errors.Is(err, tenancy.ErrNotFound) {
		t.Fatalf("project in a missing organization: %v, want ErrNotFound", err)
	}
}

func TestEnsureOrganizationConcurrent(t *testing.T) {
	s := newStore(t)
	name := "race-" + newID(t).String()
	ids := make([]uuid.UUID, 8)
	var wg sync.WaitGroup
	for i := range ids {
		wg.Go(func() {
			o, err := s.EnsureOrganization(context.Background(), tenancy.Organization{ID: uuid.New(), Name: name})
			if err != nil {
				t.Error(err)
				return
			}
			ids[i] = o.ID
		})
	}
	wg.Wait()
	for _, id := range ids {
		if id != ids[0] {
			t.Fatalf("concurrent ensures returned different organizations: %v", ids)
		}
	}
}

func TestProjects(t *testing.T) {
	s := newStore(t)
	ctx := context.Background()
	a, b := newFixture(t, s), newFixture(t, s)

	if _, err := s.CreateProject(ctx, tenancy.Project{ID: newID(t), OrganizationID: a.org.ID, Name: "default"}); !errors.Is(err, tenancy.ErrAlreadyExists) {
		t.Fatalf("duplicate name: %v, want ErrAlreadyExists", err)
	}
	second, err := s.CreateProject(ctx, tenancy.Project{ID: newID(t), OrganizationID: a.org.ID, Name: "second"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.CreateProject(ctx, tenancy.Project{ID: newID(t), OrganizationID: newID(t), Name: "x"}); !errors.Is(err, tenancy.ErrNotFound) {
		t.Fatalf("missing organization: %v, want ErrNotFound", err)
	}

	got, err := s.ListProjects(ctx, a.org.ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[0].ID != a.project.ID || got[1].ID != second.ID {
		t.Fatalf("ListProjects(a) = %+v, want [default second]", got)
	}
	if got, err := s.ListProjects(ctx, newID(t)); err != nil || len(got) != 0 {
		t.Fatalf("ListProjects(unknown) = %+v, %v; want empty", got, err)
	}

	if p, err := s.GetProject(ctx, a.org.ID, second.ID); err != nil || p != second {
		t.Fatalf("GetProject = %+v, %v; want %+v", p, err, second)
	}
	if _, err := s.GetProject(ctx, b.org.ID, second.ID); !errors.Is(err, tenancy.ErrNotFound) {
		t.Fatalf("GetProject across organizations: %v, want ErrNotFound", err)
	}
}

func TestAPIKeys(t *testing.T) {
	s := newStore(t)
	ctx := context.Background()
	a, b := newFixture(t, s), newFixture(t, s)
	k1, m1 := newKey(t, s, a.project)
	k2, _ := newKey(t, s, a.project)
	newKey(t, s, b.project)

	keys, err := s.ListAPIKeys(ctx, a.org.ID, a.project.ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(keys) != 2 || keys[0].ID != k1.ID || keys[1].ID != k2.ID {
		t.Fatalf("ListAPIKeys = %+v, want k1, k2", keys)
	}
	if keys[0].OrganizationID != a.org.ID || keys[0].SecretHint != m1.Hint || keys[0].LastUsedAt != nil || keys[0].RevokedAt != nil {
		t.Fatalf("listed key %+v", keys[0])
	}
	if keys, err := s.ListAPIKeys(ctx, b.org.ID, a.project.ID); err != nil || len(keys) != 0 {
		t.Fatalf("ListAPIKeys across organizations = %+v, %v; want none", keys, err)
	}

	found, err := s.APIKeyBySecretHash(ctx, m1.Hash)
	if err != nil || found.ID != k1.ID || found.OrganizationID != a.org.ID || found.ProjectID != a.project.ID {
		t.Fatalf("APIKeyBySecretHash = %+v, %v", found, err)
	}
	if _, err := s.APIKeyBySecretHash(ctx, apikey.HashSecret("sk-at-nope")); !errors.Is(err, tenancy.ErrNotFound) {
		t.Fatalf("unknown hash: %v, want ErrNotFound", err)
	}
	if _, err := s.CreateAPIKey(ctx, tenancy.APIKey{ID: newID(t), ProjectID: newID(t), PublicKey: "pk-x", SecretHint: "h", Scopes: tenancy.DefaultScopes}, apikey.HashSecret(newID(t).String())); !errors.Is(err, tenancy.ErrNotFound) {
		t.Fatalf("key for a missing project: %v, want ErrNotFound", err)
	}
}

func TestRevokeAPIKey(t *testing.T) {
	s := newStore(t)
	ctx := context.Background()
	a, b := newFixture(t, s), newFixture(t, s)
	k, m := newKey(t, s, a.project)

	if _, err := s.RevokeAPIKey(ctx, b.org.ID, k.ID, time.Now()); !errors.Is(err, tenancy.ErrNotFound) {
		t.Fatalf("revoke from another organization: %v, want ErrNotFound", err)
	}
	if found, _ := s.APIKeyBySecretHash(ctx, m.Hash); found.Revoked() {
		t.Fatal("a failed cross-organization revoke revoked the key")
	}
	first := time.Now().Add(-time.Hour).Truncate(time.Microsecond)
	r1, err := s.RevokeAPIKey(ctx, a.org.ID, k.ID, first)
	if err != nil || r1.RevokedAt == nil || !r1.RevokedAt.Equal(first) {
		t.Fatalf("RevokeAPIKey = %+v, %v", r1, err)
	}
	r2, err := s.RevokeAPIKey(ctx, a.org.ID, k.ID, time.Now())
	if err != nil || !r2.RevokedAt.Equal(first) {
		t.Fatalf("second revoke = %+v, %v; want revoked_at kept at %v", r2, err, first)
	}
	if found, _ := s.APIKeyBySecretHash(ctx, m.Hash); !found.Revoked() {
		t.Fatal("revoked key is found unrevoked")
	}
	if _, err := s.RevokeAPIKey(ctx, a.org.ID, newID(t), time.Now()); !errors.Is(err, tenancy.ErrNotFound) {
		t.Fatalf("revoke unknown key: %v, want ErrNotFound", err)
	}
}

func TestTouchAPIKeys(t *testing.T) {
	s := newStore(t)
	ctx := context.Background()
	a := newFixture(t, s)
	k1, m1 := newKey(t, s, a.project)
	k2, m2 := newKey(t, s, a.project)
	t0 := time.Now().Truncate(time.Microsecond)

	steps := []struct {
		uses     map[uuid.UUID]time.Time
		want1    time.Time
		want2    time.Time
		describe string
	}{
		{map[uuid.UUID]time.Time{k1.ID: t0, k2.ID: t0.Add(time.Second)}, t0, t0.Add(time.Second), "both set"},
		{map[uuid.UUID]time.Time{k1.ID: t0.Add(-time.Minute)}, t0, t0.Add(time.Second), "never moves back"},
		{map[uuid.UUID]time.Time{k1.ID: t0.Add(time.Minute), newID(t): t0}, t0.Add(time.Minute), t0.Add(time.Second), "moves forward; unknown ids ignored"},
		{map[uuid.UUID]time.Time{}, t0.Add(time.Minute), t0.Add(time.Second), "empty batch"},
	}
	for _, st := range steps {
		if err := s.TouchAPIKeys(ctx, st.uses); err != nil {
			t.Fatalf("%s: %v", st.describe, err)
		}
		for _, c := range []struct {
			m    apikey.Material
			want time.Time
		}{{m1, st.want1}, {m2, st.want2}} {
			k, err := s.APIKeyBySecretHash(ctx, c.m.Hash)
			if err != nil {
				t.Fatal(err)
			}
			if k.LastUsedAt == nil || !k.LastUsedAt.Equal(c.want) {
				t.Fatalf("%s: last_used_at = %v, want %v", st.describe, k.LastUsedAt, c.want)
			}
		}
	}
}

// A database that cannot be reached is ErrUnavailable (retry), not a bug.
func TestUnreachableIsUnavailable(t *testing.T) {
	pgtest.URL(t) // the same -short rule as the other tests
	pool, err := pgstore.Open(context.Background(), pgstore.Config{
		URL: "postgres://postgres@127.0.0.1:1/none?sslmode=disable", ConnectTimeout: time.Second,
	})
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	s := pgstore.New(pool)
	ctx := context.Background()
	calls := map[string]func() error{
		"ListProjects": func() error { _, err := s.ListProjects(ctx, uuid.New()); return err },
		"GetProject":   func() error { _, err := s.GetProject(ctx, uuid.New(), uuid.New()); return err },
		"APIKeyBySecretHash": func() error {
			_, err := s.APIKeyBySecretHash(ctx, apikey.HashSecret("x"))
			return err
		},
		"TouchAPIKeys": func() error { return s.TouchAPIKeys(ctx, map[uuid.UUID]time.Time{uuid.New(): time.Now()}) },
	}
	for name, call := range calls {
		if err := call(); !errors.Is(err, tenancy.ErrUnavailable) {
			t.Errorf("%s: %v, want ErrUnavailable", name, err)
		}
	}
	if err := s.Ping(ctx); err == nil {
		t.Error("Ping succeeded against an unreachable server")
	}
}

func TestOpenRejectsMalformedURL(t *testing.T) {
	const secret = "hunter2"
	_, err := pgstore.Open(context.Background(), pgstore.Config{URL: "postgres://u:" + secret + "@host:notaport/db"})
	if err == nil {
		t.Fatal("want an error")
	}
	if msg := fmt.Sprint(err); contains(msg, secret) {
		t.Fatalf("error %q shows the password", msg)
	}
}
