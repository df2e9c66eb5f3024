package e2e

import (
	"cmp"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"testing"

	gocmp "github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/testing/protocmp"
	"google.golang.org/protobuf/types/known/timestamppb"

	commonv1 "github.com/agenttrace/agenttrace/pkg/gen/agenttrace/common/v1"
	queryv1 "github.com/agenttrace/agenttrace/pkg/gen/agenttrace/query/v1"
)

// compareOpts compare query answers with the expected state field by field.
// updated_at is when the worker wrote a row, which the test cannot predict;
// hasUpdatedAt checks it separately. Tags and user ids are sets. Sums of
// floating-point costs may differ in the last bits with summation order.
var compareOpts = gocmp.Options{
	protocmp.Transform(),
	protocmp.IgnoreFields(&commonv1.Trace{}, "updated_at"),
	protocmp.IgnoreFields(&commonv1.Observation{}, "updated_at"),
	protocmp.IgnoreFields(&commonv1.Score{}, "updated_at"),
	protocmp.SortRepeatedFields(&commonv1.Trace{}, "tags"),
	protocmp.SortRepeatedFields(&commonv1.Session{}, "user_ids"),
	cmpopts.EquateApprox(1e-9, 1e-12),
}

// problems collects mismatches so that a poller can retry and a final check
// can report all of them at once.
type problems []string

func (p *problems) addf(format string, args ...any) { *p = append(*p, fmt.Sprintf(format, args...)) }

// diff records a mismatch between want and got under what.
func (p *problems) diff(what string, want, got any) {
	if d := gocmp.Diff(want, got, compareOpts); d != "" {
		p.addf("%s mismatch (-want +got):\n%s", what, d)
	}
}

func (p *problems) check(err error) {
	if err != nil {
		p.addf("%v", err)
	}
}

// err summarises the problems, at most limit of them in full.
func (p problems) err() error {
	const limit = 8
	if len(p) == 0 {
		return nil
	}
	msg := strings.Join(p[:min(len(p), limit)], "\n")
	if len(p) > limit {
		msg += fmt.Sprintf("\n... and %d more problems", len(p)-limit)
	}
	return errors.New(msg)
}

// pages follows next_page_token from path until the last page.
func pages[R interface {
	proto.Message
	GetNextPageToken() string
}](t *testing.T, c *restClient, path string, q url.Values, newR func() R) ([]R, error) {
	t.Helper()
	var out []R
	seen := map[string]bool{}
	q = cloneValues(q)
	for {
		r := newR()
		if err := c.get(t, path+"?"+q.Encode(), r); err != nil {
			return nil, err
		}
		out = append(out, r)
		tok := r.GetNextPageToken()
		if tok == "" {
			return out, nil
		}
		if seen[tok] || len(out) > 500 {
			return nil, fmt.Errorf("GET %s: pagination does not end (token %q repeats or too many pages)", path, tok)
		}
		seen[tok] = true
		q.Set("page_token", tok)
	}
}

func cloneValues(q url.Values) url.Values {
	out := url.Values{}
	for k, v := range q {
		out[k] = slices.Clone(v)
	}
	return out
}

func listTraces(t *testing.T, c *restClient, q url.Values) ([]*commonv1.Trace, error) {
	ps, err := pages(t, c, "/api/v1/traces", q, func() *queryv1.ListTracesResponse { return new(queryv1.ListTracesResponse) })
	var out []*commonv1.Trace
	for _, p := range ps {
		out = append(out, p.GetTraces()...)
	}
	return out, err
}

func listObservations(t *testing.T, c *restClient, q url.Values) ([]*commonv1.Observation, error) {
	ps, err := pages(t, c, "/api/v1/observations", q, func() *queryv1.ListObservationsResponse { return new(queryv1.ListObservationsResponse) })
	var out []*commonv1.Observation
	for _, p := range ps {
		out = append(out, p.GetObservations()...)
	}
	return out, err
}

func listScores(t *testing.T, c *restClient, q url.Values) ([]*commonv1.Score, error) {
	ps, err := pages(t, c, "/api/v1/scores", q, func() *queryv1.ListScoresResponse { return new(queryv1.ListScoresResponse) })
	var out []*commonv1.Score
	for _, p := range ps {
		out = append(out, p.GetScores()...)
	}
	return out, err
}

