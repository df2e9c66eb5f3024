package auditapi_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"strconv"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/peer"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/agenttrace/agenttrace/pkg/authn"
	authv1 "github.com/agenttrace/agenttrace/pkg/gen/agenttrace/auth/v1"
	"github.com/agenttrace/agenttrace/services/auth/internal/audit"
	"github.com/agenttrace/agenttrace/services/auth/internal/auditapi"
	"github.com/agenttrace/agenttrace/services/auth/internal/pgstore"
	"github.com/agenttrace/agenttrace/services/auth/internal/pgtest"
	"github.com/agenttrace/agenttrace/services/auth/internal/tenancy"
)

type env struct {
	pool     *pgxpool.Pool
	recorder *audit.Recorder
	srv      *auditapi.Server
}

func newEnv(t *testing.T) *env {
	t.Helper()
	pool := pgtest.Pool(t, pgtest.URL(t))
	st := pgstore.NewAuditStore(pool)
	rec := audit.NewRecorder(audit.Config{Store: st})
	return &env{pool: pool, recorder: rec, srv: auditapi.New(audit.NewLister(st), rec, slog.New(slog.NewTextHandler(io.Discard, nil)))}
}

type tenant struct{ org, project uuid.UUID }

func (e *env) newTenant(t *testing.T) tenant {
	t.Helper()
	tn := tenant{org: uuid.New(), project: uuid.New()}
	ctx := context.Background()
	if _, err := e.pool.Exec(ctx, `INSERT INTO organizations (id, name) VALUES ($1, $2)`, tn.org, "org-"+tn.org.String()); err != nil {
		t.Fatal(err)
	}
	if _, err := e.pool.Exec(ctx, `INSERT INTO projects (id, organization_id, name) VALUES ($1, $2, 'p')`, tn.project, tn.org); err != nil {
		t.Fatal(err)
	}
	return tn
}

func (tn tenant) as(role authv1.Role) context.Context {
	return authn.WithPrincipal(context.Background(), authn.Principal{
		Kind: authn.KindUser, UserID: uuid.NewString(), Email: "someone@example.com", Role: role, OrganizationID: tn.org.String(),
	})
}

func (tn tenant) key(scopes ...authv1.APIKeyScope) context.Context {
	return authn.WithPrincipal(context.Background(), authn.Principal{
		Kind: authn.KindAPIKey, KeyID: uuid.NewString(), PublicKey: "pk-at-k", Scopes: scopes,
		OrganizationID: tn.org.String(), ProjectID: tn.project.String(),
	})
}

func service(name string) context.Context {
	return authn.WithPrincipal(context.Background(), authn.Principal{Kind: authn.KindService, Service: name})
}

func wantCode(t *testing.T, err error, want codes.Code) {
	t.Helper()
	if got := status.Code(err); got != want {
		t.Fatalf("code = %v (%v), want %v", got, err, want)
	}
}

