package settingsapi_test

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/google/uuid"
	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/encoding/prototext"
	"google.golang.org/protobuf/proto"

	authv1 "github.com/agenttrace/agenttrace/pkg/gen/agenttrace/auth/v1"
	"github.com/agenttrace/agenttrace/pkg/secretbox"
	"github.com/agenttrace/agenttrace/services/auth/internal/audit"
)

const plainKey = "sk-proj-PLAINTEXTKEY0123456789abcdefWXYZ"

func TestLLMConnectionLifecycle(t *testing.T) {
	e := newEnv(t)
	a := e.newTenant(t)
	ctx := a.ctx()

	created, err := e.srv.CreateLLMConnection(ctx, &authv1.CreateLLMConnectionRequest{
		Provider: " OpenAI ", Name: "prod", BaseUrl: "https://api.openai.com/v1", ApiKey: plainKey,
	})
	if err != nil {
		t.Fatal(err)
	}
	c := created.GetConnection()
	if c.GetProvider() != "openai" || c.GetName() != "prod" || c.GetProjectId() != a.project.String() ||
		c.GetApiKeyHint() != "sk-...WXYZ" || c.GetCreatedAt() == nil {
		t.Fatalf("created = %v", c)
	}
	id := uuid.MustParse(c.GetId())

	// The stored ciphertext is not the key and opens only bound to its row.
	var sealed []byte
	var storedHint string
	if err := e.pool.QueryRow(context.Background(),
		`SELECT api_key_ciphertext, api_key_hint FROM llm_connections WHERE id = $1`, id).Scan(&sealed, &storedHint); err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(sealed, []byte(plainKey)) || bytes.Contains(sealed, []byte("PLAINTEXTKEY")) || storedHint != "sk-...WXYZ" {
		t.Fatalf("stored key is not sealed: %q / %q", sealed, storedHint)
	}
	plain, err := e.box.Open(sealed, []byte("llm_connection:"+id.String()+":api_key"))
	if err != nil || string(plain) != plainKey {
		t.Fatalf("Open with the row's AAD = %q, %v", plain, err)
	}
	if _, err := e.box.Open(sealed, []byte("llm_connection:"+uuid.NewString()+":api_key")); !errors.Is(err, secretbox.ErrOpen) {
		t.Fatalf("Open bound to another row: %v, want ErrOpen", err)
	}
	if got, err := e.svc.ConnectionAPIKey(ctx, id); err != nil || got != plainKey {
		t.Fatalf("ConnectionAPIKey = %q, %v", got, err)
	}

	// The same name again in the project is taken, and leaves no record.
	_, err = e.srv.CreateLLMConnection(ctx, &authv1.CreateLLMConnectionRequest{Provider: "anthropic", Name: "prod", ApiKey: "other-key-123"})
	wantCode(t, err, codes.AlreadyExists)
	if n := e.auditRows(t, a.org, audit.ActionLLMConnectionCreate); n != 1 {
		t.Fatalf("%d create records, want 1 (the failed create must leave none)", n)
	}

	newKey := "sk-ant-NEWPLAINTEXT-9876543210zyxw"
	name, url := "prod-eu", "http://llm.internal:8080/"
	updated, err := e.srv.UpdateLLMConnection(ctx, &authv1.UpdateLLMConnectionRequest{
		Id: id.String(), Name: &name, BaseUrl: &url, ApiKey: &newKey,
	})
	if err != nil {
		t.Fatal(err)
	}
	u := updated.GetConnection()
	if u.GetName() != name || u.GetBaseUrl() != url || u.GetProvider() != "openai" || u.GetApiKeyHint() != "sk-...zyxw" ||
		!u.GetUpdatedAt().AsTime().After(c.GetCreatedAt().AsTime()) && !u.GetUpdatedAt().AsTime().Equal(c.GetCreatedAt().AsTime()) {
		t.Fatalf("updated = %v", u)
	}
	if got, err := e.svc.ConnectionAPIKey(ctx, id); err != nil || got != newKey {
		t.Fatalf("key after update = %q, %v", got, err)
	}
	// Leaving the key out keeps it.
	provider := "azure-openai"
	if _, err := e.srv.UpdateLLMConnection(ctx, &authv1.UpdateLLMConnectionRequest{Id: id.String(), Provider: &provider}); err != nil {
		t.Fatal(err)
	}
	if got, _ := e.svc.ConnectionAPIKey(ctx, id); got != newKey {
		t.Fatalf("key changed by an update without one: %q", got)
	}

	list, err := e.srv.ListLLMConnections(ctx, &authv1.ListLLMConnectionsRequest{})
	if err != nil || len(list.GetConnections()) != 1 || list.GetConnections()[0].GetProvider() != provider {
		t.Fatalf("list = %v, %v", list, err)
	}

	if _, err := e.srv.DeleteLLMConnection(ctx, &authv1.DeleteLLMConnectionRequest{Id: id.String()}); err != nil {
		t.Fatal(err)
	}
	_, err = e.srv.DeleteLLMConnection(ctx, &authv1.DeleteLLMConnectionRequest{Id: id.String()})
	wantCode(t, err, codes.NotFound)
	list, err = e.srv.ListLLMConnections(ctx, &authv1.ListLLMConnectionsRequest{ProjectId: a.project.String()})
	if err != nil || len(list.GetConnections()) != 0 {
		t.Fatalf("list after delete = %v, %v", list, err)
	}

	// Every change is audited, and no record holds a key.
	for action, want := range map[string]int{
		audit.ActionLLMConnectionCreate: 1, audit.ActionLLMConnectionUpdate: 2, audit.ActionLLMConnectionDelete: 1,
	} {
		if n := e.auditRows(t, a.org, action); n != want {
			t.Errorf("%s: %d records, want %d", action, n, want)
		}
	}
	var dump string
	if err := e.pool.QueryRow(context.Background(),
		`SELECT coalesce(string_agg(details::text || actor_label || target_id, ' '), '') FROM audit_events WHERE organization_id = $1`, a.org).Scan(&dump); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{plainKey, newKey, "PLAINTEXT"} {
		if strings.Contains(dump, k) {
			t.Fatalf("an audit record holds the key: %s", dump)
		}
	}
	// Responses never carry the key.
	for _, m := range []proto.Message{created, updated, list} {
		if s := prototext.Format(m); strings.Contains(s, "PLAINTEXT") {
			t.Fatalf("a response holds the key: %s", s)
		}
	}
}

