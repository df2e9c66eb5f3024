package ingestion

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	commonv1 "github.com/agenttrace/agenttrace/pkg/gen/agenttrace/common/v1"
	ingestv1 "github.com/agenttrace/agenttrace/pkg/gen/agenttrace/ingest/v1"
	"github.com/agenttrace/agenttrace/services/ingest/internal/validation"
)

// recorder is a Publisher that keeps what it was given (or fails with err).
// The real JetStream publisher is tested against NATS in its own package and
// end to end in ingestapi; here only the domain's decisions are under test.
type recorder struct {
	envs []*ingestv1.EventEnvelope
	err  error
}

func (r *recorder) Publish(ctx context.Context, env *ingestv1.EventEnvelope) error {
	if r.err != nil {
		return r.err
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	r.envs = append(r.envs, proto.Clone(env).(*ingestv1.EventEnvelope))
	return nil
}

var now = time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)

func newService(t *testing.T, pub Publisher) (*Service, *Metrics) {
	t.Helper()
	m, err := NewMetrics(prometheus.NewRegistry())
	if err != nil {
		t.Fatal(err)
	}
	return NewService(Config{
		Publisher: pub, Limits: validation.DefaultLimits(), MaxBatch: 3, Metrics: m,
		Log: slog.New(slog.DiscardHandler), Now: func() time.Time { return now },
	}), m
}

func trace(id string) *ingestv1.IngestEvent {
	return &ingestv1.IngestEvent{Id: id, Type: ingestv1.EventType_EVENT_TYPE_TRACE_CREATE, Trace: &ingestv1.TraceBody{Id: "t-" + id}}
}

func TestIngest(t *testing.T) {
	clientTS := timestamppb.New(now.Add(-time.Hour))
	withTS := trace("a")
	withTS.Timestamp = clientTS
	score := &ingestv1.IngestEvent{Id: "s", Type: ingestv1.EventType_EVENT_TYPE_SCORE_CREATE,
		Score: &ingestv1.ScoreBody{Id: "s1", TraceId: "t", Name: proto.String("q"), Value: proto.Float64(1)}}
	invalid := &ingestv1.IngestEvent{Id: "bad", Type: ingestv1.EventType_EVENT_TYPE_OBSERVATION_CREATE,
		Observation: &ingestv1.ObservationBody{Id: "o", Type: commonv1.ObservationType_OBSERVATION_TYPE_SPAN}}

	pub := &recorder{}
	svc, m := newService(t, pub)
	out, err := svc.Ingest(context.Background(), "proj", []*ingestv1.IngestEvent{withTS, invalid, score})
	if err != nil {
		t.Fatal(err)
	}
	if out.Accepted != 2 || out.Rejected != 1 || len(out.Results) != 3 {
		t.Fatalf("outcome = %+v", out)
	}
	want := []struct {
		id, field string
	}{{"a", ""}, {"bad", "observation.trace_id"}, {"s", ""}}
	for i, w := range want {
		r := out.Results[i]
		if r.Index != i || r.ID != w.id {
			t.Errorf("result %d = %+v, want id %q", i, r, w.id)
		}
		if (r.Err == nil) != (w.field == "") || (r.Err != nil && r.Err.Field != w.field) {
			t.Errorf("result %d error = %v, want field %q", i, r.Err, w.field)
		}
	}

	if len(pub.envs) != 1 {
		t.Fatalf("published %d envelopes, want 1", len(pub.envs))
	}
	env := pub.envs[0]
	if env.GetProjectId() != "proj" || !env.GetReceivedAt().AsTime().Equal(now) || len(env.GetEvents()) != 2 {
		t.Fatalf("envelope = %v", env)
	}
	if !proto.Equal(env.Events[0].GetTimestamp(), clientTS) {
		t.Errorf("client timestamp replaced: %v", env.Events[0].GetTimestamp())
	}
	got := env.Events[1]
	if !got.GetTimestamp().AsTime().Equal(now) {
		t.Errorf("missing timestamp filled with %v, want received time %v", got.GetTimestamp().AsTime(), now)
	}
	if got.GetScore().GetSource() != commonv1.ScoreSource_SCORE_SOURCE_API || got.GetScore().GetDataType() != commonv1.ScoreDataType_SCORE_DATA_TYPE_NUMERIC {
		t.Errorf("score defaults = %v %v, want API NUMERIC", got.GetScore().GetSource(), got.GetScore().GetDataType())
	}

	for _, c := range []struct {
		typ, outcome string
		want         float64
	}{{"trace_create", "accepted", 1}, {"score_create", "accepted", 1}, {"observation_create", "rejected", 1}, {"trace_create", "unavailable", 0}} {
		if v := testutil.ToFloat64(m.events.WithLabelValues(c.typ, c.outcome)); v != c.want {
			t.Errorf("events_total{type=%q,outcome=%q} = %v, want %v", c.typ, c.outcome, v, c.want)
		}
	}
	if n := testutil.CollectAndCount(m.batches); n != 1 {
		t.Errorf("batch histogram has %d series", n)
	}
}