func TestListPaginationAndFilters(t *testing.T) {
	e := newEnv(t)
	a := e.newTenant(t)
	other := uuid.New()
	if _, err := e.pool.Exec(context.Background(), `INSERT INTO projects (id, organization_id, name) VALUES ($1, $2, 'q')`, other, a.org); err != nil {
		t.Fatal(err)
	}
	owner := a.as(authv1.Role_ROLE_OWNER)
	// Seven events a minute apart, oldest first; the last two in the other project.
	base := time.Date(2031, 5, 1, 12, 0, 0, 0, time.UTC)
	for i := range 7 {
		at := base.Add(time.Duration(i) * time.Minute)
		rec := audit.NewRecorder(audit.Config{Store: pgstore.NewAuditStore(e.pool), Now: func() time.Time { return at }})
		project, action := a.project, audit.ActionAPIKeyCreate
		if i >= 5 {
			project, action = other, audit.ActionSettingsUpdate
		}
		if _, err := rec.Record(owner, nil, audit.Entry{ProjectID: project, Action: action, TargetKind: "thing", TargetID: strconv.Itoa(i)}); err != nil {
			t.Fatal(err)
		}
	}
	var seen []string
	token := ""
	for page := 0; ; page++ {
		resp, err := e.srv.ListAuditEvents(owner, &authv1.ListAuditEventsRequest{PageSize: 3, PageToken: token})
		if err != nil {
			t.Fatal(err)
		}
		if want := []int{3, 3, 1}[page]; len(resp.GetEvents()) != want {
			t.Fatalf("page %d has %d events, want %d", page, len(resp.GetEvents()), want)
		}
		for _, ev := range resp.GetEvents() {
			if ev.GetOrganizationId() != a.org.String() || ev.GetActorKind() != "user" || ev.GetActorLabel() != "someone@example.com" {
				t.Fatalf("event %v", ev)
			}
			seen = append(seen, ev.GetTargetId())
		}
		if token = resp.GetNextPageToken(); token == "" {
			break
		}
	}
	if got := len(seen); got != 7 || seen[0] != "6" || seen[6] != "0" {
		t.Fatalf("targets in order %v, want 6..0 (newest first)", seen)
	}
	for i := 1; i < len(seen); i++ {
		if prev, cur := seen[i-1], seen[i]; cur >= prev {
			t.Fatalf("not newest first: %v", seen)
		}
	}

	filters := []struct {
		name string
		req  *authv1.ListAuditEventsRequest
		want int
	}{
		{"project", &authv1.ListAuditEventsRequest{ProjectId: other.String()}, 2},
		{"action", &authv1.ListAuditEventsRequest{Action: audit.ActionAPIKeyCreate}, 5},
		{"from", &authv1.ListAuditEventsRequest{FromTime: timestamppb.New(base.Add(4 * time.Minute))}, 3},
		{"to (exclusive)", &authv1.ListAuditEventsRequest{ToTime: timestamppb.New(base.Add(2 * time.Minute))}, 2},
		{"window", &authv1.ListAuditEventsRequest{FromTime: timestamppb.New(base.Add(time.Minute)), ToTime: timestamppb.New(base.Add(3 * time.Minute))}, 2},
		{"own organization named", &authv1.ListAuditEventsRequest{OrganizationId: a.org.String()}, 7},
		{"unknown action", &authv1.ListAuditEventsRequest{Action: "nothing.here"}, 0},
	}
	for _, tt := range filters {
		t.Run(tt.name, func(t *testing.T) {
			resp, err := e.srv.ListAuditEvents(owner, tt.req)
			if err != nil || len(resp.GetEvents()) != tt.want || resp.GetNextPageToken() != "" {
				t.Fatalf("got %d events (token %q), %v; want %d", len(resp.GetEvents()), resp.GetNextPageToken(), err, tt.want)
			}
		})
	}

	bad := []struct {
		name string
		req  *authv1.ListAuditEventsRequest
	}{
		{"page token", &authv1.ListAuditEventsRequest{PageToken: "garbage!"}},
		{"negative size", &authv1.ListAuditEventsRequest{PageSize: -1}},
		{"project id", &authv1.ListAuditEventsRequest{ProjectId: "x"}},
		{"organization id", &authv1.ListAuditEventsRequest{OrganizationId: "x"}},
		{"reversed window", &authv1.ListAuditEventsRequest{FromTime: timestamppb.New(base), ToTime: timestamppb.New(base)}},
		{"invalid time", &authv1.ListAuditEventsRequest{FromTime: &timestamppb.Timestamp{Seconds: -1 << 62}}},
	}
	for _, tt := range bad {
		t.Run(tt.name, func(t *testing.T) {
			_, err := e.srv.ListAuditEvents(owner, tt.req)
			wantCode(t, err, codes.InvalidArgument)
		})
	}
}

