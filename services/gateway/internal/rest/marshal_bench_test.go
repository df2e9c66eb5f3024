package rest

import (
	"fmt"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/structpb"
	"google.golang.org/protobuf/types/known/timestamppb"

	commonv1 "github.com/agenttrace/agenttrace/pkg/gen/agenttrace/common/v1"
	queryv1 "github.com/agenttrace/agenttrace/pkg/gen/agenttrace/query/v1"
)

// benchObservation is a generation as the query service returns one: ids,
// times, usage, cost, model parameters, metadata and a chat-shaped input.
func benchObservation(i int) *commonv1.Observation {
	start := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC).Add(time.Duration(i) * 137 * time.Millisecond)
	input, _ := structpb.NewValue(map[string]any{
		"messages": []any{
			map[string]any{"role": "system", "content": "You are a helpful assistant."},
			map[string]any{"role": "user", "content": fmt.Sprintf("Question number %d: what is the weather like in Paris?", i)},
		},
	})
	output, _ := structpb.NewValue(map[string]any{"role": "assistant", "content": "It is sunny, 21°C, with a light breeze from the west."})
	return &commonv1.Observation{
		Id:                  fmt.Sprintf("obs-%06d", i),
		ProjectId:           "proj-1",
		TraceId:             "trace-1",
		ParentObservationId: "obs-000000",
		Type:                commonv1.ObservationType_OBSERVATION_TYPE_GENERATION,
		Name:                "chat-completion",
		StartTime:           timestamppb.New(start),
		EndTime:             timestamppb.New(start.Add(850 * time.Millisecond)),
		Level:               commonv1.ObservationLevel_OBSERVATION_LEVEL_DEFAULT,
		Model:               "gpt-4o-mini",
		ModelParameters:     map[string]string{"temperature": "0.2", "max_tokens": "512"},
		Usage: &commonv1.Usage{
			Input: proto.Int64(int64(1200 + i)), Output: proto.Int64(340), Total: proto.Int64(int64(1540 + i)),
			Details: map[string]int64{"cached_input": 300, "reasoning_output": 12},
		},
		Cost:        &commonv1.Cost{Input: proto.Float64(0.00018), Output: proto.Float64(0.000204), Total: proto.Float64(0.000384)},
		Input:       input,
		Output:      output,
		Metadata:    map[string]string{"agent": "planner", "step": fmt.Sprint(i)},
		Environment: "production",
		UpdatedAt:   timestamppb.New(start.Add(2 * time.Second)),
	}
}

// benchGetTrace is a GetTrace response with n observations: one root whose
// children each have a child, and a few scores.
func benchGetTrace(n int) *queryv1.GetTraceResponse {
	root := &queryv1.ObservationNode{Observation: benchObservation(0)}
	for i := 1; i+1 < n; i += 2 {
		root.Children = append(root.Children, &queryv1.ObservationNode{
			Observation: benchObservation(i),
			Children:    []*queryv1.ObservationNode{{Observation: benchObservation(i + 1)}},
		})
	}
	resp := &queryv1.GetTraceResponse{
		Trace: &commonv1.Trace{
			Id: "trace-1", ProjectId: "proj-1", Name: "agent-run", Timestamp: timestamppb.New(time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)),
			UserId: "user-1", SessionId: "session-1", Tags: []string{"prod", "planner"},
			Usage:            &commonv1.Usage{Input: proto.Int64(400000), Output: proto.Int64(100000), Total: proto.Int64(500000)},
			Cost:             &commonv1.Cost{Total: proto.Float64(0.12)},
			LatencySeconds:   41.2,
			ObservationCount: int64(n),
		},
	}
	for i := range 5 {
		resp.Scores = append(resp.Scores, &commonv1.Score{
			Id: fmt.Sprintf("score-%d", i), TraceId: "trace-1", Name: "helpfulness",
			DataType: commonv1.ScoreDataType_SCORE_DATA_TYPE_NUMERIC, Value: 0.8, Source: commonv1.ScoreSource_SCORE_SOURCE_EVAL,
			Timestamp: timestamppb.Now(),
		})
	}
	resp.Observations = []*queryv1.ObservationNode{root}
	return resp
}

func benchListObservations(n int) *queryv1.ListObservationsResponse {
	resp := &queryv1.ListObservationsResponse{NextPageToken: "eyJvZmZzZXQiOjMwMH0"}
	for i := range n {
		resp.Observations = append(resp.Observations, benchObservation(i))
	}
	return resp
}

// BenchmarkMarshal measures the REST response encoding of large query
// responses (300 observations):
//
//	go test -run '^$' -bench Marshal -benchmem ./internal/rest
func BenchmarkMarshal(b *testing.B) {
	m := newJSONMarshaler()
	for _, bc := range []struct {
		name string
		msg  proto.Message
	}{
		{"GetTrace300", benchGetTrace(300)},
		{"ListObservations300", benchListObservations(300)},
	} {
		b.Run(bc.name, func(b *testing.B) {
			out, err := m.Marshal(bc.msg)
			if err != nil {
				b.Fatal(err)
			}
			b.SetBytes(int64(len(out)))
			b.ReportAllocs()
			for b.Loop() {
				if _, err := m.Marshal(bc.msg); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
