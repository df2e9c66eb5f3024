package authz

import (
	"maps"

	authv1 "github.com/agenttrace/agenttrace/pkg/gen/agenttrace/auth/v1"
	ingestv1 "github.com/agenttrace/agenttrace/pkg/gen/agenttrace/ingest/v1"
	queryv1 "github.com/agenttrace/agenttrace/pkg/gen/agenttrace/query/v1"
	healthv1 "google.golang.org/grpc/health/grpc_health_v1"
	reflectionv1 "google.golang.org/grpc/reflection/grpc_reflection_v1"
	reflectionv1alpha "google.golang.org/grpc/reflection/grpc_reflection_v1alpha"
)

// Rule is what one method requires.
type Rule struct {
	Permission Permission
	// OrganizationScoped methods act on the organization their request
	// names (organization_id): a user is judged by their role in that
	// organization, never by a project override, which could otherwise lift
	// a viewer to managing the organization's members.
	OrganizationScoped bool
	// DefaultOrganization methods act on the organization their request
	// names (organization_id), else on the project's: a user who names
	// neither acts in their only organization, and must name one when they
	// belong to several.
	DefaultOrganization bool
}

func rule(p Permission) Rule    { return Rule{Permission: p} }
func orgRule(p Permission) Rule { return Rule{Permission: p, OrganizationScoped: true} }
func defaultOrgRule(p Permission) Rule {
	return Rule{Permission: p, DefaultOrganization: true}
}

// table maps the full name of every method any AgentTrace server serves to
// its rule. A method missing here is refused: adding an RPC without deciding
// who may call it fails closed (and fails TestTableIsComplete).
var table = map[string]Rule{
	// Probes and reflection.
	healthv1.Health_Check_FullMethodName:                                   rule(Public),
	healthv1.Health_List_FullMethodName:                                    rule(Public),
	healthv1.Health_Watch_FullMethodName:                                   rule(Public),
	reflectionv1.ServerReflection_ServerReflectionInfo_FullMethodName:      rule(Public),
	reflectionv1alpha.ServerReflection_ServerReflectionInfo_FullMethodName: rule(Public),

	// Ingest.
	ingestv1.IngestService_IngestBatch_FullMethodName: rule(TracesWrite),
	ingestv1.IngestService_DeleteTrace_FullMethodName: rule(TracesDelete),

	// Query.
	queryv1.QueryService_GetTrace_FullMethodName:         rule(TracesRead),
	queryv1.QueryService_GetObservation_FullMethodName:   rule(TracesRead),
	queryv1.QueryService_ListTraces_FullMethodName:       rule(TracesRead),
	queryv1.QueryService_ListObservations_FullMethodName: rule(TracesRead),
	queryv1.QueryService_ListSessions_FullMethodName:     rule(TracesRead),
	queryv1.QueryService_GetSession_FullMethodName:       rule(TracesRead),
	queryv1.QueryService_ListScores_FullMethodName:       rule(TracesRead),
	queryv1.QueryService_QueryMetrics_FullMethodName:     rule(TracesRead),

	// Projects and keys.
	authv1.AuthService_CreateProject_FullMethodName: defaultOrgRule(ProjectsManage),
	authv1.AuthService_ListProjects_FullMethodName:  defaultOrgRule(ProjectsRead),
	authv1.AuthService_CreateAPIKey_FullMethodName:  rule(KeysManage),
	authv1.AuthService_ListAPIKeys_FullMethodName:   rule(KeysRead),
	authv1.AuthService_RevokeAPIKey_FullMethodName:  rule(KeysManage),
	// The credential checks carry the credentials they ask about in the
	// request, so they need none of their own, as the interceptor of every
	// service calls them before it knows anyone. Their answer says only
	// what the holder of those credentials could learn by using them. They
	// are not routed by the gateway.
	authv1.AuthService_ValidateAPIKey_FullMethodName: rule(Public),
	authv1.AuthService_Authenticate_FullMethodName:   rule(Public),

	// Identity.
	authv1.IdentityService_Signup_FullMethodName:         rule(Public),
	authv1.IdentityService_Login_FullMethodName:          rule(Public),
	authv1.IdentityService_RefreshToken_FullMethodName:   rule(Public),
	authv1.IdentityService_Logout_FullMethodName:         rule(Authenticated),
	authv1.IdentityService_GetCurrentUser_FullMethodName: rule(Authenticated),

	// Organizations and members.
	authv1.OrganizationService_CreateOrganization_FullMethodName: rule(Authenticated),
	authv1.OrganizationService_ListOrganizations_FullMethodName:  rule(Authenticated),
	authv1.OrganizationService_AcceptInvitation_FullMethodName:   rule(Authenticated),
	authv1.OrganizationService_ListMembers_FullMethodName:        orgRule(MembersRead),
	authv1.OrganizationService_ListInvitations_FullMethodName:    orgRule(MembersRead),
	authv1.OrganizationService_UpdateMemberRole_FullMethodName:   orgRule(MembersManage),
	authv1.OrganizationService_RemoveMember_FullMethodName:       orgRule(MembersManage),
	authv1.OrganizationService_CreateInvitation_FullMethodName:   orgRule(MembersManage),
	authv1.OrganizationService_RevokeInvitation_FullMethodName:   orgRule(MembersManage),
	// A project override is managed by whoever manages the project's
	// organization, judged by their organization role.
	authv1.OrganizationService_SetProjectRole_FullMethodName: orgRule(MembersManage),

	// Settings.
	authv1.SettingsService_GetProjectSettings_FullMethodName:    rule(ProjectsRead),
	authv1.SettingsService_UpdateProjectSettings_FullMethodName: rule(ProjectsManage),
	authv1.SettingsService_ListLLMConnections_FullMethodName:    rule(ProjectsRead),
	authv1.SettingsService_CreateLLMConnection_FullMethodName:   rule(ProjectsManage),
	authv1.SettingsService_UpdateLLMConnection_FullMethodName:   rule(ProjectsManage),
	authv1.SettingsService_DeleteLLMConnection_FullMethodName:   rule(ProjectsManage),
	authv1.SettingsService_ListRetentionPolicies_FullMethodName: rule(Internal),

	// Audit.
	authv1.AuditService_ListAuditEvents_FullMethodName:  orgRule(AuditRead),
	authv1.AuditService_RecordAuditEvent_FullMethodName: rule(Internal),

	// Prices.
	authv1.PricingService_ListModelPrices_FullMethodName:  rule(PricesRead),
	authv1.PricingService_CreateModelPrice_FullMethodName: rule(ProjectsManage),
	authv1.PricingService_UpdateModelPrice_FullMethodName: rule(ProjectsManage),
	authv1.PricingService_DeleteModelPrice_FullMethodName: rule(ProjectsManage),

	// OTLP/gRPC export, served by ingest.
	OTLPTraceExport: rule(TracesWrite),
}

// OTLPTraceExport is the OTLP/gRPC trace export method.
const OTLPTraceExport = "/opentelemetry.proto.collector.trace.v1.TraceService/Export"

// Table returns a copy of the permission table, by full method name, for
// tests and documentation.
func Table() map[string]Rule { return maps.Clone(table) }

// Lookup returns the rule of fullMethod; false when the method is unknown.
func Lookup(fullMethod string) (Rule, bool) {
	r, ok := table[fullMethod]
	return r, ok
}
