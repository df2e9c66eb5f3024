package e2e

import (
	"encoding/json"
	"net/http"
	"net/url"
	"testing"
	"time"

	authv1 "github.com/agenttrace/agenttrace/pkg/gen/agenttrace/auth/v1"
	queryv1 "github.com/agenttrace/agenttrace/pkg/gen/agenttrace/query/v1"
)

// TestDeleteTrace deletes single traces on request (GDPR): the trace, its
// observations and scores disappear within a bounded time, the project's
// other traces stay, and the deletion is in the audit log with who asked.
func TestDeleteTrace(t *testing.T) {
	s := requireStack(t)
	founder, org := s.founder(t)
	start := time.Now().Add(-time.Second)
	project := s.createProject(t, founder, org, "gdpr-"+randomHex(3)).GetId()
	owner := s.asUser(founder, project)
	byUser, byKey, kept := newSmallTrace("gdpr-user"), newSmallTrace("gdpr-key"), newSmallTrace("gdpr-kept")
	for _, st := range []smallTrace{byUser, byKey, kept} {
		owner.mustIngest(t, st.events)
	}
	for _, st := range []smallTrace{byUser, byKey, kept} {
		waitTrace(t, owner, st)
	}
	adminKey := s.createKey(t, founder, project, authv1.APIKeyScope_API_KEY_SCOPE_READ, authv1.APIKeyScope_API_KEY_SCOPE_ADMIN)

	deleted := time.Now()
	var out map[string]any
	r := owner.do(t, http.MethodDelete, "/api/v1/traces/"+byUser.traceID, nil)
	if r.status != http.StatusOK {
		t.Fatalf("owner deletes a trace: %s", r)
	}
	if err := json.Unmarshal(r.body, &out); err != nil || len(out) != 0 {
		t.Errorf("DeleteTrace: want an empty object, got %s", r)
	}
	if r := s.rest(adminKey.basic()).do(t, http.MethodDelete, "/api/v1/traces/"+byKey.traceID, nil); r.status != http.StatusOK {
		t.Fatalf("admin key deletes a trace: %s", r)
	}
	waitGone(t, owner, byUser.traceID)
	waitGone(t, owner, byKey.traceID)
	t.Logf("deleted traces gone from GetTrace %s after the request", time.Since(deleted).Round(10*time.Millisecond))

	t.Run("observations, scores and sessions gone too", func(t *testing.T) {
		for _, st := range []smallTrace{byUser, byKey} {
			q := url.Values{"trace_id": {st.traceID}}
			var p problems
			obs, err := listObservations(t, owner, q)
			p.check(err)
			checkList(&p, "observations of a deleted trace", nil, obs)
			scores, err := listScores(t, owner, q)
			p.check(err)
			checkList(&p, "scores of a deleted trace", nil, scores)
			if err := p.err(); err != nil {
				t.Error(err)
			}
			if r := owner.do(t, http.MethodGet, "/api/v1/sessions/"+url.PathEscape(st.sessionID), nil); r.status != http.StatusNotFound {
				var got queryv1.GetSessionResponse
				if r.status != http.StatusOK || strictJSON.Unmarshal(r.body, &got) != nil || len(got.GetTraces()) != 0 {
					t.Errorf("session of only a deleted trace: want 404 or no traces, got %s", r)
				}
			}
		}
	})

	t.Run("other traces stay", func(t *testing.T) {
		waitTrace(t, owner, kept)
		traces, err := listTraces(t, owner, url.Values{"page_size": {"100"}})
		if err != nil {
			t.Fatal(err)
		}
		if got := ids(traces); len(got) != 1 || got[0] != kept.traceID {
			t.Errorf("traces after deleting two of three: want only %s, got %v", kept.traceID, got)
		}
	})

	t.Run("audited", func(t *testing.T) {
		events := auditEvents(t, s.asUser(founder, ""), url.Values{"organization_id": {org}, "action": {"trace.delete"}}, start)
		checks := map[string]func(*authv1.AuditEvent) bool{
			byUser.traceID: func(e *authv1.AuditEvent) bool { return e.GetActorKind() == "user" && e.GetActorId() == founder.ID },
			byKey.traceID: func(e *authv1.AuditEvent) bool {
				return e.GetActorKind() == "api_key" && e.GetActorId() == adminKey.KeyID
			},
		}
		for traceID, actorOK := range checks {
			var found *authv1.AuditEvent
			for _, e := range events {
				if e.GetTargetId() == traceID {
					found = e
				}
			}
			switch {
			case found == nil:
				t.Errorf("no trace.delete audit event for %s among %v", traceID, actions(events))
			case found.GetProjectId() != project || !actorOK(found):
				t.Errorf("trace.delete audit event for %s: want project %s and the caller as actor, got %v", traceID, project, found)
			}
		}
	})
}
