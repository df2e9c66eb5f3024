package query

import (
	"context"
	"time"

	commonv1 "github.com/agenttrace/agenttrace/pkg/gen/agenttrace/common/v1"
	queryv1 "github.com/agenttrace/agenttrace/pkg/gen/agenttrace/query/v1"
)

// ListObservations returns a page of observations, newest start first.
func (s *Service) ListObservations(ctx context.Context, projectID string, req *queryv1.ListObservationsRequest) (*queryv1.ListObservationsResponse, error) {
	size, err := pageSize(req.GetPageSize())
	if err != nil {
		return nil, err
	}
	tr, err := timeRange(req.GetFromTime(), req.GetToTime())
	if err != nil {
		return nil, err
	}
	if _, ok := commonv1.ObservationType_name[int32(req.GetType())]; !ok {
		return nil, invalid("type", "unknown observation type")
	}
	if _, ok := commonv1.ObservationLevel_name[int32(req.GetLevel())]; !ok {
		return nil, invalid("level", "unknown observation level")
	}
	search, err := searchOf(req.GetSearch(), tr, time.Now())
	if err != nil {
		return nil, err
	}
	digest := digestOf(req, nil)
	after, err := decodePageToken(req.GetPageToken(), digest)
	if err != nil {
		return nil, err
	}
	obs, err := s.store.ListObservations(ctx, projectID, ObservationFilter{
		TraceID: req.GetTraceId(),
		Type:    req.GetType(),
		Model:   req.GetModel(),
		Level:   req.GetLevel(),
		Name:    req.GetName(),
		Time:    tr,
		Search:  search,
	}, Page{After: after, Limit: size + 1})
	if err != nil {
		return nil, err
	}
	obs, next := nextPageToken(obs, size, digest, func(o *commonv1.Observation) Cursor {
		return Cursor{TS: tsNanos(o.GetStartTime()), ID: o.GetId(), Tie: o.GetTraceId()}
	})
	return &queryv1.ListObservationsResponse{Observations: obs, NextPageToken: next}, nil
}
