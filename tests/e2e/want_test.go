package e2e

import (
	"cmp"
	"maps"
	"slices"
	"strings"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	commonv1 "github.com/agenttrace/agenttrace/pkg/gen/agenttrace/common/v1"
	ingestv1 "github.com/agenttrace/agenttrace/pkg/gen/agenttrace/ingest/v1"
	queryv1 "github.com/agenttrace/agenttrace/pkg/gen/agenttrace/query/v1"
)

// want is the state query must show for one project, computed here from the
// events sent with the documented merge rule: per field, the newest event
// (by event timestamp) that set it wins; tags are the union of all versions;
// maps are the union of keys with the newest version winning a key.
type want struct {
	project      string
	traces       map[string]*commonv1.Trace
	observations map[string]*commonv1.Observation
	scores       map[string]*commonv1.Score
	sessions     map[string]*commonv1.Session
}

// merge computes the expected state of events (duplicates by event id are
// one event, as a retried batch must be).
func merge(project string, events []*ingestv1.IngestEvent) *want {
	seen := map[string]bool{}
	var distinct []*ingestv1.IngestEvent
	for _, e := range events {
		if !seen[e.GetId()] {
			seen[e.GetId()] = true
			distinct = append(distinct, e)
		}
	}
	// Oldest first, so that applying in order lets the newest win.
	slices.SortStableFunc(distinct, func(a, b *ingestv1.IngestEvent) int {
		return cmpTime(a.GetTimestamp(), b.GetTimestamp())
	})

	w := &want{
		project:      project,
		traces:       map[string]*commonv1.Trace{},
		observations: map[string]*commonv1.Observation{},
		scores:       map[string]*commonv1.Score{},
		sessions:     map[string]*commonv1.Session{},
	}
	for _, e := range distinct {
		switch {
		case e.GetTrace() != nil:
			w.applyTrace(e.GetTrace())
		case e.GetObservation() != nil:
			w.applyObservation(e.GetObservation())
		case e.GetScore() != nil:
			w.applyScore(e.GetScore())
		}
	}
	w.derive()
	return w
}

func (w *want) applyTrace(b *ingestv1.TraceBody) {
	t := w.traces[b.GetId()]
	if t == nil {
		t = &commonv1.Trace{Id: b.GetId(), ProjectId: w.project}
		w.traces[b.GetId()] = t
	}
	setString(&t.Name, b.Name)
	setTime(&t.Timestamp, b.GetTimestamp())
	setString(&t.UserId, b.UserId)
	setString(&t.SessionId, b.SessionId)
	t.Tags = union(t.Tags, b.GetTags())
	t.Metadata = overlay(t.Metadata, b.GetMetadata())
	setMessage(&t.Input, b.GetInput())
	setMessage(&t.Output, b.GetOutput())
	setString(&t.Release, b.Release)
	setString(&t.Version, b.Version)
	setString(&t.Environment, b.Environment)
}

func (w *want) applyObservation(b *ingestv1.ObservationBody) {
	o := w.observations[b.GetId()]
	if o == nil {
		o = &commonv1.Observation{Id: b.GetId(), ProjectId: w.project}
		w.observations[b.GetId()] = o
	}
	if b.GetTraceId() != "" {
		o.TraceId = b.GetTraceId()
	}
	setString(&o.ParentObservationId, b.ParentObservationId)
	if b.GetType() != commonv1.ObservationType_OBSERVATION_TYPE_UNSPECIFIED {
		o.Type = b.GetType()
	}
	setString(&o.Name, b.Name)
	setTime(&o.StartTime, b.GetStartTime())
	setTime(&o.EndTime, b.GetEndTime())
	setTime(&o.CompletionStartTime, b.GetCompletionStartTime())
	if b.GetLevel() != commonv1.ObservationLevel_OBSERVATION_LEVEL_UNSPECIFIED {
		o.Level = b.GetLevel()
	}
	setString(&o.StatusMessage, b.StatusMessage)
	setString(&o.Model, b.Model)
	o.ModelParameters = overlay(o.ModelParameters, b.GetModelParameters())
	if u := b.GetUsage(); u != nil {
		if o.Usage == nil {
			o.Usage = &commonv1.Usage{}
		}
		setOptional(&o.Usage.Input, u.Input)
		setOptional(&o.Usage.Output, u.Output)
		setOptional(&o.Usage.Total, u.Total)
		o.Usage.Details = overlay(o.Usage.Details, u.GetDetails())
	}
	if c := b.GetCost(); c != nil {
		if o.Cost == nil {
			o.Cost = &commonv1.Cost{}
		}
		setOptional(&o.Cost.Input, c.Input)
		setOptional(&o.Cost.Output, c.Output)
		setOptional(&o.Cost.Total, c.Total)
	}
	setMessage(&o.Input, b.GetInput())
	setMessage(&o.Output, b.GetOutput())
	o.Metadata = overlay(o.Metadata, b.GetMetadata())
	setString(&o.Version, b.Version)
	setString(&o.Environment, b.Environment)
}