// TestKeyNeverInErrorsOrLogs drives every failure path that sees a key and
// checks neither the returned error nor the logs show it.
func TestKeyNeverInErrorsOrLogs(t *testing.T) {
	e := newEnv(t)
	a := e.newTenant(t)
	ctx := a.ctx()
	const secret = "sk-LEAKCHECK-abcdefghijklmnop"
	if _, err := e.srv.CreateLLMConnection(ctx, &authv1.CreateLLMConnectionRequest{Provider: "openai", Name: "dup", ApiKey: secret}); err != nil {
		t.Fatal(err)
	}
	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	badKeys := []string{secret + " with space", secret + "\x00", strings.Repeat(secret, 200)}
	var errs []error
	for _, k := range badKeys {
		_, err := e.srv.CreateLLMConnection(ctx, &authv1.CreateLLMConnectionRequest{Provider: "openai", Name: "x", ApiKey: k})
		wantCode(t, err, codes.InvalidArgument)
		errs = append(errs, err)
	}
	_, err := e.srv.CreateLLMConnection(ctx, &authv1.CreateLLMConnectionRequest{Provider: "openai", Name: "dup", ApiKey: secret})
	wantCode(t, err, codes.AlreadyExists)
	errs = append(errs, err)
	_, err = e.srv.CreateLLMConnection(ctx, &authv1.CreateLLMConnectionRequest{Provider: "nope", Name: "y", ApiKey: secret})
	wantCode(t, err, codes.InvalidArgument)
	errs = append(errs, err)
	_, err = e.srv.CreateLLMConnection(ctx, &authv1.CreateLLMConnectionRequest{Provider: "openai", Name: "y", ApiKey: secret, BaseUrl: "https://user:" + secret + "@host"})
	wantCode(t, err, codes.InvalidArgument)
	errs = append(errs, err)
	_, err = e.srv.CreateLLMConnection(cancelled, &authv1.CreateLLMConnectionRequest{Provider: "openai", Name: "z", ApiKey: secret})
	wantCode(t, err, codes.Canceled)
	errs = append(errs, err)
	// A database failure is logged in full: the log must still not hold it.
	broken := newEnv(t)
	broken.pool.Close()
	_, err = broken.srv.CreateLLMConnection(ctx, &authv1.CreateLLMConnectionRequest{Provider: "openai", Name: "w", ApiKey: secret})
	if err == nil {
		t.Fatal("create on a closed pool succeeded")
	}
	errs = append(errs, err)
	for _, err := range errs {
		if strings.Contains(err.Error(), "LEAKCHECK") {
			t.Fatalf("an error shows the key: %v", err)
		}
	}
	for _, logs := range []string{e.logs.String(), broken.logs.String()} {
		if strings.Contains(logs, "LEAKCHECK") {
			t.Fatalf("the key was logged: %s", logs)
		}
	}
	if broken.logs.String() == "" {
		t.Fatal("the failure was not logged at all")
	}
}

