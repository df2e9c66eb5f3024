// Package authclient is how the worker reaches the auth service for its
// retention job: the projects' retention policies
// (SettingsService.ListRetentionPolicies) and the audit log
// (AuditService.RecordAuditEvent), both internal RPCs; and for its cost
// computation: the model price table (PricingService.ListModelPrices). The
// worker calls them as the "worker" service with a short-lived service
// token.
package authclient

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"google.golang.org/grpc"

	"github.com/agenttrace/agenttrace/pkg/chschema"
	authv1 "github.com/agenttrace/agenttrace/pkg/gen/agenttrace/auth/v1"
	"github.com/agenttrace/agenttrace/pkg/jwtkeys"
	"github.com/agenttrace/agenttrace/pkg/service"
	"github.com/agenttrace/agenttrace/services/worker/internal/retention"
)

// ServiceName is who the worker says it is in its service tokens and the
// actor of the audit records it writes.
const ServiceName = "worker"

// Dial connects (lazily) to auth at addr, sending a service token minted
// from ring with every call. The caller closes the connection.
func Dial(addr string, ring *jwtkeys.Ring) (*grpc.ClientConn, error) {
	return service.Dial(addr, grpc.WithPerRPCCredentials(jwtkeys.NewServiceCredentials(ring, ServiceName)))
}

// Client implements retention.Policies and retention.Auditor.
type Client struct {
	settings authv1.SettingsServiceClient
	audit    authv1.AuditServiceClient
	timeout  time.Duration
}

// New calls auth over conn; each call waits at most timeout.
func New(conn grpc.ClientConnInterface, timeout time.Duration) *Client {
	return &Client{settings: authv1.NewSettingsServiceClient(conn), audit: authv1.NewAuditServiceClient(conn), timeout: timeout}
}

// RetentionPolicies lists the projects with a retention period.
func (c *Client) RetentionPolicies(ctx context.Context) ([]retention.Policy, error) {
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	resp, err := c.settings.ListRetentionPolicies(ctx, &authv1.ListRetentionPoliciesRequest{})
	if err != nil {
		return nil, fmt.Errorf("SettingsService.ListRetentionPolicies: %w", err)
	}
	out := make([]retention.Policy, 0, len(resp.GetPolicies()))
	for _, p := range resp.GetPolicies() {
		out = append(out, retention.Policy{ProjectID: p.GetProjectId(), Days: int(p.GetRetentionDays())})
	}
	return out, nil
}

// RecordRetentionRun records one project's retention deletion, with the
// worker as the actor; the cutoff, the period and the rows per table go in
// the details.
func (c *Client) RecordRetentionRun(ctx context.Context, r retention.AuditRecord) error {
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	_, err := c.audit.RecordAuditEvent(ctx, &authv1.RecordAuditEventRequest{Event: &authv1.AuditEvent{
		ProjectId:  r.Cutoff.ProjectID,
		ActorKind:  "service",
		ActorId:    ServiceName,
		ActorLabel: ServiceName,
		Action:     retention.ActionRetentionRun,
		TargetKind: "project",
		TargetId:   r.Cutoff.ProjectID,
		Details: map[string]string{
			"cutoff":         r.Cutoff.Before.UTC().Format(time.RFC3339),
			"retention_days": strconv.Itoa(r.Cutoff.Days),
			"deleted_rows":   deletedRows(r.Expired),
		},
	}})
	if err != nil {
		return fmt.Errorf("AuditService.RecordAuditEvent: %w", err)
	}
	return nil
}

// deletedRows names each table with its expired rows, in a fixed order:
// "traces=3,observations=12,scores=0".
func deletedRows(e retention.Expired) string {
	parts := make([]string, 0, 3)
	for _, t := range []string{chschema.KindTraces, chschema.KindObservations, chschema.KindScores} {
		parts = append(parts, t+"="+strconv.FormatUint(e.Rows[t], 10))
	}
	return strings.Join(parts, ",")
}
