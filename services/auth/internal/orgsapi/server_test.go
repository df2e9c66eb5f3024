package orgsapi_test

import (
	"context"
	"net"
	"testing"

	"github.com/google/uuid"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/grpc/test/bufconn"

	"github.com/agenttrace/agenttrace/pkg/authn"
	authv1 "github.com/agenttrace/agenttrace/pkg/gen/agenttrace/auth/v1"
	"github.com/agenttrace/agenttrace/pkg/grpctest"
	"github.com/agenttrace/agenttrace/services/auth/internal/audit"
	"github.com/agenttrace/agenttrace/services/auth/internal/identity"
	"github.com/agenttrace/agenttrace/services/auth/internal/orgs"
	"github.com/agenttrace/agenttrace/services/auth/internal/orgsapi"
	"github.com/agenttrace/agenttrace/services/auth/internal/pgstore"
	"github.com/agenttrace/agenttrace/services/auth/internal/pgtest"
	"github.com/agenttrace/agenttrace/services/auth/internal/tenancy"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

// testUserKey names, in the call's metadata, which test user calls; the
// test interceptor turns it into that user's principal, standing in for
// the real authentication interceptor.
const testUserKey = "x-test-user"

type env struct {
	client authv1.OrganizationServiceClient
	store  *pgstore.Store
	users  map[string]authn.Principal
}

func newEnv(t *testing.T) *env {
	t.Helper()
	pool := pgtest.Pool(t, pgtest.URL(t))
	e := &env{store: pgstore.New(pool), users: map[string]authn.Principal{}}
	rec := audit.NewRecorder(audit.Config{Store: pgstore.NewAuditStore(pool)})
	svc := orgs.NewService(orgs.Config{
		Store:       pgstore.NewOrgStore(pool, rec),
		Invalidator: orgs.InvalidatorFunc(func(context.Context, uuid.UUID) error { return nil }),
	})
	lis := bufconn.Listen(1 << 20)
	srv := grpc.NewServer(grpc.UnaryInterceptor(func(ctx context.Context, req any, _ *grpc.UnaryServerInfo, h grpc.UnaryHandler) (any, error) {
		md, _ := metadata.FromIncomingContext(ctx)
		if v := md.Get(testUserKey); len(v) == 1 {
			ctx = authn.WithPrincipal(ctx, e.users[v[0]])
		}
		return h(ctx, req)
	}))
	authv1.RegisterOrganizationServiceServer(srv, orgsapi.New(svc, nil))
	grpctest.Serve(t, srv, lis)
	conn, err := grpc.NewClient("passthrough:///bufnet",
		grpc.WithContextDialer(func(ctx context.Context, _ string) (net.Conn, error) { return lis.DialContext(ctx) }),
		grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	e.client = authv1.NewOrganizationServiceClient(conn)
	return e
}

// newUser signs up a user and returns the context its calls run with.
func (e *env) newUser(t *testing.T, org string) (context.Context, authn.Principal) {
	t.Helper()
	id := uuid.New()
	u, err := e.store.CreateUser(context.Background(), identity.User{
		ID: id, Email: id.String()[:8] + "@example.com", PasswordHash: "$argon2id$v=19$m=65536,t=1,p=1$c2FsdA$aGFzaA",
	})
	if err != nil {
		t.Fatal(err)
	}
	p := authn.Principal{Kind: authn.KindUser, UserID: u.ID.String(), Email: u.Email, OrganizationID: org}
	e.users[u.ID.String()] = p
	return metadata.AppendToOutgoingContext(context.Background(), testUserKey, u.ID.String()), p
}

func wantCode(t *testing.T, err error, want codes.Code) {
	t.Helper()
	if got := status.Code(err); got != want {
		t.Fatalf("code = %v (%v), want %v", got, err, want)
	}
}

func TestOrganizationLifecycle(t *testing.T) {
	e := newEnv(t)
	ownerCtx, ownerP := e.newUser(t, "")
	created, err := e.client.CreateOrganization(ownerCtx, &authv1.CreateOrganizationRequest{Name: "acme " + ownerP.UserID})
	if err != nil {
		t.Fatal(err)
	}
	org := created.GetOrganization()
	if org.GetId() == "" || org.GetCreatedAt() == nil {
		t.Fatalf("organization %v", org)
	}
	list, err := e.client.ListOrganizations(ownerCtx, &authv1.ListOrganizationsRequest{})
	if err != nil || len(list.GetOrganizations()) != 1 || list.GetOrganizations()[0].GetId() != org.GetId() {
		t.Fatalf("ListOrganizations = %v, %v", list, err)
	}
	orgID := uuid.MustParse(org.GetId())
	project, err := e.store.CreateProject(context.Background(), tenancy.Project{ID: uuid.New(), OrganizationID: orgID, Name: "web"})
	if err != nil {
		t.Fatal(err)
	}

	guestCtx, guestP := e.newUser(t, "")
	inv, err := e.client.CreateInvitation(ownerCtx, &authv1.CreateInvitationRequest{OrganizationId: org.GetId(), Email: guestP.Email, Role: authv1.Role_ROLE_MEMBER})
	if err != nil {
		t.Fatal(err)
	}
	if !orgs.WellFormedInvitationToken(inv.GetToken()) || inv.GetInvitation().GetInvitedByUserId() != ownerP.UserID ||
		inv.GetInvitation().GetExpiresAt() == nil || inv.GetInvitation().GetAcceptedAt() != nil {
		t.Fatalf("invitation %v", inv)
	}
	invs, err := e.client.ListInvitations(ownerCtx, &authv1.ListInvitationsRequest{OrganizationId: org.GetId()})
	if err != nil || len(invs.GetInvitations()) != 1 {
		t.Fatalf("ListInvitations = %v, %v", invs, err)
	}
	acc, err := e.client.AcceptInvitation(guestCtx, &authv1.AcceptInvitationRequest{Token: inv.GetToken()})
	if err != nil || acc.GetMembership().GetOrganizationId() != org.GetId() || acc.GetMembership().GetRole() != authv1.Role_ROLE_MEMBER {
		t.Fatalf("AcceptInvitation = %v, %v", acc, err)
	}

	set, err := e.client.SetProjectRole(ownerCtx, &authv1.SetProjectRoleRequest{ProjectId: project.ID.String(), UserId: guestP.UserID, Role: authv1.Role_ROLE_VIEWER})
	if err != nil || set.GetMember().GetProjectRoles()[project.ID.String()] != authv1.Role_ROLE_VIEWER {
		t.Fatalf("SetProjectRole = %v, %v", set, err)
	}
	upd, err := e.client.UpdateMemberRole(ownerCtx, &authv1.UpdateMemberRoleRequest{OrganizationId: org.GetId(), UserId: guestP.UserID, Role: authv1.Role_ROLE_ADMIN})
	if err != nil || upd.GetMember().GetRole() != authv1.Role_ROLE_ADMIN || upd.GetMember().GetUser().GetEmail() != guestP.Email {
		t.Fatalf("UpdateMemberRole = %v, %v", upd, err)
	}
	ms, err := e.client.ListMembers(guestCtx, &authv1.ListMembersRequest{OrganizationId: org.GetId()})
	if err != nil || len(ms.GetMembers()) != 2 || ms.GetMembers()[0].GetRole() != authv1.Role_ROLE_OWNER || ms.GetMembers()[1].GetJoinedAt() == nil {
		t.Fatalf("ListMembers = %v, %v", ms, err)
	}

	// Refusals reach the caller with the right codes.
	_, err = e.client.UpdateMemberRole(guestCtx, &authv1.UpdateMemberRoleRequest{OrganizationId: org.GetId(), UserId: guestP.UserID, Role: authv1.Role_ROLE_OWNER})
	wantCode(t, err, codes.PermissionDenied)
	_, err = e.client.RemoveMember(ownerCtx, &authv1.RemoveMemberRequest{OrganizationId: org.GetId(), UserId: ownerP.UserID})
	wantCode(t, err, codes.FailedPrecondition)
	_, err = e.client.AcceptInvitation(guestCtx, &authv1.AcceptInvitationRequest{Token: inv.GetToken()})
	wantCode(t, err, codes.FailedPrecondition)
	_, err = e.client.RevokeInvitation(ownerCtx, &authv1.RevokeInvitationRequest{InvitationId: inv.GetInvitation().GetId()})
	wantCode(t, err, codes.FailedPrecondition)
	_, err = e.client.CreateOrganization(guestCtx, &authv1.CreateOrganizationRequest{Name: org.GetName()})
	wantCode(t, err, codes.AlreadyExists)
	other, err := e.client.CreateInvitation(ownerCtx, &authv1.CreateInvitationRequest{OrganizationId: org.GetId(), Email: "third@example.com", Role: authv1.Role_ROLE_VIEWER})
	if err != nil {
		t.Fatal(err)
	}
	_, err = e.client.AcceptInvitation(guestCtx, &authv1.AcceptInvitationRequest{Token: other.GetToken()})
	wantCode(t, err, codes.PermissionDenied)
	token, _, err := identity.NewInvitationToken()
	if err != nil {
		t.Fatal(err)
	}
	_, err = e.client.AcceptInvitation(guestCtx, &authv1.AcceptInvitationRequest{Token: token})
	wantCode(t, err, codes.NotFound)
	rev, err := e.client.RevokeInvitation(ownerCtx, &authv1.RevokeInvitationRequest{InvitationId: other.GetInvitation().GetId()})
	if err != nil || rev.GetInvitation().GetRevokedAt() == nil {
		t.Fatalf("RevokeInvitation = %v, %v", rev, err)
	}

	// An outsider learns nothing.
	outCtx, _ := e.newUser(t, "")
	_, err = e.client.ListMembers(outCtx, &authv1.ListMembersRequest{OrganizationId: org.GetId()})
	wantCode(t, err, codes.NotFound)

	if _, err := e.client.RemoveMember(ownerCtx, &authv1.RemoveMemberRequest{OrganizationId: org.GetId(), UserId: guestP.UserID}); err != nil {
		t.Fatal(err)
	}
	_, err = e.client.ListMembers(guestCtx, &authv1.ListMembersRequest{OrganizationId: org.GetId()})
	wantCode(t, err, codes.NotFound)
}

func TestMalformedRequests(t *testing.T) {
	e := newEnv(t)
	ctx, _ := e.newUser(t, uuid.NewString())
	calls := []struct {
		field string
		call  func() error
	}{
		{"organization_id", func() error {
			_, err := e.client.ListMembers(ctx, &authv1.ListMembersRequest{OrganizationId: "nope"})
			return err
		}},
		{"organization_id", func() error {
			_, err := e.client.ListInvitations(ctx, &authv1.ListInvitationsRequest{OrganizationId: "1"})
			return err
		}},
		{"organization_id", func() error {
			_, err := e.client.UpdateMemberRole(ctx, &authv1.UpdateMemberRoleRequest{OrganizationId: "x", UserId: uuid.NewString(), Role: authv1.Role_ROLE_VIEWER})
			return err
		}},
		{"user_id", func() error {
			_, err := e.client.UpdateMemberRole(ctx, &authv1.UpdateMemberRoleRequest{UserId: "x", Role: authv1.Role_ROLE_VIEWER})
			return err
		}},
		{"role", func() error {
			_, err := e.client.UpdateMemberRole(ctx, &authv1.UpdateMemberRoleRequest{UserId: uuid.NewString()})
			return err
		}},
		{"organization_id", func() error {
			_, err := e.client.RemoveMember(ctx, &authv1.RemoveMemberRequest{OrganizationId: "x", UserId: uuid.NewString()})
			return err
		}},
		{"user_id", func() error {
			_, err := e.client.RemoveMember(ctx, &authv1.RemoveMemberRequest{})
			return err
		}},
		{"project_id", func() error {
			_, err := e.client.SetProjectRole(ctx, &authv1.SetProjectRoleRequest{ProjectId: "x", UserId: uuid.NewString()})
			return err
		}},
		{"user_id", func() error {
			_, err := e.client.SetProjectRole(ctx, &authv1.SetProjectRoleRequest{ProjectId: uuid.NewString(), UserId: "x"})
			return err
		}},
		{"organization_id", func() error {
			_, err := e.client.CreateInvitation(ctx, &authv1.CreateInvitationRequest{OrganizationId: "x", Email: "a@b.c", Role: authv1.Role_ROLE_VIEWER})
			return err
		}},
		{"email", func() error {
			_, err := e.client.CreateInvitation(ctx, &authv1.CreateInvitationRequest{Email: "a", Role: authv1.Role_ROLE_VIEWER})
			return err
		}},
		{"invitation_id", func() error {
			_, err := e.client.RevokeInvitation(ctx, &authv1.RevokeInvitationRequest{InvitationId: "x"})
			return err
		}},
		{"token", func() error {
			_, err := e.client.AcceptInvitation(ctx, &authv1.AcceptInvitationRequest{Token: "hunter2"})
			return err
		}},
		{"name", func() error {
			_, err := e.client.CreateOrganization(ctx, &authv1.CreateOrganizationRequest{})
			return err
		}},
	}
	for _, tc := range calls {
		t.Run(tc.field, func(t *testing.T) {
			err := tc.call()
			wantCode(t, err, codes.InvalidArgument)
			for _, d := range status.Convert(err).Details() {
				if br, ok := d.(*errdetails.BadRequest); ok && len(br.GetFieldViolations()) == 1 && br.GetFieldViolations()[0].GetField() == tc.field {
					return
				}
			}
			t.Fatalf("%v names no field %q", err, tc.field)
		})
	}
}

func TestCallersThatAreNotUsers(t *testing.T) {
	e := newEnv(t)
	e.users["key"] = authn.Principal{Kind: authn.KindAPIKey, KeyID: uuid.NewString(), OrganizationID: uuid.NewString(), ProjectID: uuid.NewString()}
	e.users["bad"] = authn.Principal{Kind: authn.KindUser, UserID: "not-a-uuid"}
	keyCtx := metadata.AppendToOutgoingContext(context.Background(), testUserKey, "key")
	_, err := e.client.ListOrganizations(keyCtx, &authv1.ListOrganizationsRequest{})
	wantCode(t, err, codes.PermissionDenied)
	_, err = e.client.ListOrganizations(context.Background(), &authv1.ListOrganizationsRequest{})
	wantCode(t, err, codes.Unauthenticated)
	badCtx := metadata.AppendToOutgoingContext(context.Background(), testUserKey, "bad")
	_, err = e.client.ListOrganizations(badCtx, &authv1.ListOrganizationsRequest{})
	wantCode(t, err, codes.Internal)
	if msg := status.Convert(err).Message(); msg != "internal error" {
		t.Fatalf("internal error detail leaked: %q", msg)
	}
}