func (w *want) applyScore(b *ingestv1.ScoreBody) {
	s := w.scores[b.GetId()]
	if s == nil {
		s = &commonv1.Score{Id: b.GetId(), ProjectId: w.project}
		w.scores[b.GetId()] = s
	}
	if b.GetTraceId() != "" {
		s.TraceId = b.GetTraceId()
	}
	setString(&s.ObservationId, b.ObservationId)
	setString(&s.SessionId, b.SessionId)
	setString(&s.Name, b.Name)
	if b.GetDataType() != commonv1.ScoreDataType_SCORE_DATA_TYPE_UNSPECIFIED {
		s.DataType = b.GetDataType()
	}
	if b.Value != nil {
		s.Value = b.GetValue()
	}
	setString(&s.StringValue, b.StringValue)
	setString(&s.Comment, b.Comment)
	if b.GetSource() != commonv1.ScoreSource_SCORE_SOURCE_UNSPECIFIED {
		s.Source = b.GetSource()
	}
	setTime(&s.Timestamp, b.GetTimestamp())
	s.Metadata = overlay(s.Metadata, b.GetMetadata())
	setString(&s.Environment, b.Environment)
}

// derive fills what query computes on read: trace totals from observations
// and sessions from traces.
func (w *want) derive() {
	for _, o := range w.observations {
		t := w.traces[o.GetTraceId()]
		if t == nil {
			continue
		}
		t.ObservationCount++
		if u := o.GetUsage(); u != nil {
			if t.Usage == nil {
				t.Usage = &commonv1.Usage{Input: proto.Int64(0), Output: proto.Int64(0), Total: proto.Int64(0)}
			}
			*t.Usage.Input += u.GetInput()
			*t.Usage.Output += u.GetOutput()
			*t.Usage.Total += u.GetTotal()
			for k, v := range u.GetDetails() {
				if t.Usage.Details == nil {
					t.Usage.Details = map[string]int64{}
				}
				t.Usage.Details[k] += v
			}
		}
		if c := o.GetCost(); c != nil {
			if t.Cost == nil {
				t.Cost = &commonv1.Cost{Input: proto.Float64(0), Output: proto.Float64(0), Total: proto.Float64(0)}
			}
			*t.Cost.Input += c.GetInput()
			*t.Cost.Output += c.GetOutput()
			*t.Cost.Total += c.GetTotal()
		}
	}
	// Levels and models of the observations, and the scores' summaries.
	for id, t := range w.traces {
		deriveLevelsAndModels(t, w.observationsOf(id))
	}
	scores := map[string][]*commonv1.Score{}
	for _, s := range w.scores {
		scores[s.GetTraceId()] = append(scores[s.GetTraceId()], s)
	}
	for id, t := range w.traces {
		t.ScoreSummaries = scoreSummariesOf(scores[id])
	}
	// Latency: from the earliest start to the latest end of the observations.
	for id, t := range w.traces {
		var first, last *timestamppb.Timestamp
		for _, o := range w.observationsOf(id) {
			if first == nil || cmpTime(o.GetStartTime(), first) < 0 {
				first = o.GetStartTime()
			}
			if o.GetEndTime() != nil && (last == nil || cmpTime(o.GetEndTime(), last) > 0) {
				last = o.GetEndTime()
			}
		}
		if first != nil && last != nil {
			t.LatencySeconds = last.AsTime().Sub(first.AsTime()).Seconds()
		}
	}
	for _, t := range w.traces {
		if t.GetSessionId() == "" {
			continue
		}
		s := w.sessions[t.GetSessionId()]
		if s == nil {
			s = &commonv1.Session{Id: t.GetSessionId(), ProjectId: w.project}
			w.sessions[s.Id] = s
		}
		s.TraceCount++
		if s.FirstSeen == nil || cmpTime(t.GetTimestamp(), s.FirstSeen) < 0 {
			s.FirstSeen = t.GetTimestamp()
		}
		if s.LastSeen == nil || cmpTime(t.GetTimestamp(), s.LastSeen) > 0 {
			s.LastSeen = t.GetTimestamp()
		}
		if u := t.GetUsage(); u != nil {
			if s.Usage == nil {
				s.Usage = &commonv1.Usage{Input: proto.Int64(0), Output: proto.Int64(0), Total: proto.Int64(0)}
			}
			*s.Usage.Input += u.GetInput()
			*s.Usage.Output += u.GetOutput()
			*s.Usage.Total += u.GetTotal()
			for k, v := range u.GetDetails() {
				if s.Usage.Details == nil {
					s.Usage.Details = map[string]int64{}
				}
				s.Usage.Details[k] += v
			}
		}
		if c := t.GetCost(); c != nil {
			if s.Cost == nil {
				s.Cost = &commonv1.Cost{Input: proto.Float64(0), Output: proto.Float64(0), Total: proto.Float64(0)}
			}
			*s.Cost.Input += c.GetInput()
			*s.Cost.Output += c.GetOutput()
			*s.Cost.Total += c.GetTotal()
		}
		s.UserIds = union(s.UserIds, []string{t.GetUserId()})
	}
}