func TestProjectSettings(t *testing.T) {
	e := newEnv(t)
	a := e.newTenant(t)
	got, err := e.srv.GetProjectSettings(a.ctx(), &authv1.GetProjectSettingsRequest{})
	if err != nil || got.GetSettings().GetRetentionDays() != 0 || got.GetSettings().GetProjectId() != a.project.String() {
		t.Fatalf("defaults = %v, %v", got, err)
	}
	tests := []struct {
		days int32
		want codes.Code
	}{
		{-1, codes.InvalidArgument}, {3651, codes.InvalidArgument}, {1, codes.OK}, {3650, codes.OK}, {30, codes.OK}, {0, codes.OK}, {14, codes.OK},
	}
	for _, tt := range tests {
		_, err := e.srv.UpdateProjectSettings(a.ctx(), &authv1.UpdateProjectSettingsRequest{RetentionDays: tt.days})
		wantCode(t, err, tt.want)
	}
	// A user names the project explicitly.
	got, err = e.srv.GetProjectSettings(a.userCtx(), &authv1.GetProjectSettingsRequest{ProjectId: a.project.String()})
	if err != nil || got.GetSettings().GetRetentionDays() != 14 {
		t.Fatalf("after updates = %v, %v", got, err)
	}
	_, err = e.srv.GetProjectSettings(a.userCtx(), &authv1.GetProjectSettingsRequest{})
	wantCode(t, err, codes.InvalidArgument)
	if n := e.auditRows(t, a.org, audit.ActionSettingsUpdate); n != 5 {
		t.Fatalf("%d settings records, want 5 (one per accepted update)", n)
	}
	var details map[string]string
	if err := e.pool.QueryRow(context.Background(),
		`SELECT details FROM audit_events WHERE organization_id = $1 AND action = $2 ORDER BY created_at DESC, id DESC LIMIT 1`,
		a.org, audit.ActionSettingsUpdate).Scan(&details); err != nil {
		t.Fatal(err)
	}
	if details["retention_days"] != "14" || details["previous_retention_days"] != "0" {
		t.Fatalf("last settings record details = %v", details)
	}

	// Retention policies: services only, every project with a period.
	_, err = e.srv.ListRetentionPolicies(a.ctx(), &authv1.ListRetentionPoliciesRequest{})
	wantCode(t, err, codes.PermissionDenied)
	_, err = e.srv.ListRetentionPolicies(a.userCtx(), &authv1.ListRetentionPoliciesRequest{})
	wantCode(t, err, codes.PermissionDenied)
	b := e.newTenant(t) // retention 0: not listed
	pol, err := e.srv.ListRetentionPolicies(serviceCtx("worker"), &authv1.ListRetentionPoliciesRequest{})
	if err != nil {
		t.Fatal(err)
	}
	var sawA bool
	for _, p := range pol.GetPolicies() {
		if p.GetRetentionDays() <= 0 || p.GetProjectId() == b.project.String() {
			t.Fatalf("listed a project without retention: %v", p)
		}
		sawA = sawA || (p.GetProjectId() == a.project.String() && p.GetRetentionDays() == 14)
	}
	if !sawA {
		t.Fatalf("policies %v lack project A", pol)
	}
}

