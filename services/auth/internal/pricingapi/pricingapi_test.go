package pricingapi_test

import (
	"context"
	"math"
	"testing"
	"time"

	"github.com/google/uuid"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/agenttrace/agenttrace/pkg/authn"
	authv1 "github.com/agenttrace/agenttrace/pkg/gen/agenttrace/auth/v1"
	"github.com/agenttrace/agenttrace/services/auth/internal/audit"
	"github.com/agenttrace/agenttrace/services/auth/internal/pgstore"
	"github.com/agenttrace/agenttrace/services/auth/internal/pgtest"
	"github.com/agenttrace/agenttrace/services/auth/internal/pricing"
	"github.com/agenttrace/agenttrace/services/auth/internal/pricingapi"
)

var jan2025 = time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)

func override(model string) *authv1.ModelPrice {
	return &authv1.ModelPrice{
		ModelName:     model,
		MatchPattern:  "(acme/)?" + model,
		Prices:        map[string]float64{"input": 1e-6, "output": 2e-6},
		EffectiveFrom: timestamppb.New(jan2025),
	}
}

func create(t *testing.T, e *env, ctx context.Context, p *authv1.ModelPrice) *authv1.ModelPrice {
	t.Helper()
	resp, err := e.srv.CreateModelPrice(ctx, &authv1.CreateModelPriceRequest{Price: p})
	if err != nil {
		t.Fatal(err)
	}
	return resp.GetPrice()
}