func TestListPermissionsAndIsolation(t *testing.T) {
	e := newEnv(t)
	a, b := e.newTenant(t), e.newTenant(t)
	if _, err := e.recorder.Record(a.as(authv1.Role_ROLE_ADMIN), nil, audit.Entry{Action: audit.ActionProjectCreate}); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		ctx  context.Context
		req  *authv1.ListAuditEventsRequest
		want codes.Code
		n    int
	}{
		{"owner", a.as(authv1.Role_ROLE_OWNER), &authv1.ListAuditEventsRequest{}, codes.OK, 1},
		{"admin", a.as(authv1.Role_ROLE_ADMIN), &authv1.ListAuditEventsRequest{}, codes.OK, 1},
		{"admin key", a.key(authv1.APIKeyScope_API_KEY_SCOPE_READ, authv1.APIKeyScope_API_KEY_SCOPE_ADMIN), &authv1.ListAuditEventsRequest{}, codes.OK, 1},
		{"member", a.as(authv1.Role_ROLE_MEMBER), &authv1.ListAuditEventsRequest{}, codes.PermissionDenied, 0},
		{"viewer", a.as(authv1.Role_ROLE_VIEWER), &authv1.ListAuditEventsRequest{}, codes.PermissionDenied, 0},
		{"read key", a.key(authv1.APIKeyScope_API_KEY_SCOPE_INGEST, authv1.APIKeyScope_API_KEY_SCOPE_READ), &authv1.ListAuditEventsRequest{}, codes.PermissionDenied, 0},
		{"service", service("worker"), &authv1.ListAuditEventsRequest{}, codes.PermissionDenied, 0},
		{"unauthenticated", context.Background(), &authv1.ListAuditEventsRequest{}, codes.PermissionDenied, 0},
		{"B's owner sees none of A", b.as(authv1.Role_ROLE_OWNER), &authv1.ListAuditEventsRequest{}, codes.OK, 0},
		{"B's owner names A", b.as(authv1.Role_ROLE_OWNER), &authv1.ListAuditEventsRequest{OrganizationId: a.org.String()}, codes.PermissionDenied, 0},
		{"B's owner filters on A's project", b.as(authv1.Role_ROLE_OWNER), &authv1.ListAuditEventsRequest{ProjectId: a.project.String()}, codes.OK, 0},
		{"B's owner guesses an org", b.as(authv1.Role_ROLE_OWNER), &authv1.ListAuditEventsRequest{OrganizationId: uuid.NewString()}, codes.PermissionDenied, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, err := e.srv.ListAuditEvents(tt.ctx, tt.req)
			wantCode(t, err, tt.want)
			if len(resp.GetEvents()) != tt.n {
				t.Fatalf("%d events, want %d", len(resp.GetEvents()), tt.n)
			}
		})
	}
}