// TestCrossOrganization: a caller of organization B reaches nothing of A,
// by A's ids or guessed ones, through every RPC.
func TestCrossOrganization(t *testing.T) {
	e := newEnv(t)
	a, b := e.newTenant(t), e.newTenant(t)
	if _, err := e.srv.UpdateProjectSettings(a.ctx(), &authv1.UpdateProjectSettingsRequest{RetentionDays: 7}); err != nil {
		t.Fatal(err)
	}
	created, err := e.srv.CreateLLMConnection(a.ctx(), &authv1.CreateLLMConnectionRequest{Provider: "openai", Name: "a", ApiKey: plainKey})
	if err != nil {
		t.Fatal(err)
	}
	aConn := created.GetConnection().GetId()
	name, key := "stolen", "sk-attacker-000000000000"
	for _, bctx := range []context.Context{b.ctx(), b.userCtx()} {
		for _, target := range []struct{ project, conn string }{
			{a.project.String(), aConn}, {uuid.NewString(), uuid.NewString()},
		} {
			_, err := e.srv.GetProjectSettings(bctx, &authv1.GetProjectSettingsRequest{ProjectId: target.project})
			wantCode(t, err, codes.NotFound)
			_, err = e.srv.UpdateProjectSettings(bctx, &authv1.UpdateProjectSettingsRequest{ProjectId: target.project, RetentionDays: 1})
			wantCode(t, err, codes.NotFound)
			_, err = e.srv.ListLLMConnections(bctx, &authv1.ListLLMConnectionsRequest{ProjectId: target.project})
			wantCode(t, err, codes.NotFound)
			_, err = e.srv.CreateLLMConnection(bctx, &authv1.CreateLLMConnectionRequest{ProjectId: target.project, Provider: "openai", Name: "x", ApiKey: key})
			wantCode(t, err, codes.NotFound)
			_, err = e.srv.UpdateLLMConnection(bctx, &authv1.UpdateLLMConnectionRequest{Id: target.conn, Name: &name, ApiKey: &key})
			wantCode(t, err, codes.NotFound)
			_, err = e.srv.DeleteLLMConnection(bctx, &authv1.DeleteLLMConnectionRequest{Id: target.conn})
			wantCode(t, err, codes.NotFound)
			if _, err := e.svc.ConnectionAPIKey(bctx, uuid.MustParse(target.conn)); err == nil {
				t.Fatal("B decrypted A's key")
			}
		}
	}
	// A's data is untouched and B's writes left no record in either org.
	got, err := e.srv.GetProjectSettings(a.ctx(), &authv1.GetProjectSettingsRequest{})
	if err != nil || got.GetSettings().GetRetentionDays() != 7 {
		t.Fatalf("A's settings = %v, %v", got, err)
	}
	if k, err := e.svc.ConnectionAPIKey(a.ctx(), uuid.MustParse(aConn)); err != nil || k != plainKey {
		t.Fatalf("A's key = %q, %v", k, err)
	}
	var n int
	if err := e.pool.QueryRow(context.Background(), `SELECT count(*) FROM audit_events WHERE organization_id = $1`, b.org).Scan(&n); err != nil || n != 0 {
		t.Fatalf("B has %d audit records (%v), want 0", n, err)
	}
	// Callers without an organization (services) reach no settings.
	_, err = e.srv.GetProjectSettings(serviceCtx("worker"), &authv1.GetProjectSettingsRequest{ProjectId: a.project.String()})
	wantCode(t, err, codes.PermissionDenied)
	_, err = e.srv.GetProjectSettings(context.Background(), &authv1.GetProjectSettingsRequest{ProjectId: a.project.String()})
	wantCode(t, err, codes.PermissionDenied)
}

func TestReencryptAfterRotation(t *testing.T) {
	oldKey, newKey := bytes.Repeat([]byte{1}, 32), bytes.Repeat([]byte{2}, 32)
	u := freshDatabase(t)
	before := newEnvAt(t, u, oldKey)
	a := before.newTenant(t)
	var ids []uuid.UUID
	for _, name := range []string{"one", "two"} {
		c, err := before.srv.CreateLLMConnection(a.ctx(), &authv1.CreateLLMConnectionRequest{Provider: "mistral", Name: name, ApiKey: plainKey + name})
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, uuid.MustParse(c.GetConnection().GetId()))
	}
	sealedOf := func(id uuid.UUID) []byte {
		var b []byte
		if err := before.pool.QueryRow(context.Background(), `SELECT api_key_ciphertext FROM llm_connections WHERE id = $1`, id).Scan(&b); err != nil {
			t.Fatal(err)
		}
		return b
	}

	rotated := newEnvAt(t, u, newKey, oldKey)
	for i, id := range ids {
		if !rotated.box.NeedsReencrypt(sealedOf(id)) {
			t.Fatalf("connection %d does not need re-encryption after rotation", i)
		}
		if k, err := rotated.svc.ConnectionAPIKey(a.ctx(), id); err != nil || k != plainKey+[]string{"one", "two"}[i] {
			t.Fatalf("old key under the rotated box = %q, %v", k, err)
		}
	}
	n, err := rotated.svc.ReencryptConnections(context.Background())
	if err != nil || n != 2 {
		t.Fatalf("ReencryptConnections = %d, %v; want 2", n, err)
	}
	onlyNew := newEnvAt(t, u, newKey)
	for i, id := range ids {
		if rotated.box.NeedsReencrypt(sealedOf(id)) {
			t.Fatalf("connection %d still under the old key", i)
		}
		if _, err := onlyNew.svc.ConnectionAPIKey(a.ctx(), id); err != nil {
			t.Fatalf("after re-encryption the new key alone must open connection %d: %v", i, err)
		}
	}
	// A second run has nothing to do.
	if n, err := rotated.svc.ReencryptConnections(context.Background()); err != nil || n != 0 {
		t.Fatalf("second ReencryptConnections = %d, %v; want 0", n, err)
	}
	// Keys that no configured key opens fail the run, and stay as they are.
	stranger := newEnvAt(t, u, bytes.Repeat([]byte{3}, 32))
	n, err = stranger.svc.ReencryptConnections(context.Background())
	if err == nil || n != 0 || strings.Contains(err.Error(), "PLAINTEXT") {
		t.Fatalf("re-encryption without the right key = %d, %v; want an error without the key", n, err)
	}
	if _, err := onlyNew.svc.ConnectionAPIKey(a.ctx(), ids[0]); err != nil {
		t.Fatalf("a failed run damaged a key: %v", err)
	}
}