func TestComplete(t *testing.T) {
	received := timestamppb.New(now)
	tests := []struct {
		name  string
		event *ingestv1.IngestEvent
		check func(*testing.T, *ingestv1.IngestEvent)
	}{
		{"categorical inferred", &ingestv1.IngestEvent{Type: ingestv1.EventType_EVENT_TYPE_SCORE_CREATE, Score: &ingestv1.ScoreBody{StringValue: proto.String("good")}},
			func(t *testing.T, e *ingestv1.IngestEvent) {
				if e.GetScore().GetDataType() != commonv1.ScoreDataType_SCORE_DATA_TYPE_CATEGORICAL {
					t.Errorf("data type = %v", e.GetScore().GetDataType())
				}
			}},
		{"explicit source kept", &ingestv1.IngestEvent{Type: ingestv1.EventType_EVENT_TYPE_SCORE_CREATE, Score: &ingestv1.ScoreBody{Source: commonv1.ScoreSource_SCORE_SOURCE_EVAL, DataType: commonv1.ScoreDataType_SCORE_DATA_TYPE_BOOLEAN}},
			func(t *testing.T, e *ingestv1.IngestEvent) {
				if e.GetScore().GetSource() != commonv1.ScoreSource_SCORE_SOURCE_EVAL || e.GetScore().GetDataType() != commonv1.ScoreDataType_SCORE_DATA_TYPE_BOOLEAN {
					t.Errorf("score = %v", e.GetScore())
				}
			}},
		{"trace create takes the event time", &ingestv1.IngestEvent{Type: ingestv1.EventType_EVENT_TYPE_TRACE_CREATE, Trace: &ingestv1.TraceBody{Id: "t"}},
			func(t *testing.T, e *ingestv1.IngestEvent) {
				if !e.GetTrace().GetTimestamp().AsTime().Equal(now) {
					t.Errorf("trace timestamp = %v", e.GetTrace().GetTimestamp())
				}
			}},
		{"explicit trace time kept", &ingestv1.IngestEvent{Type: ingestv1.EventType_EVENT_TYPE_TRACE_CREATE, Trace: &ingestv1.TraceBody{Id: "t", Timestamp: timestamppb.New(now.Add(-time.Hour))}},
			func(t *testing.T, e *ingestv1.IngestEvent) {
				if !e.GetTrace().GetTimestamp().AsTime().Equal(now.Add(-time.Hour)) {
					t.Errorf("trace timestamp = %v", e.GetTrace().GetTimestamp())
				}
			}},
		{"observation create takes the event time as start", &ingestv1.IngestEvent{Type: ingestv1.EventType_EVENT_TYPE_OBSERVATION_CREATE, Observation: &ingestv1.ObservationBody{Id: "o"}},
			func(t *testing.T, e *ingestv1.IngestEvent) {
				if !e.GetObservation().GetStartTime().AsTime().Equal(now) {
					t.Errorf("start time = %v", e.GetObservation().GetStartTime())
				}
			}},
		{"observation update keeps start unset", &ingestv1.IngestEvent{Type: ingestv1.EventType_EVENT_TYPE_OBSERVATION_UPDATE, Observation: &ingestv1.ObservationBody{Id: "o"}},
			func(t *testing.T, e *ingestv1.IngestEvent) {
				if e.GetObservation().GetStartTime() != nil {
					t.Errorf("update got a start time: %v", e.GetObservation().GetStartTime())
				}
			}},
		{"score create takes the event time", &ingestv1.IngestEvent{Type: ingestv1.EventType_EVENT_TYPE_SCORE_CREATE, Score: &ingestv1.ScoreBody{Value: proto.Float64(1)}},
			func(t *testing.T, e *ingestv1.IngestEvent) {
				if !e.GetScore().GetTimestamp().AsTime().Equal(now) {
					t.Errorf("score timestamp = %v", e.GetScore().GetTimestamp())
				}
			}},
		{"score update left unset", &ingestv1.IngestEvent{Type: ingestv1.EventType_EVENT_TYPE_SCORE_UPDATE, Score: &ingestv1.ScoreBody{Value: proto.Float64(1)}},
			func(t *testing.T, e *ingestv1.IngestEvent) {
				if e.GetScore().GetSource() != 0 || e.GetScore().GetDataType() != 0 {
					t.Errorf("update got defaults: %v", e.GetScore())
				}
				if !e.GetTimestamp().AsTime().Equal(now) {
					t.Errorf("timestamp = %v", e.GetTimestamp())
				}
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			complete(tt.event, received)
			tt.check(t, tt.event)
		})
	}
}

