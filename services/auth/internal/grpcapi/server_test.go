package grpcapi_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/encoding/prototext"

	"github.com/agenttrace/agenttrace/pkg/authn"
	authv1 "github.com/agenttrace/agenttrace/pkg/gen/agenttrace/auth/v1"
	"github.com/agenttrace/agenttrace/services/auth/internal/grpcapi"
	"github.com/agenttrace/agenttrace/services/auth/internal/tenancy"
)

func wantCode(t *testing.T, err error, want codes.Code) {
	t.Helper()
	if got := status.Code(err); got != want {
		t.Fatalf("code = %v (%v), want %v", got, err, want)
	}
}

func wantField(t *testing.T, err error, field string) {
	t.Helper()
	wantCode(t, err, codes.InvalidArgument)
	for _, d := range status.Convert(err).Details() {
		if br, ok := d.(*errdetails.BadRequest); ok {
			for _, v := range br.GetFieldViolations() {
				if v.GetField() == field {
					return
				}
			}
		}
	}
	t.Fatalf("error %v names no field %q", err, field)
}

func TestEveryRPCNeedsCredentials(t *testing.T) {
	e := newEnv(t, envOptions{})
	tn := e.newTenant(t)
	calls := map[string]func(ctx context.Context) error{
		"CreateProject": func(ctx context.Context) error {
			_, err := e.client.CreateProject(ctx, &authv1.CreateProjectRequest{Name: "x"})
			return err
		},
		"ListProjects": func(ctx context.Context) error {
			_, err := e.client.ListProjects(ctx, &authv1.ListProjectsRequest{})
			return err
		},
		"CreateAPIKey": func(ctx context.Context) error {
			_, err := e.client.CreateAPIKey(ctx, &authv1.CreateAPIKeyRequest{})
			return err
		},
		"ListAPIKeys": func(ctx context.Context) error {
			_, err := e.client.ListAPIKeys(ctx, &authv1.ListAPIKeysRequest{})
			return err
		},
		"RevokeAPIKey": func(ctx context.Context) error {
			_, err := e.client.RevokeAPIKey(ctx, &authv1.RevokeAPIKeyRequest{KeyId: tn.keyID})
			return err
		},
	}
	bad := map[string]context.Context{
		"none":          context.Background(),
		"malformed":     bearer(""),
		"wrong secret":  as(tn.pk, "sk-at-"+strings.Repeat("A", 42)+"E"),
		"wrong public":  as("pk-at-"+strings.Repeat("a", 26), tn.sk),
		"not a key":     bearer("hunter2"),
		"public as key": bearer(tn.pk),
	}
	for name, call := range calls {
		for how, ctx := range bad {
			t.Run(name+"/"+how, func(t *testing.T) { wantCode(t, call(ctx), codes.Unauthenticated) })
		}
	}
	// The key still works: nothing above revoked it.
	if _, err := e.client.ListProjects(tn.ctx(), &authv1.ListProjectsRequest{}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.client.ListProjects(bearer(tn.sk), &authv1.ListProjectsRequest{}); err != nil {
		t.Fatalf("Bearer: %v", err)
	}
}

func TestProjects(t *testing.T) {
	e := newEnv(t, envOptions{})
	a, b := e.newTenant(t), e.newTenant(t)

	resp, err := e.client.CreateProject(a.ctx(), &authv1.CreateProjectRequest{Name: "  checkout  "})
	if err != nil {
		t.Fatal(err)
	}
	p := resp.GetProject()
	if p.GetName() != "checkout" || p.GetOrganizationId() != a.orgID || uuid.Validate(p.GetId()) != nil || p.GetCreatedAt() == nil {
		t.Fatalf("created project %v", p)
	}
	_, err = e.client.CreateProject(a.ctx(), &authv1.CreateProjectRequest{Name: "checkout"})
	wantCode(t, err, codes.AlreadyExists)
	_, err = e.client.CreateProject(a.ctx(), &authv1.CreateProjectRequest{Name: " "})
	wantField(t, err, "name")
	_, err = e.client.CreateProject(a.ctx(), &authv1.CreateProjectRequest{Name: strings.Repeat("x", 201)})
	wantField(t, err, "name")
	// Names are per organization.
	if _, err := e.client.CreateProject(b.ctx(), &authv1.CreateProjectRequest{Name: "checkout"}); err != nil {
		t.Fatalf("same name in another organization: %v", err)
	}

	list, err := e.client.ListProjects(a.ctx(), &authv1.ListProjectsRequest{})
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, p := range list.GetProjects() {
		if p.GetOrganizationId() != a.orgID {
			t.Fatalf("ListProjects of A shows %v", p)
		}
		names = append(names, p.GetName())
	}
	if strings.Join(names, ",") != "default,checkout" {
		t.Fatalf("ListProjects of A = %v, want default, checkout", names)
	}
}

func TestCreateAndListAPIKeys(t *testing.T) {
	e := newEnv(t, envOptions{})
	a, b := e.newTenant(t), e.newTenant(t)
	other, err := e.client.CreateProject(a.ctx(), &authv1.CreateProjectRequest{Name: "other"})
	if err != nil {
		t.Fatal(err)
	}

	// Default project: the caller's.
	created, err := e.client.CreateAPIKey(a.ctx(), &authv1.CreateAPIKeyRequest{Note: "ci"})
	if err != nil {
		t.Fatal(err)
	}
	k := created.GetApiKey()
	sk := created.GetSecretKey()
	if k.GetProjectId() != a.projectID || k.GetNote() != "ci" || !strings.HasPrefix(k.GetPublicKey(), "pk-at-") ||
		!strings.HasPrefix(sk, "sk-at-") || k.GetSecretHint() != "sk-at-..."+sk[len(sk)-4:] || k.GetRevokedAt() != nil {
		t.Fatalf("created key %v", created)
	}
	// The new key works at once, for the project it was made for.
	v, err := e.client.ValidateAPIKey(context.Background(), &authv1.ValidateAPIKeyRequest{PublicKey: k.GetPublicKey(), SecretKey: sk})
	if err != nil || v.GetProjectId() != a.projectID || v.GetOrganizationId() != a.orgID || v.GetKeyId() != k.GetId() {
		t.Fatalf("ValidateAPIKey of the new key = %v, %v", v, err)
	}

	// Another project of the same organization.
	inOther, err := e.client.CreateAPIKey(a.ctx(), &authv1.CreateAPIKeyRequest{ProjectId: other.GetProject().GetId()})
	if err != nil || inOther.GetApiKey().GetProjectId() != other.GetProject().GetId() {
		t.Fatalf("key in another project of the organization = %v, %v", inOther, err)
	}

	_, err = e.client.CreateAPIKey(a.ctx(), &authv1.CreateAPIKeyRequest{ProjectId: "not-a-uuid"})
	wantField(t, err, "project_id")
	_, err = e.client.CreateAPIKey(a.ctx(), &authv1.CreateAPIKeyRequest{Note: strings.Repeat("n", 1001)})
	wantField(t, err, "note")
	_, err = e.client.CreateAPIKey(a.ctx(), &authv1.CreateAPIKeyRequest{ProjectId: uuid.NewString()})
	wantCode(t, err, codes.NotFound)

	list, err := e.client.ListAPIKeys(a.ctx(), &authv1.ListAPIKeysRequest{})
	if err != nil {
		t.Fatal(err)
	}
	if n := len(list.GetApiKeys()); n != 2 || list.GetApiKeys()[0].GetId() != a.keyID || list.GetApiKeys()[1].GetId() != k.GetId() {
		t.Fatalf("ListAPIKeys = %v, want the bootstrap key and the new one", list)
	}
	// Secrets are shown once: a listing holds no trace of them.
	text := prototext.Format(list)
	for _, secret := range []string{a.sk, sk, a.sk[6:20], sk[6:20]} {
		if strings.Contains(text, secret) {
			t.Fatalf("ListAPIKeys shows a secret: %s", text)
		}
	}
	otherList, err := e.client.ListAPIKeys(a.ctx(), &authv1.ListAPIKeysRequest{ProjectId: other.GetProject().GetId()})
	if err != nil || len(otherList.GetApiKeys()) != 1 {
		t.Fatalf("ListAPIKeys(other) = %v, %v", otherList, err)
	}
	_, err = e.client.ListAPIKeys(a.ctx(), &authv1.ListAPIKeysRequest{ProjectId: "nope"})
	wantField(t, err, "project_id")

	// B's default listing is B's alone.
	bl, err := e.client.ListAPIKeys(b.ctx(), &authv1.ListAPIKeysRequest{})
	if err != nil || len(bl.GetApiKeys()) != 1 || bl.GetApiKeys()[0].GetId() != b.keyID {
		t.Fatalf("ListAPIKeys of B = %v, %v", bl, err)
	}
}

// TestCrossOrganizationIsolation: a key of organization A can neither see
// nor change anything of organization B, even knowing B's ids, and cannot
// tell B's ids from ids that do not exist.
func TestCrossOrganizationIsolation(t *testing.T) {
	e := newEnv(t, envOptions{})
	a, b := e.newTenant(t), e.newTenant(t)
	bSecond, err := e.client.CreateProject(b.ctx(), &authv1.CreateProjectRequest{Name: "second"})
	if err != nil {
		t.Fatal(err)
	}
	unknown := uuid.NewString()

	for _, projectID := range []string{b.projectID, bSecond.GetProject().GetId(), unknown} {
		_, err := e.client.CreateAPIKey(a.ctx(), &authv1.CreateAPIKeyRequest{ProjectId: projectID})
		wantCode(t, err, codes.NotFound)
		_, err = e.client.ListAPIKeys(a.ctx(), &authv1.ListAPIKeysRequest{ProjectId: projectID})
		wantCode(t, err, codes.NotFound)
	}
	var msgs []string
	for _, keyID := range []string{b.keyID, unknown} {
		_, err := e.client.RevokeAPIKey(a.ctx(), &authv1.RevokeAPIKeyRequest{KeyId: keyID})
		wantCode(t, err, codes.NotFound)
		msgs = append(msgs, strings.ReplaceAll(status.Convert(err).Message(), keyID, "ID"))
	}
	if msgs[0] != msgs[1] {
		t.Fatalf("another organization's key is told apart from a missing one: %q vs %q", msgs[0], msgs[1])
	}
	list, err := e.client.ListProjects(a.ctx(), &authv1.ListProjectsRequest{})
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range list.GetProjects() {
		if p.GetOrganizationId() != a.orgID {
			t.Fatalf("A sees project %v", p)
		}
	}

	// B is untouched: its key works and its projects have only its keys.
	if _, err := e.client.ValidateAPIKey(context.Background(), &authv1.ValidateAPIKeyRequest{PublicKey: b.pk, SecretKey: b.sk}); err != nil {
		t.Fatalf("B's key after A's attempts: %v", err)
	}
	for _, projectID := range []string{b.projectID, bSecond.GetProject().GetId()} {
		keys, err := e.client.ListAPIKeys(b.ctx(), &authv1.ListAPIKeysRequest{ProjectId: projectID})
		if err != nil {
			t.Fatal(err)
		}
		for _, k := range keys.GetApiKeys() {
			if k.GetId() != b.keyID {
				t.Fatalf("A created key %v in B's project", k)
			}
		}
	}
	// A's key does not open B's data when presented with B's public key.
	_, err = e.client.ListProjects(as(b.pk, a.sk), &authv1.ListProjectsRequest{})
	wantCode(t, err, codes.Unauthenticated)
}

func TestRevokeAPIKey(t *testing.T) {
	e := newEnv(t, envOptions{})
	a := e.newTenant(t)
	extra, err := e.client.CreateAPIKey(a.ctx(), &authv1.CreateAPIKeyRequest{Note: "to revoke"})
	if err != nil {
		t.Fatal(err)
	}
	ek, esk := extra.GetApiKey(), extra.GetSecretKey()
	// Warm the interceptor's cache with the key about to be revoked.
	if _, err := e.client.ListProjects(as(ek.GetPublicKey(), esk), &authv1.ListProjectsRequest{}); err != nil {
		t.Fatal(err)
	}

	_, err = e.client.RevokeAPIKey(a.ctx(), &authv1.RevokeAPIKeyRequest{})
	wantField(t, err, "key_id")
	_, err = e.client.RevokeAPIKey(a.ctx(), &authv1.RevokeAPIKeyRequest{KeyId: "x"})
	wantField(t, err, "key_id")

	first, err := e.client.RevokeAPIKey(a.ctx(), &authv1.RevokeAPIKeyRequest{KeyId: ek.GetId()})
	if err != nil || first.GetApiKey().GetRevokedAt() == nil || first.GetApiKey().GetId() != ek.GetId() {
		t.Fatalf("RevokeAPIKey = %v, %v", first, err)
	}
	// Revoked means revoked at once, the cache notwithstanding.
	_, err = e.client.ListProjects(as(ek.GetPublicKey(), esk), &authv1.ListProjectsRequest{})
	wantCode(t, err, codes.Unauthenticated)
	_, err = e.client.ValidateAPIKey(context.Background(), &authv1.ValidateAPIKeyRequest{PublicKey: ek.GetPublicKey(), SecretKey: esk})
	wantCode(t, err, codes.Unauthenticated)

	again, err := e.client.RevokeAPIKey(a.ctx(), &authv1.RevokeAPIKeyRequest{KeyId: ek.GetId()})
	if err != nil || !again.GetApiKey().GetRevokedAt().AsTime().Equal(first.GetApiKey().GetRevokedAt().AsTime()) {
		t.Fatalf("second revoke = %v, %v; want the same revoked_at", again, err)
	}

	// A key may revoke itself; its next call fails.
	if _, err := e.client.RevokeAPIKey(a.ctx(), &authv1.RevokeAPIKeyRequest{KeyId: a.keyID}); err != nil {
		t.Fatal(err)
	}
	_, err = e.client.ListProjects(a.ctx(), &authv1.ListProjectsRequest{})
	wantCode(t, err, codes.Unauthenticated)
}

// TestRevocationReachesOtherServices: another service validating through
// auth with its own cache (authn.NewRemote + NewCache +
// SubscribeInvalidations) stops honouring a key within a second of its
// revocation.
func TestRevocationReachesOtherServices(t *testing.T) {
	e := newEnv(t, envOptions{})
	a := e.newTenant(t)
	victim, err := e.client.CreateAPIKey(a.ctx(), &authv1.CreateAPIKeyRequest{})
	if err != nil {
		t.Fatal(err)
	}
	creds := authn.Request{Authorization: "Basic " + base64.StdEncoding.EncodeToString([]byte(victim.GetApiKey().GetPublicKey()+":"+victim.GetSecretKey()))}

	remoteCache := authn.NewCache(authn.NewRemote(e.conn), time.Hour)
	otherNC := connectNATS(t)
	sub, err := authn.SubscribeInvalidations(otherNC, remoteCache)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := sub.Unsubscribe(); err != nil {
			t.Errorf("unsubscribe: %v", err)
		}
	})
	if err := otherNC.Flush(); err != nil {
		t.Fatal(err)
	}
	if _, err := remoteCache.Authenticate(context.Background(), creds); err != nil {
		t.Fatal(err)
	}
	if _, err := e.client.RevokeAPIKey(a.ctx(), &authv1.RevokeAPIKeyRequest{KeyId: victim.GetApiKey().GetId()}); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(time.Second)
	for {
		_, err := remoteCache.Authenticate(context.Background(), creds)
		if err != nil {
			if !errors.Is(err, authn.ErrInvalidCredentials) {
				t.Fatalf("after revocation: %v, want ErrInvalidCredentials", err)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the other service still honours the key a second after revocation")
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestValidateAPIKey(t *testing.T) {
	e := newEnv(t, envOptions{})
	a, b := e.newTenant(t), e.newTenant(t)
	tests := []struct {
		name     string
		req      *authv1.ValidateAPIKeyRequest
		wantCode codes.Code
		want     tenant
	}{
		{name: "basic pair", req: &authv1.ValidateAPIKeyRequest{PublicKey: a.pk, SecretKey: a.sk}, want: a},
		{name: "bearer secret", req: &authv1.ValidateAPIKeyRequest{SecretKey: b.sk}, want: b},
		{name: "mixed pair", req: &authv1.ValidateAPIKeyRequest{PublicKey: b.pk, SecretKey: a.sk}, wantCode: codes.Unauthenticated},
		{name: "empty", req: &authv1.ValidateAPIKeyRequest{}, wantCode: codes.Unauthenticated},
		{name: "garbage", req: &authv1.ValidateAPIKeyRequest{SecretKey: "' OR 1=1 --"}, wantCode: codes.Unauthenticated},
		{name: "well formed, unknown", req: &authv1.ValidateAPIKeyRequest{SecretKey: "sk-at-" + strings.Repeat("A", 42) + "E"}, wantCode: codes.Unauthenticated},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// No credentials on the call itself: ValidateAPIKey is public.
			resp, err := e.client.ValidateAPIKey(context.Background(), tt.req)
			wantCode(t, err, tt.wantCode)
			if tt.wantCode != codes.OK {
				return
			}
			if resp.GetKeyId() != tt.want.keyID || resp.GetProjectId() != tt.want.projectID ||
				resp.GetOrganizationId() != tt.want.orgID || resp.GetPublicKey() != tt.want.pk {
				t.Fatalf("ValidateAPIKey = %v, want %+v", resp, tt.want)
			}
		})
	}
}

func TestLastUsedAt(t *testing.T) {
	e := newEnv(t, envOptions{flushLag: 20 * time.Millisecond})
	a := e.newTenant(t)
	before := time.Now().Add(-time.Second)
	if _, err := e.client.ValidateAPIKey(context.Background(), &authv1.ValidateAPIKeyRequest{SecretKey: a.sk}); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		list, err := e.client.ListAPIKeys(a.ctx(), &authv1.ListAPIKeysRequest{})
		if err != nil {
			t.Fatal(err)
		}
		if lu := list.GetApiKeys()[0].GetLastUsedAt(); lu != nil {
			if lu.AsTime().Before(before) {
				t.Fatalf("last_used_at %v is before the use", lu.AsTime())
			}
			return
		}
		if time.Now().After(deadline) {
			t.Fatal("last_used_at never set")
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// A revocation that cannot be announced fails with Unavailable; the key is
// revoked regardless, and a retry once NATS is back succeeds.
func TestRevokeWhenAnnouncementFails(t *testing.T) {
	nc := connectNATS(t)
	e := newEnv(t, envOptions{nc: nc})
	a := e.newTenant(t)
	victim, err := e.client.CreateAPIKey(a.ctx(), &authv1.CreateAPIKeyRequest{})
	if err != nil {
		t.Fatal(err)
	}
	nc.Close()
	_, err = e.client.RevokeAPIKey(a.ctx(), &authv1.RevokeAPIKeyRequest{KeyId: victim.GetApiKey().GetId()})
	wantCode(t, err, codes.Unavailable)
	_, err = e.client.ValidateAPIKey(context.Background(), &authv1.ValidateAPIKeyRequest{SecretKey: victim.GetSecretKey()})
	wantCode(t, err, codes.Unauthenticated)
}

// failingStore breaks every call the way a bug would (not an outage).
type failingStore struct {
	tenancy.Store
	err error
}

func (f failingStore) ListProjects(context.Context, uuid.UUID) ([]tenancy.Project, error) {
	return nil, f.err
}

func TestInternalErrorsAreNotLeaked(t *testing.T) {
	var logs syncBuffer
	detail := status.Error(codes.Internal, "relation \"projects\" has secret detail").Error()
	base := newEnv(t, envOptions{})
	a := base.newTenant(t)
	e := newEnv(t, envOptions{store: failingStore{Store: base.store, err: errString(detail)}, logTo: &logs})
	_, err := e.client.ListProjects(a.ctx(), &authv1.ListProjectsRequest{})
	wantCode(t, err, codes.Internal)
	if msg := status.Convert(err).Message(); strings.Contains(msg, "secret detail") {
		t.Fatalf("internal detail returned to the caller: %q", msg)
	}
	if !strings.Contains(logs.String(), "secret detail") {
		t.Fatalf("internal detail not logged: %q", logs.String())
	}
	if strings.Contains(logs.String(), a.sk) {
		t.Fatal("a secret was logged")
	}
}

func TestUnavailableStore(t *testing.T) {
	base := newEnv(t, envOptions{})
	a := base.newTenant(t)
	e := newEnv(t, envOptions{store: failingStore{Store: base.store, err: tenancy.ErrUnavailable}})
	_, err := e.client.ListProjects(a.ctx(), &authv1.ListProjectsRequest{})
	wantCode(t, err, codes.Unavailable)
}

// A handler reached without the interceptor (a wiring bug) refuses.
func TestHandlerWithoutPrincipal(t *testing.T) {
	srv := grpcapi.New(tenancy.NewService(tenancy.Config{}), nil)
	_, err := srv.ListProjects(context.Background(), &authv1.ListProjectsRequest{})
	wantCode(t, err, codes.Unauthenticated)
	ctx := authn.WithPrincipal(context.Background(), authn.Principal{OrganizationID: "x", ProjectID: "y"})
	_, err = (grpcapi.New(tenancy.NewService(tenancy.Config{}), discardLogger())).ListProjects(ctx, &authv1.ListProjectsRequest{})
	wantCode(t, err, codes.Internal)
}

type errString string

func (e errString) Error() string { return string(e) }

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
