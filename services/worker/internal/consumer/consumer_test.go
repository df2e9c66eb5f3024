package consumer_test

import (
	"context"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/structpb"

	"github.com/agenttrace/agenttrace/pkg/chschema"
	commonv1 "github.com/agenttrace/agenttrace/pkg/gen/agenttrace/common/v1"
	ingestv1 "github.com/agenttrace/agenttrace/pkg/gen/agenttrace/ingest/v1"
	"github.com/agenttrace/agenttrace/services/worker/internal/chmigrate"
	"github.com/agenttrace/agenttrace/services/worker/internal/eventrows"
	"github.com/agenttrace/agenttrace/services/worker/internal/testinfra"
)

func TestStoresEveryEventAsAVersionRow(t *testing.T) {
	h := newHarness(t)
	h.start(testConfig(), h.conn)

	create := envelope("proj-a",
		traceEvent("ev-t1", "tr-1", 0, &ingestv1.TraceBody{Name: proto.String("run"), UserId: proto.String("u"),
			Tags: []string{"x"}, Metadata: map[string]string{"k": "v"}, Input: structpb.NewStringValue("hi")}, false),
		&ingestv1.IngestEvent{Id: "ev-o1", Timestamp: at(time.Second), Type: ingestv1.EventType_EVENT_TYPE_OBSERVATION_CREATE,
			Observation: &ingestv1.ObservationBody{Id: "ob-1", TraceId: "tr-1", Type: commonv1.ObservationType_OBSERVATION_TYPE_GENERATION,
				StartTime: at(time.Second), Model: proto.String("m"), Usage: &commonv1.Usage{Input: proto.Int64(3)},
				Cost: &commonv1.Cost{Total: proto.Float64(0.01)}}},
		&ingestv1.IngestEvent{Id: "ev-s1", Timestamp: at(2 * time.Second), Type: ingestv1.EventType_EVENT_TYPE_SCORE_CREATE,
			Score: &ingestv1.ScoreBody{Id: "sc-1", TraceId: "tr-1", Value: proto.Float64(1),
				DataType: commonv1.ScoreDataType_SCORE_DATA_TYPE_BOOLEAN, Source: commonv1.ScoreSource_SCORE_SOURCE_EVAL}},
	)
	update := envelope("proj-a",
		traceEvent("ev-t2", "tr-1", 5*time.Second, &ingestv1.TraceBody{Output: structpb.NewStringValue("bye")}, true),
		&ingestv1.IngestEvent{Id: "ev-o2", Timestamp: at(6 * time.Second), Type: ingestv1.EventType_EVENT_TYPE_OBSERVATION_UPDATE,
			Observation: &ingestv1.ObservationBody{Id: "ob-1", TraceId: "tr-1", EndTime: at(6 * time.Second),
				Level: commonv1.ObservationLevel_OBSERVATION_LEVEL_WARNING}},
	)
	h.publish(create, "m1")
	h.publish(update, "m2")

	var want eventrows.Batch
	for _, env := range []*ingestv1.EventEnvelope{create, update} {
		rows, err := eventrows.FromEnvelope(env)
		if err != nil {
			t.Fatal(err)
		}
		want.Append(rows)
	}
	var got testinfra.Stored
	eventually(t, 10*time.Second, "5 rows", func() bool {
		got = testinfra.ReadRows(t, h.conn)
		return got.Len() == 5
	})
	if !reflect.DeepEqual(got.Batch, want) {
		t.Errorf("stored rows differ\n got: %+v\nwant: %+v", got.Batch, want)
	}
	// Updates are versions, not edits: the trace and the observation have two rows each.
	if len(got.Traces) != 2 || len(got.Observations) != 2 {
		t.Errorf("versions: %d trace rows, %d observation rows; want 2 and 2", len(got.Traces), len(got.Observations))
	}
	eventually(t, 5*time.Second, "both messages acked", func() bool {
		return h.streamMsgs(h.scfg.EventsStream()) == 0 && h.metric("agenttrace_worker_messages_total", "outcome", "acked") == 2
	})
	if n := h.metric("agenttrace_worker_flush_rows"); n < 1 {
		t.Errorf("flush_rows histogram has %v samples", n)
	}
	if n := h.metric("agenttrace_worker_flush_duration_seconds"); n < 1 {
		t.Errorf("flush_duration histogram has %v samples", n)
	}
}

