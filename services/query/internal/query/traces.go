package query

import (
	"context"
	"slices"
	"time"

	"golang.org/x/sync/errgroup"
	"google.golang.org/protobuf/proto"

	commonv1 "github.com/agenttrace/agenttrace/pkg/gen/agenttrace/common/v1"
	queryv1 "github.com/agenttrace/agenttrace/pkg/gen/agenttrace/query/v1"
)

// GetTrace returns a trace with one page of its observation tree, its
// scores and the fields derived from all its observations. Observations may
// be stored before their trace: such a trace is returned with its id and
// derived fields only.
//
// Observations are paged in (start time, id) order. Every page carries the
// whole trace and its scores, and its observations form a forest: one whose
// parent is on another page is a root there. Page size 0 reads the whole
// trace when it has at most MaxObservationsPageSize observations; a larger
// trace gets its first MaxObservationsPageSize and a next token, like any
// other page size, so that no single response grows without bound.
func (s *Service) GetTrace(ctx context.Context, projectID string, req *queryv1.GetTraceRequest) (*queryv1.GetTraceResponse, error) {
	traceID := req.GetTraceId()
	if traceID == "" {
		return nil, invalid("trace_id", "is required")
	}
	size, err := observationsPageSize(req.GetObservationsPageSize())
	if err != nil {
		return nil, err
	}
	// The digest covers the trace id (paging fields cleared), so a token
	// is refused for any other trace.
	digest := digestOf(req, nil)
	after, err := decodeToken("observations_page_token", req.GetObservationsPageToken(), digest)
	if err != nil {
		return nil, err
	}
	fields, err := observationFields(req.GetObservationView())
	if err != nil {
		return nil, err
	}
	// The days the trace has rows on bound the reads of its rows to their
	// partitions; a trace without rows is not found.
	days, ok, err := s.store.TraceDays(ctx, projectID, []string{traceID})
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, ErrNotFound
	}
	// The reads are independent: run them side by side, so a call takes
	// as long as the slowest, not the sum. The totals are derived from
	// the page when it holds the whole trace (most traces: no totals
	// query, which would merge every observation a second time); a later
	// page is of a trace larger than a page, so its totals are read beside
	// it, and a first page that is not the whole trace reads them after it.
	var (
		trace  *commonv1.Trace
		found  bool
		st     *TraceStats
		obs    []*commonv1.Observation
		scores []*commonv1.Score
	)
	totals := func(ctx context.Context) error {
		stats, err := s.store.TraceStats(ctx, projectID, []string{traceID}, days)
		st = stats[traceID]
		return err
	}
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() (err error) { trace, found, err = s.store.Trace(gctx, projectID, traceID, days); return err })
	if after != nil {
		g.Go(func() error { return totals(gctx) })
	}
	g.Go(func() (err error) {
		obs, err = s.store.TraceObservationPage(gctx, projectID, traceID, days, Page{After: after, Limit: size + 1}, fields)
		switch {
		case err != nil || after != nil:
			return err
		case len(obs) <= size:
			st = statsOf(obs)
			return nil
		}
		return totals(gctx)
	})
	g.Go(func() (err error) { scores, err = s.store.TraceScores(gctx, projectID, traceID); return err })
	if err := g.Wait(); err != nil {
		return nil, err
	}
	if !found {
		if st == nil {
			return nil, ErrNotFound
		}
		trace = &commonv1.Trace{Id: traceID, ProjectId: projectID, UpdatedAt: fromNanos(st.Updated)}
	}
	applyStats(trace, st)
	trace.ScoreSummaries = summarizeScores(scores)
	obs, next := nextPageToken(obs, size, digest, func(o *commonv1.Observation) Cursor {
		return Cursor{TS: tsNanos(o.GetStartTime()), ID: o.GetId()}
	})
	return &queryv1.GetTraceResponse{Trace: trace, Observations: buildTree(obs), Scores: scores, NextObservationsPageToken: next}, nil
}

