// Package auditapi serves agenttrace.auth.v1.AuditService over gRPC: it
// turns requests into audit calls on behalf of the authenticated caller and
// maps errors to statuses through grpcstatus.
package auditapi

import (
	"context"
	"log/slog"
	"time"

	"github.com/google/uuid"
	"google.golang.org/protobuf/types/known/timestamppb"

	authv1 "github.com/agenttrace/agenttrace/pkg/gen/agenttrace/auth/v1"
	"github.com/agenttrace/agenttrace/services/auth/internal/audit"
	"github.com/agenttrace/agenttrace/services/auth/internal/grpcstatus"
	"github.com/agenttrace/agenttrace/services/auth/internal/tenancy"
)

// Server implements authv1.AuditServiceServer.
type Server struct {
	authv1.UnimplementedAuditServiceServer
	lister   *audit.Lister
	recorder *audit.Recorder
	log      *slog.Logger
}

// New returns a Server; log (slog.Default() when nil) receives the detail
// of internal errors.
func New(lister *audit.Lister, recorder *audit.Recorder, log *slog.Logger) *Server {
	if log == nil {
		log = slog.Default()
	}
	return &Server{lister: lister, recorder: recorder, log: log}
}

// ListAuditEvents implements authv1.AuditServiceServer.
func (s *Server) ListAuditEvents(ctx context.Context, req *authv1.ListAuditEventsRequest) (*authv1.ListAuditEventsResponse, error) {
	q := audit.Query{Action: req.GetAction(), PageSize: int(req.GetPageSize()), PageToken: req.GetPageToken()}
	var err error
	if q.OrganizationID, err = tenancy.OptionalID("organization_id", req.GetOrganizationId()); err != nil {
		return nil, grpcstatus.Of(ctx, s.log, err)
	}
	if q.ProjectID, err = tenancy.OptionalID("project_id", req.GetProjectId()); err != nil {
		return nil, grpcstatus.Of(ctx, s.log, err)
	}
	if q.From, err = optionalTime("from_time", req.GetFromTime()); err != nil {
		return nil, grpcstatus.Of(ctx, s.log, err)
	}
	if q.To, err = optionalTime("to_time", req.GetToTime()); err != nil {
		return nil, grpcstatus.Of(ctx, s.log, err)
	}
	page, err := s.lister.List(ctx, q)
	if err != nil {
		return nil, grpcstatus.Of(ctx, s.log, err)
	}
	out := &authv1.ListAuditEventsResponse{
		Events:        make([]*authv1.AuditEvent, 0, len(page.Events)),
		NextPageToken: page.NextPageToken,
	}
	for _, e := range page.Events {
		out.Events = append(out.Events, eventProto(e))
	}
	return out, nil
}

// RecordAuditEvent implements authv1.AuditServiceServer.
func (s *Server) RecordAuditEvent(ctx context.Context, req *authv1.RecordAuditEventRequest) (*authv1.RecordAuditEventResponse, error) {
	in := req.GetEvent()
	if in == nil {
		return nil, grpcstatus.Of(ctx, s.log, grpcstatus.Field("event", "required"))
	}
	e := audit.Event{
		Actor:      audit.Actor{Kind: audit.ActorKind(in.GetActorKind()), ID: in.GetActorId(), Label: in.GetActorLabel()},
		Action:     in.GetAction(),
		TargetKind: in.GetTargetKind(),
		TargetID:   in.GetTargetId(),
		Details:    in.GetDetails(),
		ClientIP:   in.GetClientIp(),
		UserAgent:  in.GetUserAgent(),
	}
	var err error
	if e.OrganizationID, err = tenancy.OptionalID("event.organization_id", in.GetOrganizationId()); err != nil {
		return nil, grpcstatus.Of(ctx, s.log, err)
	}
	if e.ProjectID, err = tenancy.OptionalID("event.project_id", in.GetProjectId()); err != nil {
		return nil, grpcstatus.Of(ctx, s.log, err)
	}
	got, err := s.recorder.RecordReported(ctx, e)
	if err != nil {
		return nil, grpcstatus.Of(ctx, s.log, err)
	}
	return &authv1.RecordAuditEventResponse{Event: eventProto(got)}, nil
}

func optionalTime(field string, ts *timestamppb.Timestamp) (time.Time, error) {
	if ts == nil {
		return time.Time{}, nil
	}
	if err := ts.CheckValid(); err != nil {
		return time.Time{}, grpcstatus.Field(field, "must be a valid timestamp")
	}
	return ts.AsTime(), nil
}

func idString(id uuid.UUID) string {
	if id == uuid.Nil {
		return ""
	}
	return id.String()
}

func eventProto(e audit.Event) *authv1.AuditEvent {
	return &authv1.AuditEvent{
		Id:             e.ID.String(),
		OrganizationId: idString(e.OrganizationID),
		ProjectId:      idString(e.ProjectID),
		ActorKind:      string(e.Actor.Kind),
		ActorId:        e.Actor.ID,
		ActorLabel:     e.Actor.Label,
		Action:         e.Action,
		TargetKind:     e.TargetKind,
		TargetId:       e.TargetID,
		Details:        e.Details,
		ClientIp:       e.ClientIP,
		UserAgent:      e.UserAgent,
		CreatedAt:      timestamppb.New(e.CreatedAt),
	}
}