// overrides lists the caller's prices and keeps the project overrides.
func overrides(t *testing.T, e *env, ctx context.Context, req *authv1.ListModelPricesRequest) []*authv1.ModelPrice {
	t.Helper()
	resp, err := e.srv.ListModelPrices(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	var out []*authv1.ModelPrice
	globals := 0
	for _, p := range resp.GetPrices() {
		if p.GetProjectId() == "" {
			globals++
			continue
		}
		out = append(out, p)
	}
	if globals == 0 {
		t.Fatal("the list holds no global price")
	}
	return out
}

func TestCreateAndListOverride(t *testing.T) {
	e := newEnv(t)
	a := e.newTenant(t)
	got := create(t, e, a.keyCtx(), override("acme-large"))
	if got.GetProjectId() != a.project.String() || got.GetModelName() != "acme-large" ||
		!got.GetEffectiveFrom().AsTime().Equal(jan2025) || got.GetPrices()["output"] != 2e-6 ||
		got.GetCreatedAt() == nil || got.GetUpdatedAt() == nil {
		t.Fatalf("created %v", got)
	}
	if _, err := uuid.Parse(got.GetId()); err != nil {
		t.Fatalf("id %q", got.GetId())
	}
	if n := e.auditRows(t, got.GetId(), audit.ActionModelPriceCreate); n != 1 {
		t.Fatalf("%d audit events", n)
	}

	list := overrides(t, e, a.keyCtx(), &authv1.ListModelPricesRequest{})
	if len(list) != 1 || list[0].GetId() != got.GetId() {
		t.Fatalf("key list = %v", list)
	}
	// A user naming no project lists any project of the organization.
	if list := overrides(t, e, a.userCtx(), &authv1.ListModelPricesRequest{ProjectId: a.project.String()}); len(list) != 1 {
		t.Fatalf("user list = %v", list)
	}
	if list := overrides(t, e, a.userCtx(), &authv1.ListModelPricesRequest{ProjectId: a.other.String()}); len(list) != 0 {
		t.Fatalf("the other project's list = %v", list)
	}

	// The same model from the same time again is a conflict; from another
	// time it is a new price.
	_, err := e.srv.CreateModelPrice(a.keyCtx(), &authv1.CreateModelPriceRequest{Price: override("acme-large")})
	wantCode(t, err, codes.AlreadyExists)
	later := override("acme-large")
	later.EffectiveFrom = timestamppb.New(jan2025.AddDate(0, 6, 0))
	create(t, e, a.keyCtx(), later)
	// Without effective_from a price applies from the epoch.
	always := override("acme-small")
	always.EffectiveFrom = nil
	if got := create(t, e, a.keyCtx(), always); got.GetEffectiveFrom().AsTime().Unix() != 0 {
		t.Fatalf("default effective_from = %v", got.GetEffectiveFrom().AsTime())
	}
	if list := overrides(t, e, a.keyCtx(), &authv1.ListModelPricesRequest{}); len(list) != 3 ||
		list[0].GetModelName() != "acme-large" || !list[0].GetEffectiveFrom().AsTime().After(list[1].GetEffectiveFrom().AsTime()) {
		t.Fatalf("list not ordered by model, newest first: %v", list)
	}
}

func TestCreateRefusals(t *testing.T) {
	e := newEnv(t)
	a, b := e.newTenant(t), e.newTenant(t)
	tests := []struct {
		name  string
		ctx   context.Context
		price *authv1.ModelPrice
		code  codes.Code
		field string
	}{
		{"no price", a.keyCtx(), nil, codes.InvalidArgument, "price"},
		{"bad project id", a.keyCtx(), withProject(override("m"), "nope"), codes.InvalidArgument, "price.project_id"},
		{"key for another project", a.keyCtx(), withProject(override("m"), a.other.String()), codes.PermissionDenied, ""},
		{"user for another organization", a.userCtx(), withProject(override("m"), b.project.String()), codes.NotFound, ""},
		{"user for a missing project", a.userCtx(), withProject(override("m"), uuid.NewString()), codes.NotFound, ""},
		{"user naming no project", a.userCtx(), override("m"), codes.InvalidArgument, "project_id"},
		{"no model name", a.keyCtx(), edit(override("m"), func(p *authv1.ModelPrice) { p.ModelName = "" }), codes.InvalidArgument, "model_name"},
		{"invalid pattern", a.keyCtx(), edit(override("m"), func(p *authv1.ModelPrice) { p.MatchPattern = "gpt-4o(" }), codes.InvalidArgument, "match_pattern"},
		{"unanchorable pattern", a.keyCtx(), edit(override("m"), func(p *authv1.ModelPrice) { p.MatchPattern = "a)|(b" }), codes.InvalidArgument, "match_pattern"},
		{"pattern matching everything", a.keyCtx(), edit(override("m"), func(p *authv1.ModelPrice) { p.MatchPattern = ".*" }), codes.InvalidArgument, "match_pattern"},
		{"no prices", a.keyCtx(), edit(override("m"), func(p *authv1.ModelPrice) { p.Prices = nil }), codes.InvalidArgument, "prices"},
		{"negative price", a.keyCtx(), edit(override("m"), func(p *authv1.ModelPrice) { p.Prices["input"] = -1 }), codes.InvalidArgument, "prices.input"},
		{"NaN price", a.keyCtx(), edit(override("m"), func(p *authv1.ModelPrice) { p.Prices["input"] = math.NaN() }), codes.InvalidArgument, "prices.input"},
		{"invalid timestamp", a.keyCtx(), edit(override("m"), func(p *authv1.ModelPrice) { p.EffectiveFrom = &timestamppb.Timestamp{Nanos: -1} }), codes.InvalidArgument, "price.effective_from"},
		{"before 1970", a.keyCtx(), edit(override("m"), func(p *authv1.ModelPrice) { p.EffectiveFrom = timestamppb.New(time.Unix(-1, 0)) }), codes.InvalidArgument, "effective_from"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := e.srv.CreateModelPrice(tt.ctx, &authv1.CreateModelPriceRequest{Price: tt.price})
			wantCode(t, err, tt.code)
			if tt.field != "" {
				wantField(t, err, tt.field)
			}
		})
	}
	if list := overrides(t, e, a.keyCtx(), &authv1.ListModelPricesRequest{}); len(list) != 0 {
		t.Fatalf("refused creations stored %v", list)
	}
}

func withProject(p *authv1.ModelPrice, project string) *authv1.ModelPrice {
	p.ProjectId = project
	return p
}

func edit(p *authv1.ModelPrice, f func(*authv1.ModelPrice)) *authv1.ModelPrice {
	f(p)
	return p
}

func wantField(t *testing.T, err error, field string) {
	t.Helper()
	for _, d := range status.Convert(err).Details() {
		if br, ok := d.(*errdetails.BadRequest); ok {
			for _, v := range br.GetFieldViolations() {
				if v.GetField() == field {
					return
				}
			}
		}
	}
	t.Fatalf("%v names no field %q", err, field)
}

