// Package auditclient records ingest's audited actions (trace deletions) in
// the audit log of the auth service, over AuditService.RecordAuditEvent,
// authenticated as the "ingest" service.
package auditclient

import (
	"context"
	"fmt"
	"time"

	"google.golang.org/grpc"

	authv1 "github.com/agenttrace/agenttrace/pkg/gen/agenttrace/auth/v1"
	"github.com/agenttrace/agenttrace/pkg/jwtkeys"
	"github.com/agenttrace/agenttrace/pkg/service"
	"github.com/agenttrace/agenttrace/services/ingest/internal/ingestion"
)

// ServiceName is who ingest says it is in its service tokens.
const ServiceName = "ingest"

// Client implements ingestion.Auditor.
type Client struct {
	audit   authv1.AuditServiceClient
	timeout time.Duration
}

// New records through audit; each call waits at most timeout.
func New(audit authv1.AuditServiceClient, timeout time.Duration) *Client {
	return &Client{audit: audit, timeout: timeout}
}

// Dial connects (lazily) to auth at addr, sending a service token minted
// from ring with every call. The caller closes the connection.
func Dial(addr string, ring *jwtkeys.Ring) (*grpc.ClientConn, error) {
	return service.Dial(addr, grpc.WithPerRPCCredentials(jwtkeys.NewServiceCredentials(ring, ServiceName)))
}

// Record stores r; any error means it was not stored (or may not have been).
// The actor is the caller on whose behalf ingest acts, not ingest itself.
func (c *Client) Record(ctx context.Context, r ingestion.AuditRecord) error {
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	_, err := c.audit.RecordAuditEvent(ctx, &authv1.RecordAuditEventRequest{Event: &authv1.AuditEvent{
		OrganizationId: r.OrganizationID,
		ProjectId:      r.ProjectID,
		ActorKind:      r.Actor.Kind,
		ActorId:        r.Actor.ID,
		ActorLabel:     r.Actor.Label,
		Action:         r.Action,
		TargetKind:     r.TargetKind,
		TargetId:       r.TargetID,
		ClientIp:       r.ClientIP,
		UserAgent:      r.UserAgent,
	}})
	if err != nil {
		return fmt.Errorf("record audit event %s: %w", r.Action, err)
	}
	return nil
}