// mergedTraces is the read-time merge of docs/ARCHITECTURE.md for traces.
func mergedTraces(t *testing.T, h *harness) [][]string {
	t.Helper()
	rows, err := h.conn.Query(context.Background(), "SELECT "+chschema.List(chschema.ColID,
		chschema.MergeString(chschema.ColName), chschema.MergeString(chschema.ColOutput), chschema.MergeString(chschema.ColUserID),
		"toString("+chschema.MergeUpdated+")")+
		" FROM "+chschema.Traces+" WHERE "+chschema.ColProjectID+" = ? GROUP BY "+chschema.ColID+" ORDER BY "+chschema.ColID, "proj-d")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out [][]string
	for rows.Next() {
		r := make([]string, 5)
		if err := rows.Scan(&r[0], &r[1], &r[2], &r[3], &r[4]); err != nil {
			t.Fatal(err)
		}
		out = append(out, r)
	}
	return out
}

func TestRedeliveredMessageDoesNotChangeTheMerge(t *testing.T) {
	h := newHarness(t)
	h.start(testConfig(), h.conn)
	env := envelope("proj-d",
		traceEvent("ev-1", "tr-1", 0, &ingestv1.TraceBody{Name: proto.String("first"), UserId: proto.String("u")}, false),
		traceEvent("ev-2", "tr-1", time.Second, &ingestv1.TraceBody{Name: proto.String("second"), Output: structpb.NewBoolValue(true)}, true),
	)
	h.publish(env, "once")
	eventually(t, 10*time.Second, "2 rows", func() bool { return testinfra.ReadRows(t, h.conn).Len() == 2 })
	before := mergedTraces(t, h)
	if want := [][]string{{"tr-1", "second", "true", "u", before[0][4]}}; !reflect.DeepEqual(before, want) {
		t.Fatalf("merged = %v, want %v", before, want)
	}

	// The same events again under another message id: what a redelivery
	// after a lost ack, or a replay, writes.
	h.publish(env, "again")
	eventually(t, 10*time.Second, "duplicate rows", func() bool {
		return testinfra.ReadRows(t, h.conn).Len() >= 2 &&
			h.metric("agenttrace_worker_messages_total", "outcome", "acked") == 2
	})
	if after := mergedTraces(t, h); !reflect.DeepEqual(after, before) {
		t.Errorf("merge changed after redelivery: %v, was %v", after, before)
	}
}

func TestAcksOnlyAfterTheInsertSucceeded(t *testing.T) {
	h := newHarness(t)
	// The worker writes to a database that exists but has no tables yet.
	empty := testinfra.ClickHouseConfig(t)
	if err := chmigrate.CreateDatabase(context.Background(), empty); err != nil {
		t.Fatal(err)
	}
	cfg := testConfig()
	cfg.MaxDeliver = 1000
	h.start(cfg, testinfra.Conn(t, empty))

	h.publish(envelope("proj-b", traceEvent("ev-1", "tr-1", 0, &ingestv1.TraceBody{Name: proto.String("n")}, false)), "m1")
	eventually(t, 10*time.Second, "failed deliveries", func() bool {
		return h.metric("agenttrace_worker_messages_total", "outcome", "nacked") >= 2
	})
	if n := h.streamMsgs(h.scfg.EventsStream()); n != 1 {
		t.Fatalf("events stream holds %d messages while inserts fail, want 1", n)
	}
	if n := h.metric("agenttrace_worker_messages_total", "outcome", "acked"); n != 0 {
		t.Fatalf("%v messages acked while inserts fail", n)
	}
	if n := h.metric("agenttrace_clickhouse_insert_errors_total", "table", "traces"); n < 2 {
		t.Errorf("insert_errors = %v, want >= 2", n)
	}

	m, err := chmigrate.Open(context.Background(), empty)
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	if err := m.Up(); err != nil {
		t.Fatal(err)
	}
	conn := testinfra.Conn(t, empty)
	eventually(t, 10*time.Second, "the row after the table appeared", func() bool {
		return testinfra.ReadRows(t, conn).Len() == 1
	})
	eventually(t, 5*time.Second, "the ack", func() bool { return h.streamMsgs(h.scfg.EventsStream()) == 0 })
	if n := h.streamMsgs(h.scfg.DeadLetterStream()); n != 0 {
		t.Errorf("%d dead letters, want none", n)
	}
}