func TestUpdate(t *testing.T) {
	e := newEnv(t)
	a, b := e.newTenant(t), e.newTenant(t)
	p := create(t, e, a.keyCtx(), override("acme-large"))
	create(t, e, a.keyCtx(), edit(override("acme-large"), func(p *authv1.ModelPrice) { p.EffectiveFrom = timestamppb.New(jan2025.AddDate(1, 0, 0)) }))

	// Only the set fields change.
	newPattern := "acme-large(-v\\d+)?"
	resp, err := e.srv.UpdateModelPrice(a.keyCtx(), &authv1.UpdateModelPriceRequest{Price: &authv1.ModelPrice{
		Id: p.GetId(), MatchPattern: newPattern, Prices: map[string]float64{"input": 3e-6, "cached_input": 1e-6},
	}})
	if err != nil {
		t.Fatal(err)
	}
	got := resp.GetPrice()
	if got.GetMatchPattern() != newPattern || got.GetModelName() != "acme-large" || len(got.GetPrices()) != 2 ||
		got.GetPrices()["input"] != 3e-6 || !got.GetEffectiveFrom().AsTime().Equal(jan2025) ||
		got.GetProjectId() != a.project.String() || got.GetUpdatedAt().AsTime().Before(p.GetUpdatedAt().AsTime()) {
		t.Fatalf("updated %v", got)
	}
	if n := e.auditRows(t, p.GetId(), audit.ActionModelPriceUpdate); n != 1 {
		t.Fatalf("%d audit events", n)
	}
	var prevPrices string
	if err := e.pool.QueryRow(context.Background(),
		`SELECT details->>'previous_prices' FROM audit_events WHERE target_id = $1 AND action = $2`,
		p.GetId(), audit.ActionModelPriceUpdate).Scan(&prevPrices); err != nil || prevPrices != "input=1e-06,output=2e-06" {
		t.Fatalf("previous_prices = %q, %v", prevPrices, err)
	}

	global := firstGlobal(t, e, a)
	tests := []struct {
		name  string
		ctx   context.Context
		price *authv1.ModelPrice
		code  codes.Code
	}{
		{"no price", a.keyCtx(), nil, codes.InvalidArgument},
		{"no id", a.keyCtx(), &authv1.ModelPrice{ModelName: "x"}, codes.InvalidArgument},
		{"bad id", a.keyCtx(), &authv1.ModelPrice{Id: "x"}, codes.InvalidArgument},
		{"bad project id", a.keyCtx(), &authv1.ModelPrice{Id: p.GetId(), ProjectId: "x"}, codes.InvalidArgument},
		{"bad timestamp", a.keyCtx(), &authv1.ModelPrice{Id: p.GetId(), EffectiveFrom: &timestamppb.Timestamp{Seconds: math.MaxInt64}}, codes.InvalidArgument},
		{"missing", a.keyCtx(), &authv1.ModelPrice{Id: uuid.NewString(), ModelName: "x"}, codes.NotFound},
		{"another organization's", b.keyCtx(), &authv1.ModelPrice{Id: p.GetId(), ModelName: "x"}, codes.NotFound},
		{"another project's", a.userCtxFor(a.other), &authv1.ModelPrice{Id: p.GetId(), ModelName: "x"}, codes.NotFound},
		{"a global price", a.keyCtx(), &authv1.ModelPrice{Id: global, ModelName: "x"}, codes.PermissionDenied},
		{"moving it", a.userCtx(), &authv1.ModelPrice{Id: p.GetId(), ProjectId: a.other.String()}, codes.InvalidArgument},
		{"onto another price's date", a.keyCtx(), &authv1.ModelPrice{Id: p.GetId(), EffectiveFrom: timestamppb.New(jan2025.AddDate(1, 0, 0))}, codes.AlreadyExists},
		{"invalid pattern", a.keyCtx(), &authv1.ModelPrice{Id: p.GetId(), MatchPattern: "(?P<x"}, codes.InvalidArgument},
		{"invalid prices", a.keyCtx(), &authv1.ModelPrice{Id: p.GetId(), Prices: map[string]float64{"input": -1}}, codes.InvalidArgument},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := e.srv.UpdateModelPrice(tt.ctx, &authv1.UpdateModelPriceRequest{Price: tt.price})
			wantCode(t, err, tt.code)
		})
	}
	if n := e.auditRows(t, p.GetId(), audit.ActionModelPriceUpdate); n != 1 {
		t.Fatalf("refused updates were audited: %d events", n)
	}
}