func TestIngestErrors(t *testing.T) {
	bad := &ingestv1.IngestEvent{Id: "x"}
	tests := []struct {
		name    string
		events  []*ingestv1.IngestEvent
		pubErr  error
		ctx     func() context.Context
		wantErr error
		wantMsg string
		pubs    int
	}{
		{name: "empty batch", events: nil, wantErr: ErrEmptyBatch},
		{name: "batch too large", events: []*ingestv1.IngestEvent{trace("a"), trace("b"), trace("c"), trace("d")}, wantErr: ErrBatchTooLarge, wantMsg: "4 events, at most 3"},
		{name: "stream down", events: []*ingestv1.IngestEvent{trace("a")}, pubErr: errors.New("nats: timeout"), wantErr: ErrUnavailable},
		{name: "caller gone", events: []*ingestv1.IngestEvent{trace("a")}, ctx: func() context.Context {
			ctx, cancel := context.WithCancel(context.Background())
			cancel()
			return ctx
		}, wantErr: context.Canceled},
		{name: "nothing valid publishes nothing", events: []*ingestv1.IngestEvent{bad}, pubErr: errors.New("must not be called")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pub := &recorder{err: tt.pubErr}
			svc, m := newService(t, pub)
			ctx := context.Background()
			if tt.ctx != nil {
				ctx = tt.ctx()
			}
			out, err := svc.Ingest(ctx, "proj", tt.events)
			if tt.wantErr == nil {
				if err != nil || out.Rejected != len(tt.events) {
					t.Fatalf("Ingest = %+v, %v", out, err)
				}
				return
			}
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("Ingest error = %v, want %v", err, tt.wantErr)
			}
			if !strings.Contains(err.Error(), tt.wantMsg) {
				t.Errorf("error %q does not mention %q", err, tt.wantMsg)
			}
			if out.Accepted != 0 || len(out.Results) != 0 || len(pub.envs) != 0 {
				t.Errorf("failed call reported %+v and published %d envelopes", out, len(pub.envs))
			}
			if errors.Is(tt.wantErr, ErrUnavailable) {
				if v := testutil.ToFloat64(m.events.WithLabelValues("trace_create", "unavailable")); v != 1 {
					t.Errorf("unavailable events counted %v, want 1", v)
				}
			}
		})
	}
}

func TestResultID(t *testing.T) {
	lim := validation.DefaultLimits()
	tests := []struct {
		id, want string
	}{
		{"evt-1", "evt-1"},
		{"", "#4"},
		{"a\nb", "#4"},
		{strings.Repeat("x", 300), "#4"},
	}
	for _, tt := range tests {
		if got := resultID(4, &ingestv1.IngestEvent{Id: tt.id}, lim); got != tt.want {
			t.Errorf("resultID(%q) = %q, want %q", tt.id, got, tt.want)
		}
	}
}

func TestTypeLabel(t *testing.T) {
	if got := typeLabel(ingestv1.EventType_EVENT_TYPE_OBSERVATION_UPDATE); got != "observation_update" {
		t.Errorf("got %q", got)
	}
	if got := typeLabel(42); got != "unknown" {
		t.Errorf("got %q", got)
	}
}

func TestNewMetricsTwice(t *testing.T) {
	reg := prometheus.NewRegistry()
	if _, err := NewMetrics(reg); err != nil {
		t.Fatal(err)
	}
	if _, err := NewMetrics(reg); err == nil {
		t.Error("registering the metrics twice on one registry succeeded")
	}
}