func TestDeadLettersAfterMaxDeliver(t *testing.T) {
	h := newHarness(t)
	empty := testinfra.ClickHouseConfig(t)
	if err := chmigrate.CreateDatabase(context.Background(), empty); err != nil {
		t.Fatal(err)
	}
	cfg := testConfig()
	cfg.MaxDeliver = 3
	h.start(cfg, testinfra.Conn(t, empty))

	good := envelope("proj-c", traceEvent("ev-1", "tr-1", 0, &ingestv1.TraceBody{Name: proto.String("n")}, false))
	h.publish(good, "orig-id")
	eventually(t, 10*time.Second, "a dead letter", func() bool { return h.streamMsgs(h.scfg.DeadLetterStream()) == 1 })
	eventually(t, 5*time.Second, "the events stream to empty", func() bool { return h.streamMsgs(h.scfg.EventsStream()) == 0 })

	letters, err := h.dlq.List(context.Background(), 0)
	if err != nil || len(letters) != 1 {
		t.Fatalf("List = %v, %v", letters, err)
	}
	l := letters[0]
	data, _ := proto.Marshal(good)
	if l.Project != "proj-c" || l.Deliveries != 3 || l.Subject != h.scfg.EventSubject("proj-c") || l.OriginalSequence != 1 ||
		l.MsgID != "orig-id" || l.Events != 1 || !strings.Contains(l.Reason, "traces") || !reflect.DeepEqual(l.Data, data) {
		t.Errorf("dead letter = %+v", l)
	}
	if n := h.metric("agenttrace_worker_messages_total", "outcome", "nacked"); n != 2 {
		t.Errorf("nacked = %v, want 2 (deliveries 1 and 2)", n)
	}
	if n := h.metric("agenttrace_worker_messages_total", "outcome", "dead_lettered"); n != 1 {
		t.Errorf("dead_lettered = %v, want 1", n)
	}
}

func TestUndecodableMessagesAreDeadLetteredAtOnce(t *testing.T) {
	h := newHarness(t)
	h.start(testConfig(), h.conn)

	h.publishRaw(h.scfg.EventSubject("proj-e"), []byte("not a protobuf \xff\xff"), "garbage")
	// A well-formed envelope on another project's subject must not be stored.
	env, _ := proto.Marshal(envelope("proj-other", traceEvent("ev-1", "tr-1", 0, &ingestv1.TraceBody{}, false)))
	h.publishRaw(h.scfg.EventSubject("proj-e"), env, "mismatch")
	// And a good message behind them still lands.
	h.publish(envelope("proj-e", traceEvent("ev-2", "tr-2", 0, &ingestv1.TraceBody{}, false)), "good")

	eventually(t, 10*time.Second, "two dead letters and one row", func() bool {
		return h.streamMsgs(h.scfg.DeadLetterStream()) == 2 && testinfra.ReadRows(t, h.conn).Len() == 1
	})
	letters, err := h.dlq.List(context.Background(), 0)
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range letters {
		if l.Deliveries != 1 || l.Project != "proj-e" || !strings.Contains(l.Reason, "undecodable") {
			t.Errorf("dead letter = %+v; want first delivery, project proj-e, an undecodable reason", l)
		}
	}
	if letters[0].Events != -1 || letters[1].Events != 1 || !strings.Contains(letters[1].Reason, "does not match subject") {
		t.Errorf("letters = %+v", letters)
	}
	if n := h.metric("agenttrace_worker_messages_total", "outcome", "nacked"); n != 0 {
		t.Errorf("undecodable messages were retried %v times", n)
	}
}

func TestStoreOutageIsRetriedNotDeadLettered(t *testing.T) {
	h := newHarness(t)
	broken := testinfra.Conn(t, h.ch)
	broken.Close() // every insert fails like an unreachable server
	cfg := testConfig()
	cfg.MaxDeliver = 1
	h.start(cfg, broken)

	h.publish(envelope("proj-f", traceEvent("ev-1", "tr-1", 0, &ingestv1.TraceBody{}, false)), "m1")
	eventually(t, 10*time.Second, "repeated retries", func() bool {
		return h.metric("agenttrace_worker_messages_total", "outcome", "nacked") >= 3
	})
	if n := h.streamMsgs(h.scfg.DeadLetterStream()); n != 0 {
		t.Errorf("%d dead letters during an outage, want none", n)
	}
	if n := h.streamMsgs(h.scfg.EventsStream()); n != 1 {
		t.Errorf("events stream holds %d messages, want 1", n)
	}
}

func TestFlushesBySize(t *testing.T) {
	h := newHarness(t)
	cfg := testConfig()
	cfg.FlushRows = 3
	cfg.FlushInterval, cfg.FlushMaxInterval = time.Hour, time.Hour // only the size can trigger the flush
	cfg.AckWait = 2 * time.Hour
	h.start(cfg, h.conn)
	for i, id := range []string{"a", "b", "c"} {
		h.publish(envelope("proj-g", traceEvent("ev-"+id, "tr-"+id, time.Duration(i), &ingestv1.TraceBody{}, false)), id)
	}
	eventually(t, 10*time.Second, "3 rows", func() bool { return testinfra.ReadRows(t, h.conn).Len() == 3 })
	if n := h.metric("agenttrace_worker_flush_rows"); n != 1 {
		t.Errorf("%v flushes, want 1", n)
	}
}

