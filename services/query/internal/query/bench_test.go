package query

import (
	"fmt"
	"testing"

	queryv1 "github.com/agenttrace/agenttrace/pkg/gen/agenttrace/query/v1"
	"github.com/agenttrace/agenttrace/services/query/internal/chstore"
	"github.com/agenttrace/agenttrace/services/query/internal/chtest"
)

// BenchmarkGetTrace20k measures GetTrace of one trace of 20,000 observations
// (each a create and an update version, four levels deep, with small inputs
// and outputs), the design target being 500 ms on a 2-core machine:
//
//	go test -run XXX -bench GetTrace20k -benchtime 5x ./internal/query/
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
	req := &queryv1.GetTraceRequest{TraceId: "big"}
	b.ResetTimer()
	for b.Loop() {
		resp, err := svc.GetTrace(ctx, proj, req)
		if err != nil {
			b.Fatal(err)
		}
		if resp.GetTrace().GetObservationCount() != n {
			b.Fatalf("observation count %d", resp.GetTrace().GetObservationCount())
		}
	}
}
