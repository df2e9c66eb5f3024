package langfuse

import (
	"net/http"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"github.com/agenttrace/agenttrace/pkg/authn"
	authv1 "github.com/agenttrace/agenttrace/pkg/gen/agenttrace/auth/v1"
	"github.com/agenttrace/agenttrace/services/gateway/internal/grpchttp"
)

// projects serves GET /api/public/projects: the project of the caller's
// key, which is what the SDKs' auth check (auth_check(), and a failed
// check's message) reads.
type projects struct {
	cfg Config
}

type projectList struct {
	Data []project `json:"data"`
}

type project struct {
	ID           string         `json:"id"`
	Name         string         `json:"name"`
	Organization organization   `json:"organization"`
	Metadata     map[string]any `json:"metadata"`
	// RetentionDays is omitted when data is kept for ever, as Langfuse does.
	RetentionDays int32 `json:"retentionDays,omitempty"`
}

type organization struct {
	ID   string `json:"id"`
	Name string `json:"name"`
}

// ServeHTTP resolves the caller with auth's Authenticate (the credential
// check every service's interceptor makes, which needs no permission), then
// looks the project up with ListProjects for its name. A key without the
// read scope may not list projects: it still gets its project, named by its
// id. No RPC answers an organization's name to an API key, so the
// organization is named by its id too.
func (h *projects) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet {
		methodNotAllowed(w, http.MethodGet)
		return
	}
	ctx := metadata.NewOutgoingContext(r.Context(), grpchttp.OutgoingMetadata(r))
	resp, err := h.cfg.Auth.Authenticate(ctx, &authv1.AuthenticateRequest{
		Authorization: r.Header.Get("Authorization"),
		ProjectId:     r.Header.Get(authn.ProjectHeader),
	})
	if err != nil {
		writeBackendError(w, r, h.cfg.Log, err)
		return
	}
	p := resp.GetPrincipal()
	if p.GetProjectId() == "" {
		// A user token without a named project, or a service: Langfuse
		// answers an organization key the same way.
		writeMessage(w, http.StatusForbidden, "Invalid API key. Use a project API key (or name the project in X-AgentTrace-Project).")
		return
	}
	out := project{
		ID:           p.GetProjectId(),
		Name:         p.GetProjectId(),
		Organization: organization{ID: p.GetOrganizationId(), Name: p.GetOrganizationId()},
		Metadata:     map[string]any{},
	}
	list, err := h.cfg.Auth.ListProjects(ctx, &authv1.ListProjectsRequest{OrganizationId: p.GetOrganizationId()})
	switch status.Code(err) {
	case codes.OK:
		for _, lp := range list.GetProjects() {
			if lp.GetId() == out.ID {
				out.Name, out.RetentionDays = lp.GetName(), lp.GetRetentionDays()
			}
		}
	case codes.PermissionDenied:
		// An ingest-only key: the project is known, its name is not.
	default:
		writeBackendError(w, r, h.cfg.Log, err)
		return
	}
	writeJSON(w, http.StatusOK, projectList{Data: []project{out}})
}