func TestFlushesByBytes(t *testing.T) {
	h := newHarness(t)
	cfg := testConfig()
	cfg.FlushInterval, cfg.FlushMaxInterval = time.Hour, time.Hour // only the size can trigger the flush
	cfg.AckWait = 2 * time.Hour
	var size int
	for i, id := range []string{"a", "b", "c"} {
		env := envelope("proj-g", traceEvent("ev-"+id, "tr-"+id, time.Duration(i), &ingestv1.TraceBody{}, false))
		size += proto.Size(env)
		if i == 1 {
			cfg.FlushBytes = size // reached by the first two messages
		}
		h.publish(env, id)
	}
	h.start(cfg, h.conn)
	eventually(t, 10*time.Second, "2 rows", func() bool { return testinfra.ReadRows(t, h.conn).Len() == 2 })
	if n := h.metric("agenttrace_worker_flush_rows"); n != 1 {
		t.Errorf("%v flushes, want 1", n)
	}
}

// TestBehindFillsLargerBuffers: while the consumer reads a backlog
// (messages older than FlushMaxInterval, more than a pull request's worth
// behind them) its buffers fill for FlushMaxInterval, not FlushInterval.
func TestBehindFillsLargerBuffers(t *testing.T) {
	h := newHarness(t)
	cfg := testConfig()
	cfg.FetchBatch = 2
	cfg.FlushInterval, cfg.FlushMaxInterval = time.Millisecond, 1500*time.Millisecond
	const n = 40
	for i := range n {
		id := fmt.Sprint(i)
		h.publish(envelope("proj-late", traceEvent("ev-"+id, "tr-"+id, 0, &ingestv1.TraceBody{}, false)), id)
	}
	time.Sleep(cfg.FlushMaxInterval + 100*time.Millisecond) // a backlog now
	h.start(cfg, h.conn)
	eventually(t, 10*time.Second, "every row", func() bool { return testinfra.ReadRows(t, h.conn).Len() == n })
	// The backlog's last message (nothing pending after it) ends the
	// waiting: one flush for the backlog, at most one for its tail. With
	// 1 ms buffers, the 20 pull requests flush 8-10 times.
	if f := h.metric("agenttrace_worker_flush_rows"); f > 2 {
		t.Errorf("%v flushes of a backlog of %d messages, want at most 2", f, n)
	}
}

// TestShortStallIsNotBehind: old messages with few behind them (a stall,
// not a backlog) are flushed after FlushInterval, not FlushMaxInterval.
func TestShortStallIsNotBehind(t *testing.T) {
	h := newHarness(t)
	cfg := testConfig()
	cfg.FlushInterval, cfg.FlushMaxInterval = 20*time.Millisecond, 4*time.Second
	cfg.AckWait = time.Minute
	for _, id := range []string{"a", "b"} {
		h.publish(envelope("proj-stall", traceEvent("ev-"+id, "tr-"+id, 0, &ingestv1.TraceBody{}, false)), id)
	}
	time.Sleep(cfg.FlushMaxInterval + 200*time.Millisecond) // older than FlushMaxInterval, but only 2 of them
	h.start(cfg, h.conn)
	eventually(t, cfg.FlushMaxInterval/2, "2 rows before FlushMaxInterval", func() bool {
		return testinfra.ReadRows(t, h.conn).Len() == 2
	})
}

func TestShutdownFlushesTheBuffer(t *testing.T) {
	h := newHarness(t)
	cfg := testConfig()
	cfg.FlushInterval = time.Hour
	cfg.AckWait = 2 * time.Hour
	h.start(cfg, h.conn)
	for _, id := range []string{"a", "b"} {
		h.publish(envelope("proj-h", traceEvent("ev-"+id, "tr-"+id, 0, &ingestv1.TraceBody{}, false)), id)
	}
	eventually(t, 10*time.Second, "both messages buffered", func() bool {
		return h.metric("agenttrace_worker_queue_depth") == 2
	})
	if n := testinfra.ReadRows(t, h.conn).Len(); n != 0 {
		t.Fatalf("%d rows before the flush interval", n)
	}
	h.stop()
	if n := testinfra.ReadRows(t, h.conn).Len(); n != 2 {
		t.Errorf("%d rows after shutdown, want 2", n)
	}
	if n := h.streamMsgs(h.scfg.EventsStream()); n != 0 {
		t.Errorf("%d messages left in the events stream after shutdown", n)
	}
}