// observationFields is what a read returns of each observation in view.
func observationFields(view queryv1.ObservationView) (ObservationFields, error) {
	switch view {
	case queryv1.ObservationView_OBSERVATION_VIEW_UNSPECIFIED, queryv1.ObservationView_OBSERVATION_VIEW_FULL:
		return AllFields, nil
	case queryv1.ObservationView_OBSERVATION_VIEW_BASIC:
		return BasicFields, nil
	}
	return 0, invalid("observation_view", "must be OBSERVATION_VIEW_FULL or OBSERVATION_VIEW_BASIC")
}

// GetObservation returns one observation of a trace, every field merged.
func (s *Service) GetObservation(ctx context.Context, projectID string, req *queryv1.GetObservationRequest) (*queryv1.GetObservationResponse, error) {
	traceID, id := req.GetTraceId(), req.GetObservationId()
	if traceID == "" {
		return nil, invalid("trace_id", "is required")
	}
	if id == "" {
		return nil, invalid("observation_id", "is required")
	}
	days, ok, err := s.store.TraceDays(ctx, projectID, []string{traceID})
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, ErrNotFound
	}
	o, found, err := s.store.Observation(ctx, projectID, traceID, id, days)
	if err != nil {
		return nil, err
	}
	if !found {
		return nil, ErrNotFound
	}
	return &queryv1.GetObservationResponse{Observation: o}, nil
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
	search, err := searchOf(req.GetSearch(), tr, time.Now())
	if err != nil {
		return nil, err
	}
	digest := digestOf(req, normalizeTraceFilter)
	after, err := decodePageToken(req.GetPageToken(), digest)
	if err != nil {
		return nil, err
	}
	ids, days, err := s.store.ListTraces(ctx, projectID, TraceFilter{
		Time:        tr,
		Name:        req.GetName(),
		UserID:      req.GetUserId(),
		SessionID:   req.GetSessionId(),
		Tags:        req.GetTags(),
		Environment: req.GetEnvironment(),
		Release:     req.GetRelease(),
		Search:      search,
	}, Page{After: after, Limit: size + 1})
	if err != nil {
		return nil, err
	}
	traces, err := s.derivedTraces(ctx, projectID, ids, days)
	if err != nil {
		return nil, err
	}
	traces, next := nextPageToken(traces, size, digest, func(t *commonv1.Trace) Cursor {
		return Cursor{TS: tsNanos(t.GetTimestamp()), ID: t.GetId()}
	})
	return &queryv1.ListTracesResponse{Traces: traces, NextPageToken: next}, nil
}

// derivedTraces merges the traces with the given ids, which have rows on
// days, in their order, with their derived fields: the merge, the totals
// and the scores, side by side. A trace whose rows vanished between the reads (a
// retention drop) is left out; the page then is one shorter.
func (s *Service) derivedTraces(ctx context.Context, projectID string, ids []string, days Days) ([]*commonv1.Trace, error) {
	if len(ids) == 0 {
		return nil, nil
	}
	var (
		byID   map[string]*commonv1.Trace
		stats  map[string]*TraceStats
		scores map[string][]*commonv1.Score
	)
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() (err error) { byID, err = s.store.Traces(gctx, projectID, ids, days); return err })
	g.Go(func() (err error) { stats, err = s.store.TraceStats(gctx, projectID, ids, days); return err })
	g.Go(func() (err error) { scores, err = s.store.TracesScores(gctx, projectID, ids); return err })
	if err := g.Wait(); err != nil {
		return nil, err
	}
	out := make([]*commonv1.Trace, 0, len(ids))
	for _, id := range ids {
		if t, ok := byID[id]; ok {
			applyStats(t, stats[id])
			t.ScoreSummaries = summarizeScores(scores[id])
			out = append(out, t)
		}
	}
	return out, nil
}

// normalizeTraceFilter makes tag lists that select the same traces (any
// order, repeats) hash alike.
func normalizeTraceFilter(m proto.Message) {
	r := m.(*queryv1.ListTracesRequest)
	r.Tags = slices.Compact(slices.Sorted(slices.Values(r.Tags)))
}
