package query_test

import (
	"fmt"
	"testing"

	queryv1 "github.com/agenttrace/agenttrace/pkg/gen/agenttrace/query/v1"
	"github.com/agenttrace/agenttrace/services/query/internal/chstore"
	"github.com/agenttrace/agenttrace/services/query/internal/chtest"

	. "github.com/agenttrace/agenttrace/services/query/internal/query"
)

// BenchmarkGetTrace20k measures GetTrace on one trace of 20,000
// observations (each a create and an update version, five levels deep, with
// small inputs and outputs), the design target being 500 ms for the whole
// trace on a 2-core machine:
//
//	go test -run XXX -bench GetTrace20k -benchtime 5x ./internal/query/
//
// Sub-benchmarks: "size0" is observations_page_size 0 (the first 10,000,
// the cap); "whole" reads all 20,000 in two pages of 10,000; "first100" and
// "middle100" read one page of 100 from the start and after 10,000.
func BenchmarkGetTrace20k(b *testing.B) {
	const n = 20_000
	conn := chtest.NewDB(b)
	svc := New(chstore.New(conn))
	chtest.InsertTraces(b, conn, chtest.Trace{ProjectID: proj, ID: "big", Timestamp: at(0), Name: "agent", EventTS: at(0)})
	rows := make([]chtest.Observation, 0, 2*n)
	for i := range n {
		parent := ""
		if i > 0 {
			parent = fmt.Sprint("o", (i-1)/10) // fan-out 10: five levels deep
		}
		id := fmt.Sprint("o", i)
		rows = append(rows,
			chtest.Observation{ProjectID: proj, TraceID: "big", ID: id, ParentID: parent, Type: "GENERATION", Name: "step",
				Start: at(float64(i) / 1000), Model: "gpt", Input: fmt.Sprintf(`{"prompt":"question number %d, with some context"}`, i),
				UsageInput: chtest.I(100), Metadata: [][2]string{{"k", "v"}}, EventTS: at(float64(i) / 1000)},
			chtest.Observation{ProjectID: proj, TraceID: "big", ID: id, End: at(float64(i)/1000 + 1), Output: `"an answer"`,
				UsageOutput: chtest.I(20), CostTotal: chtest.F(0.001), EventTS: at(float64(i)/1000 + 1)},
		)
	}
	chtest.InsertObservations(b, conn, rows...)

	get := func(b *testing.B, req *queryv1.GetTraceRequest, want int) string {
		resp, err := svc.GetTrace(ctx, proj, req)
		if err != nil {
			b.Fatal(err)
		}
		if resp.GetTrace().GetObservationCount() != n {
			b.Fatalf("observation count %d", resp.GetTrace().GetObservationCount())
		}
		if got := countNodes(resp.GetObservations()); got != want {
			b.Fatalf("%d observations on the page, want %d", got, want)
		}
		return resp.GetNextObservationsPageToken()
	}
	middle := get(b, &queryv1.GetTraceRequest{TraceId: "big", ObservationsPageSize: n / 2}, n/2)

	b.Run("size0", func(b *testing.B) {
		for b.Loop() {
			get(b, &queryv1.GetTraceRequest{TraceId: "big"}, MaxObservationsPageSize)
		}
	})
	b.Run("whole", func(b *testing.B) {
		for b.Loop() {
			token := get(b, &queryv1.GetTraceRequest{TraceId: "big", ObservationsPageSize: n / 2}, n/2)
			if get(b, &queryv1.GetTraceRequest{TraceId: "big", ObservationsPageSize: n / 2, ObservationsPageToken: token}, n/2) != "" {
				b.Fatal("more than two pages")
			}
		}
	})
	b.Run("first100", func(b *testing.B) {
		for b.Loop() {
			get(b, &queryv1.GetTraceRequest{TraceId: "big", ObservationsPageSize: 100}, 100)
		}
	})
	b.Run("middle100", func(b *testing.B) {
		for b.Loop() {
			get(b, &queryv1.GetTraceRequest{TraceId: "big", ObservationsPageSize: 100, ObservationsPageToken: middle}, 100)
		}
	})
}

func countNodes(nodes []*queryv1.ObservationNode) int {
	n := len(nodes)
	for _, c := range nodes {
		n += countNodes(c.GetChildren())
	}
	return n
}
