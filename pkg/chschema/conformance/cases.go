package conformance

import (
	"context"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	commonv1 "github.com/agenttrace/agenttrace/pkg/gen/agenttrace/common/v1"
	ingestv1 "github.com/agenttrace/agenttrace/pkg/gen/agenttrace/ingest/v1"
)

// caseUpdateBeforeCreate: events arrive out of order (an SDK's update
// overtakes its create); the merge goes by event time, not arrival, field
// by field and map key by map key; tags are the union.
func caseUpdateBeforeCreate(t *testing.T, w Writer, r Reader) {
	write(t, w, project,
		traceEvent("ev-t2", at(20), traceUpdate, &ingestv1.TraceBody{Id: "tr", Output: value(t, "final"),
			Tags: []string{"late"}, Metadata: map[string]string{"tier": "gold"}}),
		obsEvent("ev-o2", at(20), obsUpdate, &ingestv1.ObservationBody{Id: "ob", TraceId: "tr", EndTime: at(9),
			Level: commonv1.ObservationLevel_OBSERVATION_LEVEL_ERROR, Usage: &commonv1.Usage{Output: proto.Int64(30)},
			Metadata: map[string]string{"k": "new"}}),
	)
	write(t, w, project,
		traceEvent("ev-t1", at(10), traceCreate, &ingestv1.TraceBody{Id: "tr", Name: proto.String("n"), Output: value(t, "draft"),
			Tags: []string{"early"}, Metadata: map[string]string{"tier": "free", "region": "eu"}, Timestamp: at(1)}),
		obsEvent("ev-o1", at(10), obsCreate, &ingestv1.ObservationBody{Id: "ob", TraceId: "tr", Name: proto.String("gen"),
			Type: commonv1.ObservationType_OBSERVATION_TYPE_GENERATION, StartTime: at(2), EndTime: at(3),
			Level: commonv1.ObservationLevel_OBSERVATION_LEVEL_DEFAULT, Usage: &commonv1.Usage{Input: proto.Int64(70)},
			Metadata: map[string]string{"k": "old", "keep": "me"}}),
	)
	diff(t, "trace", readTrace(t, r, project, "tr"), &commonv1.Trace{Id: "tr", ProjectId: project, Name: "n",
		Timestamp: at(1), Output: value(t, "final"), Tags: []string{"early", "late"},
		Metadata: map[string]string{"tier": "gold", "region": "eu"}, UpdatedAt: at(20)})
	diffAll(t, "observations", readObservations(t, r, project, "tr"), []*commonv1.Observation{{
		Id: "ob", ProjectId: project, TraceId: "tr", Name: "gen", Type: commonv1.ObservationType_OBSERVATION_TYPE_GENERATION,
		StartTime: at(2), EndTime: at(9), Level: commonv1.ObservationLevel_OBSERVATION_LEVEL_ERROR,
		Usage:    &commonv1.Usage{Input: proto.Int64(70), Output: proto.Int64(30), Total: proto.Int64(100)},
		Metadata: map[string]string{"k": "new", "keep": "me"}, UpdatedAt: at(20),
	}})
}

// caseRedelivery: the same events written twice (a stream redelivery
// after a lost ack) read as if written once.
func caseRedelivery(t *testing.T, w Writer, r Reader) {
	events := []*ingestv1.IngestEvent{
		traceEvent("ev-t", at(10), traceCreate, &ingestv1.TraceBody{Id: "tr", Name: proto.String("once"), Tags: []string{"x"}}),
		obsEvent("ev-o", at(10), obsCreate, &ingestv1.ObservationBody{Id: "ob", TraceId: "tr", StartTime: at(1),
			Usage: &commonv1.Usage{Input: proto.Int64(5), Details: map[string]int64{"cached_input": 2}}}),
		scoreEvent("ev-s", at(10), scoreCreate, &ingestv1.ScoreBody{Id: "sc", TraceId: "tr", Name: proto.String("q"),
			DataType: commonv1.ScoreDataType_SCORE_DATA_TYPE_NUMERIC, Value: proto.Float64(1), Timestamp: at(3)}),
	}
	write(t, w, project, events...)
	write(t, w, project, events...)
	diff(t, "trace", readTrace(t, r, project, "tr"), &commonv1.Trace{Id: "tr", ProjectId: project, Name: "once",
		Tags: []string{"x"}, UpdatedAt: at(10)})
	diffAll(t, "observations", readObservations(t, r, project, "tr"), []*commonv1.Observation{{Id: "ob", ProjectId: project,
		TraceId: "tr", StartTime: at(1), UpdatedAt: at(10),
		Usage: &commonv1.Usage{Input: proto.Int64(5), Total: proto.Int64(5), Details: map[string]int64{"cached_input": 2}}}})
	diffAll(t, "scores", readScores(t, r, project, "tr"), []*commonv1.Score{{Id: "sc", ProjectId: project, TraceId: "tr",
		Name: "q", DataType: commonv1.ScoreDataType_SCORE_DATA_TYPE_NUMERIC, Value: 1, Timestamp: at(3), UpdatedAt: at(10)}})
}

