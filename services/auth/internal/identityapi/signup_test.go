package identityapi_test

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	authv1 "github.com/agenttrace/agenttrace/pkg/gen/agenttrace/auth/v1"
	"github.com/agenttrace/agenttrace/services/auth/internal/identity"
)

const goodPassword = "a long enough passphrase"

func wantCode(t *testing.T, err error, code codes.Code, msgPart string) {
	t.Helper()
	if status.Code(err) != code || !strings.Contains(status.Convert(err).Message(), msgPart) {
		t.Fatalf("got %v, want %v containing %q", err, code, msgPart)
	}
}

func wantField(t *testing.T, err error, field string) {
	t.Helper()
	st := status.Convert(err)
	if st.Code() != codes.InvalidArgument {
		t.Fatalf("got %v, want InvalidArgument on %s", err, field)
	}
	for _, d := range st.Details() {
		if br, ok := d.(*errdetails.BadRequest); ok && len(br.FieldViolations) == 1 && br.FieldViolations[0].Field == field {
			return
		}
	}
	t.Fatalf("got %v, want a field violation on %s", err, field)
}

// invite stores an invitation and returns its token.
func (e *env) invite(t *testing.T, orgID string, email string, role authv1.Role, expires time.Time) string {
	t.Helper()
	token, hash, err := identity.NewInvitationToken()
	if err != nil {
		t.Fatal(err)
	}
	inv := identity.Invitation{ID: uuidOf(t, ""), OrganizationID: uuidOf(t, orgID), Email: email, Role: role, ExpiresAt: expires}
	if _, err := e.store.CreateInvitation(context.Background(), inv, hash); err != nil {
		t.Fatal(err)
	}
	return e.secret(token)
}

func TestFirstUserAndInvitations(t *testing.T) {
	e := newEnv(t, envOptions{fresh: true})
	ctx := context.Background()
	pw := e.secret(goodPassword)

	_, err := e.client.Signup(ctx, &authv1.SignupRequest{Email: "owner@example.com", Password: pw})
	wantField(t, err, "organization_name")

	first, err := e.client.Signup(ctx, &authv1.SignupRequest{Email: " Owner@Example.com ", Password: pw, Name: "Olivia", OrganizationName: "Acme"})
	if err != nil {
		t.Fatal(err)
	}
	e.tokens(first.GetTokens())
	if first.GetUser().GetEmail() != "owner@example.com" || first.GetUser().GetName() != "Olivia" {
		t.Fatalf("first user %v", first.GetUser())
	}
	me, err := e.client.GetCurrentUser(bearer(ctx, first.GetTokens().GetAccessToken()), &authv1.GetCurrentUserRequest{})
	if err != nil {
		t.Fatal(err)
	}
	if len(me.GetMemberships()) != 1 || me.GetMemberships()[0].GetRole() != authv1.Role_ROLE_OWNER ||
		me.GetMemberships()[0].GetOrganizationName() != "Acme" || me.GetUser().GetId() != first.GetUser().GetId() {
		t.Fatalf("GetCurrentUser = %v", me)
	}
	orgID := me.GetMemberships()[0].GetOrganizationId()
	// The first user learns the organization they created from the signup.
	if o := first.GetOrganization(); o.GetId() != orgID || o.GetName() != "Acme" || o.GetCreatedAt() == nil {
		t.Fatalf("first signup's organization = %v, want %s (Acme)", o, orgID)
	}

	// Later signups need an invitation, whatever else they send.
	_, err = e.client.Signup(ctx, &authv1.SignupRequest{Email: "second@example.com", Password: pw, OrganizationName: "Other"})
	wantCode(t, err, codes.FailedPrecondition, "invitation")

	now := time.Now()
	memberToken := e.invite(t, orgID, "member@example.com", authv1.Role_ROLE_MEMBER, now.Add(time.Hour))
	expired := e.invite(t, orgID, "late@example.com", authv1.Role_ROLE_MEMBER, now.Add(-time.Minute))
	ownerAgain := e.invite(t, orgID, "owner@example.com", authv1.Role_ROLE_ADMIN, now.Add(time.Hour))
	revoked := e.invite(t, orgID, "gone@example.com", authv1.Role_ROLE_MEMBER, now.Add(time.Hour))
	inv, _ := e.store.GetInvitationByTokenHash(ctx, identity.HashToken(revoked))
	if _, err := e.store.RevokeInvitation(ctx, inv.OrganizationID, inv.ID, now); err != nil {
		t.Fatal(err)
	}

	refusals := []struct {
		name  string
		email string
		token string
		code  codes.Code
		msg   string
	}{
		{"other email", "intruder@example.com", memberToken, codes.PermissionDenied, "another email"},
		{"expired", "late@example.com", expired, codes.PermissionDenied, "expired"},
		{"revoked", "gone@example.com", revoked, codes.PermissionDenied, "revoked"},
		{"unknown", "member@example.com", "inv-at-" + strings.Repeat("A", 43), codes.PermissionDenied, "unknown"},
		{"not a token", "member@example.com", "hello", codes.PermissionDenied, "unknown"},
		{"email taken", "owner@example.com", ownerAgain, codes.AlreadyExists, "log in instead"},
	}
	for _, tc := range refusals {
		t.Run(tc.name, func(t *testing.T) {
			_, err := e.client.Signup(ctx, &authv1.SignupRequest{Email: tc.email, Password: pw, InvitationToken: tc.token})
			wantCode(t, err, tc.code, tc.msg)
		})
	}

	member, err := e.client.Signup(ctx, &authv1.SignupRequest{Email: "Member@example.com", Password: pw, InvitationToken: memberToken})
	if err != nil {
		t.Fatal(err)
	}
	e.tokens(member.GetTokens())
	me, err = e.client.GetCurrentUser(bearer(ctx, member.GetTokens().GetAccessToken()), &authv1.GetCurrentUserRequest{})
	if err != nil || len(me.GetMemberships()) != 1 || me.GetMemberships()[0].GetRole() != authv1.Role_ROLE_MEMBER ||
		me.GetMemberships()[0].GetOrganizationId() != orgID {
		t.Fatalf("invited user: %v, %v", me, err)
	}
	// An invited user learns the organization the invitation was for.
	if o := member.GetOrganization(); o.GetId() != orgID || o.GetName() != "Acme" ||
		!o.GetCreatedAt().AsTime().Equal(first.GetOrganization().GetCreatedAt().AsTime()) {
		t.Fatalf("invited signup's organization = %v, want %v", o, first.GetOrganization())
	}
	_, err = e.client.Signup(ctx, &authv1.SignupRequest{Email: "member@example.com", Password: pw, InvitationToken: memberToken})
	wantCode(t, err, codes.PermissionDenied, "already accepted")

	// Both signups were audited, by the new user.
	var creates, accepts int
	if err := e.pool.QueryRow(ctx,
		`SELECT count(*) FILTER (WHERE action = 'organization.create' AND actor_id = $1 AND target_id = $3),
		        count(*) FILTER (WHERE action = 'invitation.accept' AND actor_id = $2 AND organization_id::text = $3)
		 FROM audit_events`, first.GetUser().GetId(), member.GetUser().GetId(), orgID).Scan(&creates, &accepts); err != nil {
		t.Fatal(err)
	}
	if creates != 1 || accepts != 1 {
		t.Fatalf("audit events: %d organization.create, %d invitation.accept", creates, accepts)
	}
}

