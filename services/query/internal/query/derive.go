package query

import (
	"slices"
	"strings"

	"google.golang.org/protobuf/proto"

	commonv1 "github.com/agenttrace/agenttrace/pkg/gen/agenttrace/common/v1"
)

// applyStats fills a trace's derived fields. Latency runs from the earliest
// start to the latest end of its observations (the proto's contract): the
// trace timestamp is when the client opened the trace, not when work began.
func applyStats(t *commonv1.Trace, st *TraceStats) {
	if st == nil {
		return
	}
	t.Usage, t.Cost, t.ObservationCount = st.Usage, st.Cost, st.ObservationCount
	t.ErrorCount, t.WarningCount, t.Models = st.ErrorCount, st.WarningCount, st.Models
	if st.MinStart != 0 && st.MaxEnd > st.MinStart {
		t.LatencySeconds = float64(st.MaxEnd-st.MinStart) / 1e9
	}
}

// statsOf derives the totals of a trace from all of its merged
// observations, as the store's TraceStats derives them in ClickHouse (the
// same sums, the same effective usage totals, each usage detail's newest
// value); nil when there are none, as TraceStats leaves such a trace out.
func statsOf(obs []*commonv1.Observation) *TraceStats {
	if len(obs) == 0 {
		return nil
	}
	st := &TraceStats{ObservationCount: int64(len(obs))}
	for _, o := range obs {
		st.Usage, st.Cost = addUsage(st.Usage, o.GetUsage()), addCost(st.Cost, o.GetCost())
		if start := tsNanos(o.GetStartTime()); start != 0 && (st.MinStart == 0 || start < st.MinStart) {
			st.MinStart = start
		}
		st.MaxEnd = max(st.MaxEnd, tsNanos(o.GetEndTime()))
		st.Updated = max(st.Updated, tsNanos(o.GetUpdatedAt()))
		switch o.GetLevel() {
		case commonv1.ObservationLevel_OBSERVATION_LEVEL_ERROR:
			st.ErrorCount++
		case commonv1.ObservationLevel_OBSERVATION_LEVEL_WARNING:
			st.WarningCount++
		}
		if m := o.GetModel(); m != "" && !slices.Contains(st.Models, m) && len(st.Models) < MaxTraceModels {
			st.Models = append(st.Models, m)
		}
	}
	slices.Sort(st.Models)
	return st
}

// addUsage returns sum + u, allocating only once something is set.
func addUsage(sum, u *commonv1.Usage) *commonv1.Usage {
	if u == nil {
		return sum
	}
	if sum == nil {
		sum = &commonv1.Usage{}
	}
	sum.Input = addInt(sum.Input, u.Input)
	sum.Output = addInt(sum.Output, u.Output)
	sum.Total = addInt(sum.Total, u.Total)
	for k, v := range u.GetDetails() {
		if sum.Details == nil {
			sum.Details = map[string]int64{}
		}
		sum.Details[k] += v
	}
	return sum
}

// addCost returns sum + c, allocating only once something is set.
func addCost(sum, c *commonv1.Cost) *commonv1.Cost {
	if c == nil {
		return sum
	}
	if sum == nil {
		sum = &commonv1.Cost{}
	}
	sum.Input = addFloat(sum.Input, c.Input)
	sum.Output = addFloat(sum.Output, c.Output)
	sum.Total = addFloat(sum.Total, c.Total)
	return sum
}

// addInt adds optional values: unset + unset stays unset.
func addInt(a, b *int64) *int64 {
	switch {
	case b == nil:
		return a
	case a == nil:
		v := *b
		return &v
	}
	v := *a + *b
	return &v
}

func addFloat(a, b *float64) *float64 {
	switch {
	case b == nil:
		return a
	case a == nil:
		v := *b
		return &v
	}
	v := *a + *b
	return &v
}

// summarizeScores sums up a trace's scores (oldest first) per name, by
// name: their count, the mean of the numeric and boolean ones and the
// newest categorical value; nil when there are none.
func summarizeScores(scores []*commonv1.Score) []*commonv1.ScoreSummary {
	type acc struct {
		sum *commonv1.ScoreSummary
		n   int
		tot float64
	}
	byName := map[string]*acc{}
	for _, sc := range scores {
		a := byName[sc.GetName()]
		if a == nil {
			a = &acc{sum: &commonv1.ScoreSummary{Name: sc.GetName()}}
			byName[sc.GetName()] = a
		}
		a.sum.Count++
		if sc.GetDataType() == commonv1.ScoreDataType_SCORE_DATA_TYPE_CATEGORICAL {
			a.sum.LatestCategory = sc.GetStringValue()
		} else {
			a.n++
			a.tot += sc.GetValue()
		}
	}
	out := make([]*commonv1.ScoreSummary, 0, len(byName))
	for _, a := range byName {
		if a.n > 0 {
			a.sum.Average = proto.Float64(a.tot / float64(a.n))
		}
		out = append(out, a.sum)
	}
	if len(out) == 0 {
		return nil
	}
	slices.SortFunc(out, func(a, b *commonv1.ScoreSummary) int { return strings.Compare(a.GetName(), b.GetName()) })
	return out
}
