package e2e

import (
	"net/http"
	"net/url"
	"slices"
	"testing"
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	authv1 "github.com/agenttrace/agenttrace/pkg/gen/agenttrace/auth/v1"
)

// retentionInterval is how often the stack's worker runs its retention job
// (an hour by default): often enough for TestRetention to see a run.
const retentionInterval = 2 * time.Second

// TestRetention gives a project a retention of one day: the worker's job
// deletes its trace from three days ago, keeps today's, and audits the
// deletion.
func TestRetention(t *testing.T) {
	s := requireStack(t)
	founder, org := s.founder(t)
	start := time.Now().Add(-time.Second)
	project := s.createProject(t, founder, org, "retention-"+randomHex(3)).GetId()
	owner := s.asUser(founder, project)
	old, fresh := newSmallTrace("retention-old"), newSmallTrace("retention-fresh")
	backdate(old, -72*time.Hour)
	owner.mustIngest(t, append(old.events, fresh.events...))
	waitTrace(t, owner, old)
	waitTrace(t, owner, fresh)

	var set authv1.UpdateProjectSettingsResponse
	if r := owner.send(t, http.MethodPut, "/api/v1/settings", &authv1.UpdateProjectSettingsRequest{ProjectId: project, RetentionDays: 1}, &set); r.status != http.StatusOK || set.GetSettings().GetRetentionDays() != 1 {
		t.Fatalf("set a retention of 1 day: %s", r)
	}
	waitGone(t, owner, old.traceID)
	traces, err := listTraces(t, owner, url.Values{"page_size": {"10"}})
	if err != nil {
		t.Fatal(err)
	}
	if got := ids(traces); !slices.Equal(got, []string{fresh.traceID}) {
		t.Errorf("traces after retention: want only today's %s, got %v", fresh.traceID, got)
	}

	eventually(t, "retention run audited", 10*time.Second, func() problems {
		var p problems
		events := auditEvents(t, s.asUser(founder, ""), url.Values{"organization_id": {org}, "action": {"retention.run"}}, start)
		if !slices.ContainsFunc(events, func(e *authv1.AuditEvent) bool { return e.GetProjectId() == project }) {
			p.addf("no retention.run audit event for project %s among %v", project, actions(events))
		}
		return p
	})
}

// backdate moves every timestamp of st by d.
func backdate(st smallTrace, d time.Duration) {
	shift := func(ts *timestamppb.Timestamp) *timestamppb.Timestamp {
		if ts == nil {
			return nil
		}
		return timestamppb.New(ts.AsTime().Add(d))
	}
	for _, e := range st.events {
		e.Timestamp = shift(e.GetTimestamp())
		if b := e.GetTrace(); b != nil {
			b.Timestamp = shift(b.GetTimestamp())
		}
		if b := e.GetObservation(); b != nil {
			b.StartTime, b.EndTime = shift(b.GetStartTime()), shift(b.GetEndTime())
		}
		if b := e.GetScore(); b != nil {
			b.Timestamp = shift(b.GetTimestamp())
		}
	}
}