// caseTenancy: the same ids in another project never reach a read.
func caseTenancy(t *testing.T, w Writer, r Reader) {
	write(t, w, project, traceEvent("ev-a", at(10), traceCreate, &ingestv1.TraceBody{Id: "tr", Name: proto.String("mine")}))
	write(t, w, other,
		traceEvent("ev-b", at(11), traceUpdate, &ingestv1.TraceBody{Id: "tr", Name: proto.String("theirs"), UserId: proto.String("u")}),
		obsEvent("ev-bo", at(11), obsCreate, &ingestv1.ObservationBody{Id: "ob", TraceId: "tr"}),
		scoreEvent("ev-bs", at(11), scoreCreate, &ingestv1.ScoreBody{Id: "sc", TraceId: "tr", Name: proto.String("q")}))
	diff(t, "trace", readTrace(t, r, project, "tr"), &commonv1.Trace{Id: "tr", ProjectId: project, Name: "mine", UpdatedAt: at(10)})
	if obs := readObservations(t, r, project, "tr"); len(obs) != 0 {
		t.Errorf("another project's observations read: %v", obs)
	}
	if sc := readScores(t, r, project, "tr"); len(sc) != 0 {
		t.Errorf("another project's scores read: %v", sc)
	}
}

// someTrace writes a trace with an observation and a score into projectID.
func someTrace(t *testing.T, w Writer, projectID, id string, ts *timestamppb.Timestamp) {
	t.Helper()
	write(t, w, projectID,
		traceEvent("ev-t-"+id, ts, traceCreate, &ingestv1.TraceBody{Id: id, Name: proto.String("n")}),
		obsEvent("ev-o-"+id, ts, obsCreate, &ingestv1.ObservationBody{Id: "ob-" + id, TraceId: id}),
		scoreEvent("ev-s-"+id, ts, scoreCreate, &ingestv1.ScoreBody{Id: "sc-" + id, TraceId: id, Name: proto.String("q")}))
}

// eventually retries check until it holds or DeleteWait passes: ClickHouse
// applies deletions in the background.
func eventually(t *testing.T, what string, check func() bool) {
	t.Helper()
	deadline := time.Now().Add(DeleteWait)
	for !check() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %s", what, DeleteWait)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// gone reports whether a trace reads as absent with nothing attached.
func gone(t *testing.T, r Reader, projectID, id string) bool {
	return readTrace(t, r, projectID, id) == nil && len(readObservations(t, r, projectID, id)) == 0 &&
		len(readScores(t, r, projectID, id)) == 0
}

// present reports whether a trace reads with its observation and score.
func present(t *testing.T, r Reader, projectID, id string) bool {
	return readTrace(t, r, projectID, id) != nil && len(readObservations(t, r, projectID, id)) == 1 &&
		len(readScores(t, r, projectID, id)) == 1
}

// caseDeletion: deleting a trace removes its rows in every table, in its
// project only; a trace written again after its deletion is stored.
func caseDeletion(t *testing.T, w Writer, r Reader) {
	someTrace(t, w, project, "gone", at(10))
	someTrace(t, w, project, "kept", at(10))
	someTrace(t, w, other, "gone", at(10))
	if err := w.DeleteTrace(context.Background(), project, "gone"); err != nil {
		t.Fatalf("delete: %v", err)
	}
	eventually(t, "deleted trace disappears", func() bool { return gone(t, r, project, "gone") })
	if !present(t, r, project, "kept") || !present(t, r, other, "gone") {
		t.Error("a deletion removed another trace's rows")
	}
	someTrace(t, w, project, "gone", at(30))
	if !present(t, r, project, "gone") {
		t.Error("a trace written after its deletion is not stored")
	}
}

// caseRetention: purging before a cutoff removes the project's rows of
// earlier days (by event date) and keeps the rest, and other projects'.
func caseRetention(t *testing.T, w Writer, r Reader) {
	old := timestamppb.New(time.Now().AddDate(0, 0, -400))
	recent := timestamppb.New(time.Now().AddDate(0, 0, -1))
	someTrace(t, w, project, "old", old)
	someTrace(t, w, project, "recent", recent)
	someTrace(t, w, other, "old", old)
	if err := w.Purge(context.Background(), project, time.Now().AddDate(0, 0, -30)); err != nil {
		t.Fatalf("purge: %v", err)
	}
	eventually(t, "expired trace disappears", func() bool { return gone(t, r, project, "old") })
	if !present(t, r, project, "recent") || !present(t, r, other, "old") {
		t.Error("retention removed rows it must keep")
	}
}