func listSessions(t *testing.T, c *restClient, q url.Values) ([]*commonv1.Session, error) {
	ps, err := pages(t, c, "/api/v1/sessions", q, func() *queryv1.ListSessionsResponse { return new(queryv1.ListSessionsResponse) })
	var out []*commonv1.Session
	for _, p := range ps {
		out = append(out, p.GetSessions()...)
	}
	return out, err
}

// hasUpdatedAt checks that the one field the comparison ignores is set.
func hasUpdatedAt[M interface {
	GetId() string
	GetUpdatedAt() *timestamppb.Timestamp
}](p *problems, what string, msgs []M) {
	for _, m := range msgs {
		if m.GetUpdatedAt() == nil {
			p.addf("%s %s: updated_at not set", what, m.GetId())
		}
	}
}

// flatten walks an observation tree depth first.
func flatten(nodes []*queryv1.ObservationNode) []*commonv1.Observation {
	var out []*commonv1.Observation
	for _, n := range nodes {
		out = append(out, n.GetObservation())
		out = append(out, flatten(n.GetChildren())...)
	}
	return out
}

// ids lists the ids of msgs, to report order and duplicate problems tersely.
func ids[M interface{ GetId() string }](msgs []M) []string {
	out := make([]string, len(msgs))
	for i, m := range msgs {
		out[i] = m.GetId()
	}
	return out
}

// checkList compares a list answer with the expected list in order,
// reporting missing, extra, duplicate and misordered items by id before
// field differences.
func checkList[M interface {
	proto.Message
	GetId() string
}](p *problems, what string, want, got []M) {
	wantIDs, gotIDs := ids(want), ids(got)
	if dup := duplicates(gotIDs); len(dup) > 0 {
		p.addf("%s: duplicate ids %v", what, head(dup))
	}
	if !slices.Equal(wantIDs, gotIDs) {
		missing, extra := setDiff(wantIDs, gotIDs), setDiff(gotIDs, wantIDs)
		if len(missing) > 0 || len(extra) > 0 {
			p.addf("%s: want %d items, got %d; missing %v, unexpected %v", what, len(want), len(got), head(missing), head(extra))
			return
		}
		i := 0
		for wantIDs[i] == gotIDs[i] {
			i++
		}
		p.addf("%s: order differs from item %d: want %v, got %v", what, i, head(wantIDs[i:]), head(gotIDs[i:]))
		return
	}
	for i := range want {
		p.diff(fmt.Sprintf("%s[%d] %s", what, i, want[i].GetId()), want[i], got[i])
	}
}

// checkSet is checkList for answers whose order the API leaves open.
func checkSet[M interface {
	proto.Message
	GetId() string
}](p *problems, what string, want, got []M) {
	byID := func(ms []M) []M {
		return slices.SortedFunc(slices.Values(ms), func(a, b M) int { return cmp.Compare(a.GetId(), b.GetId()) })
	}
	checkList(p, what, byID(want), byID(got))
}

// checkTrace compares a GetTrace answer part by part, so that a difference
// is reported with little context: the trace, the shape of the tree, then
// each observation and score.
func checkTrace(p *problems, what string, want, got *queryv1.GetTraceResponse) {
	p.diff(what+": trace", want.GetTrace(), got.GetTrace())
	if ws, gs := treeShape(want.GetObservations(), ""), treeShape(got.GetObservations(), ""); !slices.Equal(ws, gs) {
		p.addf("%s: observation tree differs (-want +got):\n%s", what, gocmp.Diff(ws, gs))
	}
	checkSet(p, what+": observations", flatten(want.GetObservations()), flatten(got.GetObservations()))
	checkSet(p, what+": scores", want.GetScores(), got.GetScores())
}

// treeShape renders a tree as one line per node: its id indented by depth,
// in the order the API returns children.
func treeShape(nodes []*queryv1.ObservationNode, indent string) []string {
	var out []string
	for _, n := range nodes {
		out = append(out, indent+n.GetObservation().GetId())
		out = append(out, treeShape(n.GetChildren(), indent+"  ")...)
	}
	return out
}

// setDiff lists the elements of a that are not in b.
func setDiff(a, b []string) []string {
	in := map[string]bool{}
	for _, x := range b {
		in[x] = true
	}
	var out []string
	for _, x := range a {
		if !in[x] {
			out = append(out, x)
		}
	}
	return out
}

func duplicates(ids []string) []string {
	seen := map[string]int{}
	var dup []string
	for _, id := range ids {
		seen[id]++
		if seen[id] == 2 {
			dup = append(dup, id)
		}
	}
	return dup
}

func head(s []string) []string { return s[:min(len(s), 5)] }