// observationsOf lists a trace's observations by start time.
func (w *want) observationsOf(traceID string) []*commonv1.Observation {
	var out []*commonv1.Observation
	for _, o := range w.observations {
		if o.GetTraceId() == traceID {
			out = append(out, o)
		}
	}
	slices.SortFunc(out, func(a, b *commonv1.Observation) int { return cmpTime(a.GetStartTime(), b.GetStartTime()) })
	return out
}

// getTrace is the expected GetTrace answer: the observation tree with
// children by start time, and the trace's scores (ordered by id; the
// comparison ignores their order).
func (w *want) getTrace(id string) *queryv1.GetTraceResponse {
	obs := w.observationsOf(id)
	inTrace := map[string]bool{}
	for _, o := range obs {
		inTrace[o.GetId()] = true
	}
	children := map[string][]*commonv1.Observation{}
	for _, o := range obs {
		p := o.GetParentObservationId()
		if !inTrace[p] {
			p = ""
		}
		children[p] = append(children[p], o)
	}
	var build func(parent string) []*queryv1.ObservationNode
	build = func(parent string) []*queryv1.ObservationNode {
		var nodes []*queryv1.ObservationNode
		for _, o := range children[parent] {
			nodes = append(nodes, &queryv1.ObservationNode{Observation: o, Children: build(o.GetId())})
		}
		return nodes
	}
	resp := &queryv1.GetTraceResponse{Trace: w.traces[id], Observations: build("")}
	for _, s := range w.scoresByID() {
		if s.GetTraceId() == id {
			resp.Scores = append(resp.Scores, s)
		}
	}
	return resp
}

// getSession is the expected GetSession answer: the session, its traces
// oldest first, and the scores of the session and of its traces (ordered by
// id; the comparison ignores their order).
func (w *want) getSession(id string) *queryv1.GetSessionResponse {
	resp := &queryv1.GetSessionResponse{Session: w.sessions[id]}
	inSession := map[string]bool{}
	for _, t := range w.tracesNewestFirst() {
		if t.GetSessionId() == id {
			resp.Traces = append([]*commonv1.Trace{t}, resp.Traces...)
			inSession[t.GetId()] = true
		}
	}
	for _, s := range w.scoresByID() {
		if s.GetSessionId() == id || inSession[s.GetTraceId()] {
			resp.Scores = append(resp.Scores, s)
		}
	}
	return resp
}

func (w *want) tracesNewestFirst() []*commonv1.Trace {
	return slices.SortedFunc(maps.Values(w.traces), func(a, b *commonv1.Trace) int {
		return cmpTime(b.GetTimestamp(), a.GetTimestamp())
	})
}

func (w *want) observationsNewestFirst() []*commonv1.Observation {
	return slices.SortedFunc(maps.Values(w.observations), func(a, b *commonv1.Observation) int {
		return cmpTime(b.GetStartTime(), a.GetStartTime())
	})
}