// userCtxFor acts as a user of the tenant's organization whose credentials
// name project.
func (tn tenant) userCtxFor(project uuid.UUID) context.Context {
	return withPrincipalProject(tn.userCtx(), project)
}

func firstGlobal(t *testing.T, e *env, tn tenant) string {
	t.Helper()
	resp, err := e.srv.ListModelPrices(tn.keyCtx(), &authv1.ListModelPricesRequest{})
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range resp.GetPrices() {
		if p.GetProjectId() == "" {
			return p.GetId()
		}
	}
	t.Fatal("no global price")
	return ""
}

func TestDelete(t *testing.T) {
	e := newEnv(t)
	a, b := e.newTenant(t), e.newTenant(t)
	p := create(t, e, a.keyCtx(), override("acme-large"))
	global := firstGlobal(t, e, a)
	tests := []struct {
		name string
		ctx  context.Context
		id   string
		code codes.Code
	}{
		{"no id", a.keyCtx(), "", codes.InvalidArgument},
		{"bad id", a.keyCtx(), "x", codes.InvalidArgument},
		{"missing", a.keyCtx(), uuid.NewString(), codes.NotFound},
		{"another organization's", b.keyCtx(), p.GetId(), codes.NotFound},
		{"a global price", a.keyCtx(), global, codes.PermissionDenied},
		{"a global price as a user", a.userCtx(), global, codes.PermissionDenied},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := e.srv.DeleteModelPrice(tt.ctx, &authv1.DeleteModelPriceRequest{Id: tt.id})
			wantCode(t, err, tt.code)
		})
	}
	if _, err := e.srv.DeleteModelPrice(a.userCtx(), &authv1.DeleteModelPriceRequest{Id: p.GetId()}); err != nil {
		t.Fatal(err)
	}
	_, err := e.srv.DeleteModelPrice(a.keyCtx(), &authv1.DeleteModelPriceRequest{Id: p.GetId()})
	wantCode(t, err, codes.NotFound)
	if n := e.auditRows(t, p.GetId(), audit.ActionModelPriceDelete); n != 1 {
		t.Fatalf("%d audit events", n)
	}
	if n := e.auditRows(t, global, audit.ActionModelPriceDelete); n != 0 {
		t.Fatalf("refused deletion audited")
	}
}

// TestIsolation: an organization never sees another's overrides, and only
// services list every project's.
func TestIsolation(t *testing.T) {
	e := newEnv(t)
	a, b := e.newTenant(t), e.newTenant(t)
	pa := create(t, e, a.keyCtx(), override("acme-large"))
	pb := create(t, e, b.keyCtx(), override("acme-large"))

	if list := overrides(t, e, b.keyCtx(), &authv1.ListModelPricesRequest{}); len(list) != 1 || list[0].GetId() != pb.GetId() {
		t.Fatalf("b sees %v", list)
	}
	_, err := e.srv.ListModelPrices(b.userCtx(), &authv1.ListModelPricesRequest{ProjectId: a.project.String()})
	wantCode(t, err, codes.NotFound)
	_, err = e.srv.ListModelPrices(a.keyCtx(), &authv1.ListModelPricesRequest{ProjectId: a.other.String()})
	wantCode(t, err, codes.PermissionDenied)
	_, err = e.srv.ListModelPrices(a.keyCtx(), &authv1.ListModelPricesRequest{AllProjects: true})
	wantCode(t, err, codes.PermissionDenied)
	_, err = e.srv.ListModelPrices(a.userCtx(), &authv1.ListModelPricesRequest{})
	wantCode(t, err, codes.InvalidArgument)
	_, err = e.srv.ListModelPrices(a.keyCtx(), &authv1.ListModelPricesRequest{ProjectId: "x"})
	wantCode(t, err, codes.InvalidArgument)
	_, err = e.srv.ListModelPrices(context.Background(), &authv1.ListModelPricesRequest{})
	wantCode(t, err, codes.PermissionDenied)
	orgless := authn.WithPrincipal(context.Background(), authn.Principal{Kind: authn.KindUser, UserID: uuid.NewString()})
	_, err = e.srv.CreateModelPrice(orgless, &authv1.CreateModelPriceRequest{Price: override("m")})
	wantCode(t, err, codes.PermissionDenied)
	_, err = e.srv.ListModelPrices(serviceCtx(), &authv1.ListModelPricesRequest{AllProjects: true, ProjectId: a.project.String()})
	wantCode(t, err, codes.InvalidArgument)

	all, err := e.srv.ListModelPrices(serviceCtx(), &authv1.ListModelPricesRequest{AllProjects: true})
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for _, p := range all.GetPrices() {
		seen[p.GetId()] = true
	}
	if !seen[pa.GetId()] || !seen[pb.GetId()] {
		t.Fatal("all_projects misses an override")
	}
	if list := overrides(t, e, serviceCtx(), &authv1.ListModelPricesRequest{ProjectId: a.project.String()}); len(list) != 1 || list[0].GetId() != pa.GetId() {
		t.Fatalf("service list of a's project = %v", list)
	}
}