func TestConcurrentFirstSignups(t *testing.T) {
	e := newEnv(t, envOptions{fresh: true})
	pw := e.secret(goodPassword)
	const racers = 4
	var wg sync.WaitGroup
	codesSeen := make([]codes.Code, racers)
	for i := range racers {
		wg.Go(func() {
			resp, err := e.client.Signup(context.Background(), &authv1.SignupRequest{
				Email: uniqueEmail(), Password: pw, OrganizationName: "org-" + uniqueEmail()})
			e.tokens(resp.GetTokens())
			codesSeen[i] = status.Code(err)
		})
	}
	wg.Wait()
	won := 0
	for _, c := range codesSeen {
		switch c {
		case codes.OK:
			won++
		case codes.FailedPrecondition:
		default:
			t.Errorf("unexpected code %v", c)
		}
	}
	var orgs, users int
	if err := e.pool.QueryRow(context.Background(),
		`SELECT (SELECT count(*) FROM organizations), (SELECT count(*) FROM users)`).Scan(&orgs, &users); err != nil {
		t.Fatal(err)
	}
	if won != 1 || orgs != 1 || users != 1 {
		t.Fatalf("%d signups won, %d organizations, %d users; want 1 each (%v)", won, orgs, users, codesSeen)
	}
}

func TestFirstSignupOrganizationNameTaken(t *testing.T) {
	e := newEnv(t, envOptions{fresh: true})
	ctx := context.Background()
	if _, err := e.pool.Exec(ctx, `INSERT INTO organizations (id, name) VALUES ($1, 'bootstrapped')`, uuidOf(t, "")); err != nil {
		t.Fatal(err)
	}
	_, err := e.client.Signup(ctx, &authv1.SignupRequest{Email: uniqueEmail(), Password: e.secret(goodPassword), OrganizationName: "bootstrapped"})
	wantField(t, err, "organization_name")
}

func TestSignupValidation(t *testing.T) {
	e := newEnv(t, envOptions{})
	cases := []struct {
		name  string
		req   *authv1.SignupRequest
		field string
	}{
		{"no email", &authv1.SignupRequest{Password: goodPassword}, "email"},
		{"display name form", &authv1.SignupRequest{Email: "Bob <bob@example.com>", Password: goodPassword}, "email"},
		{"no domain dot", &authv1.SignupRequest{Email: "bob@localhost", Password: goodPassword}, "email"},
		{"not an address", &authv1.SignupRequest{Email: "bob", Password: goodPassword}, "email"},
		{"too long email", &authv1.SignupRequest{Email: strings.Repeat("a", 250) + "@example.com", Password: goodPassword}, "email"},
		{"short password", &authv1.SignupRequest{Email: uniqueEmail(), Password: "short pass"}, "password"},
		{"blank password", &authv1.SignupRequest{Email: uniqueEmail(), Password: strings.Repeat(" ", 20)}, "password"},
		{"long password", &authv1.SignupRequest{Email: uniqueEmail(), Password: strings.Repeat("p", 257)}, "password"},
		{"control chars in name", &authv1.SignupRequest{Email: uniqueEmail(), Password: goodPassword, Name: "a\x00b"}, "name"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if strings.TrimSpace(tc.req.GetPassword()) != "" {
				e.secret(tc.req.GetPassword())
			}
			_, err := e.client.Signup(context.Background(), tc.req)
			wantField(t, err, tc.field)
		})
	}
}