func (w *want) scoresNewestFirst() []*commonv1.Score {
	return slices.SortedFunc(maps.Values(w.scores), func(a, b *commonv1.Score) int {
		return cmpTime(b.GetTimestamp(), a.GetTimestamp())
	})
}

func (w *want) scoresByID() []*commonv1.Score {
	return slices.SortedFunc(maps.Values(w.scores), func(a, b *commonv1.Score) int { return cmp.Compare(a.GetId(), b.GetId()) })
}

func (w *want) sessionsRecentFirst() []*commonv1.Session {
	return slices.SortedFunc(maps.Values(w.sessions), func(a, b *commonv1.Session) int {
		return cmpTime(b.GetLastSeen(), a.GetLastSeen())
	})
}

func cmpTime(a, b *timestamppb.Timestamp) int {
	if c := cmp.Compare(a.GetSeconds(), b.GetSeconds()); c != 0 {
		return c
	}
	return cmp.Compare(a.GetNanos(), b.GetNanos())
}

// The "set" helpers apply one event's field when the event set it; storage
// treats ” and absent alike, so an empty string never overrides.
func setString(dst *string, v *string) {
	if v != nil && *v != "" {
		*dst = *v
	}
}

func setTime(dst **timestamppb.Timestamp, v *timestamppb.Timestamp) {
	if v != nil {
		*dst = v
	}
}

func setMessage[M proto.Message](dst *M, v M) {
	if v.ProtoReflect().IsValid() {
		*dst = v
	}
}

func setOptional[T any](dst **T, v *T) {
	if v != nil {
		x := *v
		*dst = &x
	}
}

func union(a, b []string) []string {
	out := slices.Concat(a, b)
	slices.Sort(out)
	return slices.Compact(out)
}

func overlay[V any](dst, src map[string]V) map[string]V {
	if len(src) == 0 {
		return dst
	}
	if dst == nil {
		dst = map[string]V{}
	}
	maps.Copy(dst, src)
	return dst
}

// deriveLevelsAndModels sets what a trace's observations say of it: how
// many are at level ERROR and WARNING, and their models (sorted, each once).
func deriveLevelsAndModels(t *commonv1.Trace, obs []*commonv1.Observation) {
	for _, o := range obs {
		switch o.GetLevel() {
		case commonv1.ObservationLevel_OBSERVATION_LEVEL_ERROR:
			t.ErrorCount++
		case commonv1.ObservationLevel_OBSERVATION_LEVEL_WARNING:
			t.WarningCount++
		}
		if m := o.GetModel(); m != "" && !slices.Contains(t.Models, m) {
			t.Models = append(t.Models, m)
		}
	}
	slices.Sort(t.Models)
}

// scoreSummariesOf sums a trace's scores up per name, by name: their
// count, the mean of the numeric and boolean ones and the category of the
// newest categorical one (by timestamp, then id); nil when there are none.
func scoreSummariesOf(scores []*commonv1.Score) []*commonv1.ScoreSummary {
	scores = slices.Clone(scores)
	slices.SortFunc(scores, func(a, b *commonv1.Score) int {
		return cmp.Or(cmpTime(a.GetTimestamp(), b.GetTimestamp()), strings.Compare(a.GetId(), b.GetId()))
	})
	byName := map[string]*commonv1.ScoreSummary{}
	sums, counts := map[string]float64{}, map[string]int{}
	var names []string
	for _, s := range scores {
		sum := byName[s.GetName()]
		if sum == nil {
			sum = &commonv1.ScoreSummary{Name: s.GetName()}
			byName[s.GetName()] = sum
			names = append(names, s.GetName())
		}
		sum.Count++
		if s.GetDataType() == commonv1.ScoreDataType_SCORE_DATA_TYPE_CATEGORICAL {
			sum.LatestCategory = s.GetStringValue()
		} else {
			sums[s.GetName()] += s.GetValue()
			counts[s.GetName()]++
		}
	}
	slices.Sort(names)
	var out []*commonv1.ScoreSummary
	for _, n := range names {
		if counts[n] > 0 {
			byName[n].Average = proto.Float64(sums[n] / float64(counts[n]))
		}
		out = append(out, byName[n])
	}
	return out
}
