// Package pricingapi serves agenttrace.auth.v1.PricingService over gRPC: it
// turns requests into pricing calls on behalf of the authenticated caller
// and maps errors to statuses once, here.
package pricingapi

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/timestamppb"

	authv1 "github.com/agenttrace/agenttrace/pkg/gen/agenttrace/auth/v1"
	"github.com/agenttrace/agenttrace/services/auth/internal/grpcstatus"
	"github.com/agenttrace/agenttrace/services/auth/internal/pricing"
	"github.com/agenttrace/agenttrace/services/auth/internal/tenancy"
)

// Server implements authv1.PricingServiceServer.
type Server struct {
	authv1.UnimplementedPricingServiceServer
	svc *pricing.Service
	log *slog.Logger
}

// New returns a Server over svc; log (slog.Default() when nil) receives the
// detail of internal errors.
func New(svc *pricing.Service, log *slog.Logger) *Server {
	if log == nil {
		log = slog.Default()
	}
	return &Server{svc: svc, log: log}
}

// ListModelPrices implements authv1.PricingServiceServer.
func (s *Server) ListModelPrices(ctx context.Context, req *authv1.ListModelPricesRequest) (*authv1.ListModelPricesResponse, error) {
	projectID, err := tenancy.OptionalID("project_id", req.GetProjectId())
	if err != nil {
		return nil, s.status(ctx, err)
	}
	prices, err := s.svc.ListPrices(ctx, projectID, req.GetAllProjects())
	if err != nil {
		return nil, s.status(ctx, err)
	}
	out := &authv1.ListModelPricesResponse{Prices: make([]*authv1.ModelPrice, 0, len(prices))}
	for _, p := range prices {
		out.Prices = append(out.Prices, priceProto(p))
	}
	return out, nil
}

// CreateModelPrice implements authv1.PricingServiceServer.
func (s *Server) CreateModelPrice(ctx context.Context, req *authv1.CreateModelPriceRequest) (*authv1.CreateModelPriceResponse, error) {
	in := req.GetPrice()
	if in == nil {
		return nil, s.status(ctx, grpcstatus.Field("price", "required"))
	}
	projectID, err := tenancy.OptionalID("price.project_id", in.GetProjectId())
	if err != nil {
		return nil, s.status(ctx, err)
	}
	np := pricing.NewPrice{
		ProjectID:    projectID,
		ModelName:    in.GetModelName(),
		MatchPattern: in.GetMatchPattern(),
		Prices:       in.GetPrices(),
	}
	if in.EffectiveFrom != nil {
		if np.EffectiveFrom, err = timestamp("price.effective_from", in.GetEffectiveFrom()); err != nil {
			return nil, s.status(ctx, err)
		}
	}
	p, err := s.svc.CreatePrice(ctx, np)
	if err != nil {
		return nil, s.status(ctx, err)
	}
	return &authv1.CreateModelPriceResponse{Price: priceProto(p)}, nil
}

// UpdateModelPrice implements authv1.PricingServiceServer. Proto3 scalars
// carry no presence, so an empty string, an empty map or an absent
// timestamp leaves the stored value as it is.
func (s *Server) UpdateModelPrice(ctx context.Context, req *authv1.UpdateModelPriceRequest) (*authv1.UpdateModelPriceResponse, error) {
	in := req.GetPrice()
	if in == nil {
		return nil, s.status(ctx, grpcstatus.Field("price", "required"))
	}
	id, err := tenancy.RequiredID("price.id", in.GetId())
	if err != nil {
		return nil, s.status(ctx, err)
	}
	var patch pricing.PricePatch
	if patch.ProjectID, err = tenancy.OptionalID("price.project_id", in.GetProjectId()); err != nil {
		return nil, s.status(ctx, err)
	}
	if in.GetModelName() != "" {
		patch.ModelName = &in.ModelName
	}
	if in.GetMatchPattern() != "" {
		patch.MatchPattern = &in.MatchPattern
	}
	if len(in.GetPrices()) > 0 {
		patch.Prices = in.GetPrices()
	}
	if in.EffectiveFrom != nil {
		t, err := timestamp("price.effective_from", in.GetEffectiveFrom())
		if err != nil {
			return nil, s.status(ctx, err)
		}
		patch.EffectiveFrom = &t
	}
	p, err := s.svc.UpdatePrice(ctx, id, patch)
	if err != nil {
		return nil, s.status(ctx, err)
	}
	return &authv1.UpdateModelPriceResponse{Price: priceProto(p)}, nil
}

// DeleteModelPrice implements authv1.PricingServiceServer.
func (s *Server) DeleteModelPrice(ctx context.Context, req *authv1.DeleteModelPriceRequest) (*authv1.DeleteModelPriceResponse, error) {
	id, err := tenancy.RequiredID("id", req.GetId())
	if err != nil {
		return nil, s.status(ctx, err)
	}
	if err := s.svc.DeletePrice(ctx, id); err != nil {
		return nil, s.status(ctx, err)
	}
	return &authv1.DeleteModelPriceResponse{}, nil
}

// status maps pricing's own sentinel, then defers to the shared mapping of
// the tenancy errors the domain reuses.
func (s *Server) status(ctx context.Context, err error) error {
	if errors.Is(err, pricing.ErrPermissionDenied) {
		return status.Error(codes.PermissionDenied, err.Error())
	}
	return grpcstatus.Of(ctx, s.log, err)
}

func timestamp(field string, ts *timestamppb.Timestamp) (time.Time, error) {
	if err := ts.CheckValid(); err != nil {
		return time.Time{}, grpcstatus.Field(field, "must be a valid timestamp")
	}
	return ts.AsTime(), nil
}

func priceProto(p pricing.Price) *authv1.ModelPrice {
	out := &authv1.ModelPrice{
		Id:            p.ID.String(),
		ModelName:     p.ModelName,
		MatchPattern:  p.MatchPattern,
		Prices:        p.Prices,
		EffectiveFrom: timestamppb.New(p.EffectiveFrom),
		CreatedAt:     timestamppb.New(p.CreatedAt),
		UpdatedAt:     timestamppb.New(p.UpdatedAt),
	}
	if !p.Global() {
		out.ProjectId = p.ProjectID.String()
	}
	return out
}
