package query_test

import (
	"slices"
	"strings"
	"testing"
	"time"

	commonv1 "github.com/agenttrace/agenttrace/pkg/gen/agenttrace/common/v1"
	queryv1 "github.com/agenttrace/agenttrace/pkg/gen/agenttrace/query/v1"
	"github.com/agenttrace/agenttrace/services/query/internal/chtest"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// day is 24 hours in seconds, for at().
const day = 24 * 60 * 60

// Search finds a text, ignoring case, in the names, inputs and outputs of
// the versions written in the window, whatever the merge kept.
func TestSearch(t *testing.T) {
	svc, conn := newService(t)
	chtest.InsertTraces(t, conn,
		chtest.Trace{ProjectID: proj, ID: "t-name", Name: "Weather agent", Timestamp: at(10), EventTS: at(10)},
		chtest.Trace{ProjectID: proj, ID: "t-input", Name: "chat", Input: `{"q":"wie ist das WÖRLD-Wetter"}`, Timestamp: at(20), EventTS: at(20)},
		chtest.Trace{ProjectID: proj, ID: "t-replaced", Name: "chat", Output: "weather is fine", Timestamp: at(30), EventTS: at(30)},
		chtest.Trace{ProjectID: proj, ID: "t-replaced", Output: "it rains", EventTS: at(31)}, // the old output still finds it
		chtest.Trace{ProjectID: proj, ID: "t-none", Name: "chat", Input: "hello", Timestamp: at(40), EventTS: at(40)},
		// Its timestamp is in the range, but its version was written 40
		// days before the window, which the search does not read.
		chtest.Trace{ProjectID: proj, ID: "t-old", Name: "weather", Timestamp: at(50), EventTS: base - 40*day*1e9},
		chtest.Trace{ProjectID: other, ID: "t-other", Name: "weather", Timestamp: at(10), EventTS: at(10)},
	)
	chtest.InsertObservations(t, conn,
		chtest.Observation{ProjectID: proj, TraceID: "t-none", ID: "o1", Type: "GENERATION", Name: "llm", Output: "Sunny WEATHER ahead", Start: at(41), EventTS: at(41)},
		chtest.Observation{ProjectID: proj, TraceID: "t-none", ID: "o2", Type: "SPAN", Name: "weather-tool", Start: at(42), EventTS: at(42)},
		chtest.Observation{ProjectID: proj, TraceID: "t-none", ID: "o3", Type: "SPAN", Name: "other", Start: at(43), EventTS: at(43)},
	)
	from, to := ts(0), ts(day)

	traceIDs := func(req *queryv1.ListTracesRequest) []string {
		t.Helper()
		resp, err := svc.ListTraces(ctx, proj, req)
		if err != nil {
			t.Fatalf("ListTraces(%v): %v", req, err)
		}
		var ids []string
		for _, tr := range resp.GetTraces() {
			ids = append(ids, tr.GetId())
		}
		return ids
	}
	for _, tt := range []struct {
		text string
		want []string
	}{
		{"weather", []string{"t-replaced", "t-name"}},
		{"wörld-wetter", []string{"t-input"}},
		{"nothing like this", nil},
	} {
		if got := traceIDs(&queryv1.ListTracesRequest{Search: tt.text, FromTime: from, ToTime: to}); !slices.Equal(got, tt.want) {
			t.Errorf("search %q = %v, want %v", tt.text, got, tt.want)
		}
	}
	// Other filters still apply.
	if got := traceIDs(&queryv1.ListTracesRequest{Search: "weather", Name: "chat", FromTime: from, ToTime: to}); !slices.Equal(got, []string{"t-replaced"}) {
		t.Errorf("search with a name = %v", got)
	}

	obs, err := svc.ListObservations(ctx, proj, &queryv1.ListObservationsRequest{Search: "weather", FromTime: from, ToTime: to})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, o := range obs.GetObservations() {
		got = append(got, o.GetId())
	}
	if !slices.Equal(got, []string{"o2", "o1"}) {
		t.Errorf("observations searched = %v, want [o2 o1]", got)
	}
	obs, err = svc.ListObservations(ctx, proj, &queryv1.ListObservationsRequest{Search: "weather", FromTime: from, ToTime: to,
		Type: commonv1.ObservationType_OBSERVATION_TYPE_GENERATION})
	if err != nil || len(obs.GetObservations()) != 1 || obs.GetObservations()[0].GetId() != "o1" {
		t.Errorf("generations searched = %v, %v", obs.GetObservations(), err)
	}
}

// A search needs a window no wider than 31 days, and a short text.
func TestSearchBounds(t *testing.T) {
	svc, _ := newService(t)
	now := time.Now()
	for _, tt := range []struct {
		name  string
		req   *queryv1.ListTracesRequest
		field string
	}{
		{"no window", &queryv1.ListTracesRequest{Search: "x"}, "from_time"},
		{"too wide", &queryv1.ListTracesRequest{Search: "x", FromTime: ts(0), ToTime: ts(32 * day)}, "from_time"},
		{"too wide up to now", &queryv1.ListTracesRequest{Search: "x", FromTime: timestamppb.New(now.Add(-32 * 24 * time.Hour))}, "from_time"},
		{"from the future", &queryv1.ListTracesRequest{Search: "x", FromTime: timestamppb.New(now.Add(time.Hour))}, "from_time"},
		{"too long", &queryv1.ListTracesRequest{Search: strings.Repeat("é", 201), FromTime: ts(0), ToTime: ts(day)}, "search"},
	} {
		_, err := svc.ListTraces(ctx, proj, tt.req)
		if got := fieldOf(t, err); got != tt.field {
			t.Errorf("%s: field %q, want %q", tt.name, got, tt.field)
		}
		_, err = svc.ListObservations(ctx, proj, &queryv1.ListObservationsRequest{Search: tt.req.Search, FromTime: tt.req.FromTime, ToTime: tt.req.ToTime})
		if got := fieldOf(t, err); got != tt.field {
			t.Errorf("%s (observations): field %q, want %q", tt.name, got, tt.field)
		}
	}
	// Up to now, within 31 days, is fine.
	if _, err := svc.ListTraces(ctx, proj, &queryv1.ListTracesRequest{Search: "x", FromTime: timestamppb.New(now.Add(-30 * 24 * time.Hour))}); err != nil {
		t.Errorf("a 30-day search up to now: %v", err)
	}
}
