package query

import (
	"context"

	commonv1 "github.com/agenttrace/agenttrace/pkg/gen/agenttrace/common/v1"
	queryv1 "github.com/agenttrace/agenttrace/pkg/gen/agenttrace/query/v1"
)

// ListScores returns a page of scores, newest first.
func (s *Service) ListScores(ctx context.Context, projectID string, req *queryv1.ListScoresRequest) (*queryv1.ListScoresResponse, error) {
	size, err := pageSize(req.GetPageSize())
	if err != nil {
		return nil, err
	}
	tr, err := timeRange(req.GetFromTime(), req.GetToTime())
	if err != nil {
		return nil, err
	}
	if _, ok := commonv1.ScoreSource_name[int32(req.GetSource())]; !ok {
		return nil, invalid("source", "unknown score source")
	}
	if _, ok := commonv1.ScoreDataType_name[int32(req.GetDataType())]; !ok {
		return nil, invalid("data_type", "unknown score data type")
	}
	digest := digestOf(req, nil)
	after, err := decodePageToken(req.GetPageToken(), digest)
	if err != nil {
		return nil, err
	}
	scores, err := s.store.ListScores(ctx, projectID, ScoreFilter{
		TraceID:       req.GetTraceId(),
		ObservationID: req.GetObservationId(),
		SessionID:     req.GetSessionId(),
		Name:          req.GetName(),
		Source:        req.GetSource(),
		DataType:      req.GetDataType(),
		Time:          tr,
	}, Page{After: after, Limit: size + 1})
	if err != nil {
		return nil, err
	}
	scores, next := nextPageToken(scores, size, digest, func(sc *commonv1.Score) Cursor {
		return Cursor{TS: tsNanos(sc.GetTimestamp()), ID: sc.GetId()}
	})
	return &queryv1.ListScoresResponse{Scores: scores, NextPageToken: next}, nil
}