func TestRecordAuditEvent(t *testing.T) {
	e := newEnv(t)
	a := e.newTenant(t)
	ctx := metadata.NewIncomingContext(service("ingest"), metadata.Pairs("user-agent", "grpc-go/1.85"))
	ctx = peer.NewContext(ctx, &peer.Peer{Addr: &net.TCPAddr{IP: net.ParseIP("10.1.2.3"), Port: 1}})
	resp, err := e.srv.RecordAuditEvent(ctx, &authv1.RecordAuditEventRequest{Event: &authv1.AuditEvent{
		ProjectId: a.project.String(), Action: audit.ActionTraceDelete, TargetKind: "trace", TargetId: "t-1",
		ActorKind: "api_key", ActorId: "k-1", ActorLabel: "pk-at-abc", ClientIp: "203.0.113.9",
		Details: map[string]string{"reason": "gdpr request"},
	}})
	if err != nil {
		t.Fatal(err)
	}
	got := resp.GetEvent()
	if got.GetOrganizationId() != a.org.String() || got.GetActorKind() != "api_key" || got.GetActorLabel() != "pk-at-abc" ||
		got.GetClientIp() != "203.0.113.9" || got.GetUserAgent() != "grpc-go/1.85" || got.GetDetails()["recorded_by"] != "ingest" {
		t.Fatalf("recorded %v", got)
	}
	// The worker records its own run: the service is the actor.
	resp, err = e.srv.RecordAuditEvent(service("worker"), &authv1.RecordAuditEventRequest{Event: &authv1.AuditEvent{
		OrganizationId: a.org.String(), ProjectId: a.project.String(), Action: audit.ActionRetentionRun,
		Details: map[string]string{"cutoff": "2031-01-01T00:00:00Z", "retention_days": "30"},
	}})
	if err != nil || resp.GetEvent().GetActorKind() != "service" || resp.GetEvent().GetActorLabel() != "worker" {
		t.Fatalf("retention run = %v, %v", resp, err)
	}
	list, err := e.srv.ListAuditEvents(a.as(authv1.Role_ROLE_OWNER), &authv1.ListAuditEventsRequest{})
	if err != nil || len(list.GetEvents()) != 2 || list.GetEvents()[0].GetAction() != audit.ActionRetentionRun {
		t.Fatalf("owner's list = %v, %v", list, err)
	}

	good := func() *authv1.AuditEvent {
		return &authv1.AuditEvent{ProjectId: a.project.String(), Action: audit.ActionTraceDelete}
	}
	tests := []struct {
		name   string
		ctx    context.Context
		change func(*authv1.AuditEvent)
		want   codes.Code
	}{
		{"user", a.as(authv1.Role_ROLE_OWNER), func(*authv1.AuditEvent) {}, codes.PermissionDenied},
		{"admin key", a.key(authv1.APIKeyScope_API_KEY_SCOPE_ADMIN), func(*authv1.AuditEvent) {}, codes.PermissionDenied},
		{"not reportable", service("ingest"), func(ev *authv1.AuditEvent) { ev.Action = audit.ActionAPIKeyRevoke }, codes.InvalidArgument},
		{"no project", service("ingest"), func(ev *authv1.AuditEvent) { ev.ProjectId = "" }, codes.InvalidArgument},
		{"malformed project", service("ingest"), func(ev *authv1.AuditEvent) { ev.ProjectId = "p" }, codes.InvalidArgument},
		{"unknown project", service("ingest"), func(ev *authv1.AuditEvent) { ev.ProjectId = uuid.NewString() }, codes.NotFound},
		{"other organization", service("ingest"), func(ev *authv1.AuditEvent) { ev.OrganizationId = uuid.NewString() }, codes.InvalidArgument},
		{"secret detail", service("ingest"), func(ev *authv1.AuditEvent) { ev.Details = map[string]string{"api_key": "sk-x"} }, codes.InvalidArgument},
		{"system actor", service("ingest"), func(ev *authv1.AuditEvent) { ev.ActorKind = "system" }, codes.InvalidArgument},
		{"actor without kind", service("ingest"), func(ev *authv1.AuditEvent) { ev.ActorId = "u" }, codes.InvalidArgument},
		{"control characters", service("ingest"), func(ev *authv1.AuditEvent) { ev.TargetId = "t\x00" }, codes.InvalidArgument},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ev := good()
			tt.change(ev)
			_, err := e.srv.RecordAuditEvent(tt.ctx, &authv1.RecordAuditEventRequest{Event: ev})
			wantCode(t, err, tt.want)
		})
	}
	_, err = e.srv.RecordAuditEvent(service("ingest"), &authv1.RecordAuditEventRequest{})
	wantCode(t, err, codes.InvalidArgument)
	var n int
	if err := e.pool.QueryRow(context.Background(), `SELECT count(*) FROM audit_events WHERE organization_id = $1`, a.org).Scan(&n); err != nil || n != 2 {
		t.Fatalf("%d events stored (%v), want only the 2 valid ones", n, err)
	}
}