// TestServiceGlobalPrice: a service may write global prices, which users
// then see and cannot change.
func TestServiceGlobalPrice(t *testing.T) {
	e := newEnv(t)
	a := e.newTenant(t)
	g := create(t, e, serviceCtx(), override("acme-global"))
	if g.GetProjectId() != "" {
		t.Fatalf("service price is not global: %v", g)
	}
	resp, err := e.srv.ListModelPrices(a.keyCtx(), &authv1.ListModelPricesRequest{})
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, p := range resp.GetPrices() {
		found = found || p.GetId() == g.GetId()
	}
	if !found {
		t.Fatal("users do not see the new global price")
	}
	var org *uuid.UUID
	var actor string
	if err := e.pool.QueryRow(context.Background(),
		`SELECT organization_id, actor_label FROM audit_events WHERE target_id = $1`, g.GetId()).Scan(&org, &actor); err != nil {
		t.Fatal(err)
	}
	if org != nil || actor != "worker" {
		t.Fatalf("audit org %v actor %q", org, actor)
	}
	if _, err := e.srv.UpdateModelPrice(serviceCtx(), &authv1.UpdateModelPriceRequest{Price: &authv1.ModelPrice{Id: g.GetId(), ModelName: "acme-global-2"}}); err != nil {
		t.Fatal(err)
	}
	// A service may also override for one project.
	o := create(t, e, serviceCtx(), withProject(override("acme-global"), a.project.String()))
	if o.GetProjectId() != a.project.String() {
		t.Fatalf("service override = %v", o)
	}
	if _, err := e.srv.DeleteModelPrice(serviceCtx(), &authv1.DeleteModelPriceRequest{Id: g.GetId()}); err != nil {
		t.Fatal(err)
	}
	_, err = e.srv.CreateModelPrice(serviceCtx(), &authv1.CreateModelPriceRequest{Price: withProject(override("x"), uuid.NewString())})
	wantCode(t, err, codes.NotFound)
}

// TestDatabaseDown: an unreachable database is Unavailable, not Internal.
func TestDatabaseDown(t *testing.T) {
	pgtest.URL(t)
	pool, err := pgstore.Open(context.Background(), pgstore.Config{
		URL: "postgres://postgres@127.0.0.1:1/none?sslmode=disable", ConnectTimeout: time.Second,
	})
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	srv := pricingapi.New(pricing.NewService(pricing.Config{
		Store: pgstore.NewPriceStore(pool),
		Audit: audit.NewRecorder(audit.Config{Store: pgstore.NewAuditStore(pool)}),
	}), nil)
	_, err = srv.ListModelPrices(serviceCtx(), &authv1.ListModelPricesRequest{AllProjects: true})
	wantCode(t, err, codes.Unavailable)
	_, err = srv.CreateModelPrice(serviceCtx(), &authv1.CreateModelPriceRequest{Price: override("m")})
	wantCode(t, err, codes.Unavailable)
	_, err = srv.DeleteModelPrice(serviceCtx(), &authv1.DeleteModelPriceRequest{Id: uuid.NewString()})
	wantCode(t, err, codes.Unavailable)
}
