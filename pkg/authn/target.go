package authn

import (
	"errors"

	"google.golang.org/grpc/metadata"

	"github.com/agenttrace/agenttrace/pkg/authz"
)

// errProjectConflict: the header and the request name different projects,
// and guessing which one the caller meant could act on the wrong one.
var errProjectConflict = errors.New("the x-agenttrace-project header and the request's project_id name different projects")

type projectNamer interface{ GetProjectId() string }

type organizationNamer interface{ GetOrganizationId() string }

// target reads what a call acts on into r: the project named by the header
// or by the request's project_id, else the organization named by its
// organization_id. Organization-scoped methods prefer the organization and
// ask for the organization role; methods that default to the caller's
// organization ask for it when nothing is named. req is nil for streams.
func target(rule authz.Rule, md metadata.MD, req any) (Request, error) {
	var r Request
	if v := md.Get(ProjectHeader); len(v) > 0 {
		r.ProjectID = v[0]
	}
	if pn, ok := req.(projectNamer); ok && pn.GetProjectId() != "" {
		if r.ProjectID != "" && r.ProjectID != pn.GetProjectId() {
			return Request{}, errProjectConflict
		}
		r.ProjectID = pn.GetProjectId()
	}
	var org string
	if on, ok := req.(organizationNamer); ok {
		org = on.GetOrganizationId()
	}
	switch {
	case rule.OrganizationScoped && org != "":
		return Request{OrganizationID: org, OrganizationRole: true}, nil
	case rule.OrganizationScoped:
		r.OrganizationRole = true
	case r.ProjectID == "" && org != "":
		r.OrganizationID = org
	case r.ProjectID == "" && rule.DefaultOrganization:
		r.DefaultOrganization = true
	}
	return r, nil
}
