package query

import (
	"context"
	"slices"

	"google.golang.org/protobuf/proto"

	commonv1 "github.com/agenttrace/agenttrace/pkg/gen/agenttrace/common/v1"
	queryv1 "github.com/agenttrace/agenttrace/pkg/gen/agenttrace/query/v1"
	"github.com/agenttrace/agenttrace/services/query/internal/chstore"
)

// GetTrace returns a trace with its observation tree, its scores and the
// fields derived from its observations. Observations may be stored before
// their trace: such a trace is returned with its id and derived fields only.
func (s *Service) GetTrace(ctx context.Context, projectID string, req *queryv1.GetTraceRequest) (*queryv1.GetTraceResponse, error) {
	if req.GetTraceId() == "" {
		return nil, invalid("trace_id", "is required")
	}
	trace, found, err := s.store.Trace(ctx, projectID, req.GetTraceId())
	if err != nil {
		return nil, err
	}
	obs, err := s.store.TraceObservations(ctx, projectID, req.GetTraceId())
	if err != nil {
		return nil, err
	}
	if !found {
		if len(obs) == 0 {
			return nil, ErrNotFound
		}
		trace = &commonv1.Trace{Id: req.GetTraceId(), ProjectId: projectID}
		for _, o := range obs {
			if tsNanos(o.GetUpdatedAt()) > tsNanos(trace.GetUpdatedAt()) {
				trace.UpdatedAt = o.GetUpdatedAt()
			}
		}
	}
	applyStats(trace, statsOf(obs))
	scores, err := s.store.TraceScores(ctx, projectID, req.GetTraceId())
	if err != nil {
		return nil, err
	}
	return &queryv1.GetTraceResponse{Trace: trace, Observations: buildTree(obs), Scores: scores}, nil
}

// ListTraces returns a page of traces, newest first, with derived fields.
func (s *Service) ListTraces(ctx context.Context, projectID string, req *queryv1.ListTracesRequest) (*queryv1.ListTracesResponse, error) {
	size, err := pageSize(req.GetPageSize())
	if err != nil {
		return nil, err
	}
	tr, err := timeRange(req.GetFromTime(), req.GetToTime())
	if err != nil {
		return nil, err
	}
	for _, tag := range req.GetTags() {
		if tag == "" {
			return nil, invalid("tags", "must not contain empty tags")
		}
	}
	digest := digestOf(req, normalizeTraceFilter)
	after, err := decodePageToken(req.GetPageToken(), digest)
	if err != nil {
		return nil, err
	}
	traces, err := s.store.ListTraces(ctx, projectID, chstore.TraceFilter{
		Time:        tr,
		Name:        req.GetName(),
		UserID:      req.GetUserId(),
		SessionID:   req.GetSessionId(),
		Tags:        req.GetTags(),
		Environment: req.GetEnvironment(),
		Release:     req.GetRelease(),
	}, chstore.Page{After: after, Limit: size + 1})
	if err != nil {
		return nil, err
	}
	traces, next := nextPageToken(traces, size, digest, func(t *commonv1.Trace) chstore.Cursor {
		return chstore.Cursor{TS: tsNanos(t.GetTimestamp()), ID: t.GetId()}
	})
	if err := s.deriveTraces(ctx, projectID, traces); err != nil {
		return nil, err
	}
	return &queryv1.ListTracesResponse{Traces: traces, NextPageToken: next}, nil
}

// normalizeTraceFilter makes tag lists that select the same traces (any
// order, repeats) hash alike.
func normalizeTraceFilter(m proto.Message) {
	r := m.(*queryv1.ListTracesRequest)
	r.Tags = slices.Compact(slices.Sorted(slices.Values(r.Tags)))
}

// deriveTraces fills the derived fields of traces with one store call.
func (s *Service) deriveTraces(ctx context.Context, projectID string, traces []*commonv1.Trace) error {
	if len(traces) == 0 {
		return nil
	}
	ids := make([]string, len(traces))
	for i, t := range traces {
		ids[i] = t.GetId()
	}
	stats, err := s.store.TraceStats(ctx, projectID, ids)
	if err != nil {
		return err
	}
	for _, t := range traces {
		applyStats(t, stats[t.GetId()])
	}
	return nil
}