// TestTenancyActionsAudited: project and key actions write their record in
// their own transaction; a failed action leaves none, and a record that
// cannot be written undoes the action.
func TestTenancyActionsAudited(t *testing.T) {
	e := newEnv(t)
	store := pgstore.New(e.pool)
	svc := tenancy.NewService(tenancy.Config{Store: store, Audit: e.recorder, Announcer: announcer{}})
	org, p, key, err := svc.Bootstrap(context.Background(), "audited-"+uuid.NewString(), "p", "first key")
	if err != nil {
		t.Fatal(err)
	}
	caller := tenancy.Caller{OrganizationID: org.ID, ProjectID: p.ID}
	ctx := authn.WithPrincipal(context.Background(), authn.Principal{
		Kind: authn.KindUser, UserID: uuid.NewString(), Email: "admin@example.com", Role: authv1.Role_ROLE_ADMIN, OrganizationID: org.ID.String(),
	})
	ctx = metadata.NewIncomingContext(ctx, metadata.Pairs("x-forwarded-for", "198.51.100.4", "grpcgateway-user-agent", "Firefox"))
	if _, err := svc.CreateProject(ctx, caller, "second"); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.CreateProject(ctx, caller, "second"); !errors.Is(err, tenancy.ErrAlreadyExists) {
		t.Fatalf("duplicate project: %v", err)
	}
	if _, err := svc.RevokeAPIKey(ctx, caller, key.Key.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.RevokeAPIKey(ctx, caller, uuid.New()); !errors.Is(err, tenancy.ErrNotFound) {
		t.Fatalf("revoking an unknown key: %v", err)
	}

	list, err := e.srv.ListAuditEvents(ctx, &authv1.ListAuditEventsRequest{})
	if err != nil {
		t.Fatal(err)
	}
	var actions []string
	for _, ev := range list.GetEvents() {
		actions = append(actions, ev.GetAction())
	}
	want := []string{audit.ActionAPIKeyRevoke, audit.ActionProjectCreate, audit.ActionAPIKeyCreate}
	if len(actions) != len(want) {
		t.Fatalf("actions %v, want %v (failed actions leave no record)", actions, want)
	}
	for i := range want {
		if actions[i] != want[i] {
			t.Fatalf("actions %v, want %v", actions, want)
		}
	}
	revoke, create := list.GetEvents()[0], list.GetEvents()[2]
	if revoke.GetActorKind() != "user" || revoke.GetActorLabel() != "admin@example.com" || revoke.GetClientIp() != "198.51.100.4" ||
		revoke.GetUserAgent() != "Firefox" || revoke.GetTargetId() != key.Key.ID.String() || revoke.GetDetails()["public_key"] != key.Key.PublicKey {
		t.Fatalf("revoke record %v", revoke)
	}
	if create.GetActorKind() != "system" || create.GetDetails()["note"] != "first key" || create.GetProjectId() != p.ID.String() {
		t.Fatalf("bootstrap key record %v", create)
	}
	for _, ev := range list.GetEvents() {
		for _, v := range ev.GetDetails() {
			if v == key.Secret || v == key.Key.SecretHint {
				t.Fatalf("a record holds the key's secret: %v", ev)
			}
		}
	}

	// A record that cannot be written (here: invalid) rolls the action back.
	name := "rolled-back-" + uuid.NewString()
	err = store.InTx(ctx, func(st tenancy.Store, tx pgx.Tx) error {
		if _, err := st.CreateProject(ctx, tenancy.Project{ID: uuid.New(), OrganizationID: org.ID, Name: name}); err != nil {
			return err
		}
		_, err := e.recorder.Record(ctx, tx, audit.Entry{Action: "Not Valid"})
		return err
	})
	if !errors.Is(err, audit.ErrInvalidArgument) {
		t.Fatalf("InTx = %v, want the record's error", err)
	}
	var n int
	if err := e.pool.QueryRow(context.Background(), `SELECT count(*) FROM projects WHERE name = $1`, name).Scan(&n); err != nil || n != 0 {
		t.Fatalf("%d projects named %s (%v): the action outlived its failed record", n, name, err)
	}
}

// announcer accepts every revocation notice (NATS is not under test here).
type announcer struct{}

func (announcer) AnnounceRevocation(context.Context, string) error { return nil }
