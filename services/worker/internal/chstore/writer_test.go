package chstore_test

import (
	"context"
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"google.golang.org/protobuf/proto"

	"github.com/agenttrace/agenttrace/pkg/chschema"
	"github.com/agenttrace/agenttrace/services/worker/internal/chmigrate"
	"github.com/agenttrace/agenttrace/services/worker/internal/chstore"
	"github.com/agenttrace/agenttrace/services/worker/internal/eventrows"
	"github.com/agenttrace/agenttrace/services/worker/internal/testinfra"
)

func fullBatch() eventrows.Batch {
	return eventrows.Batch{
		Traces: []chschema.Trace{{
			ProjectID: "p", ID: "tr", Timestamp: 1, Name: "n", UserID: "u", SessionID: "s", Tags: []string{"a", "b"},
			MetadataKeys: []string{"k"}, MetadataValues: []string{"v"}, Input: `{"a":1}`, Output: `"o"`,
			Release: "r", Version: "v", Environment: "e", EventID: "ev1", EventTS: 1_700_000_000_000_000_001,
		}},
		Observations: []chschema.Observation{{
			ProjectID: "p", TraceID: "tr", ID: "ob", ParentObservationID: "pa", Type: "GENERATION", Name: "n",
			StartTime: 2, EndTime: 3, CompletionStartTime: 4, Level: "ERROR", StatusMessage: "sm", Model: "m",
			ModelParametersKeys: []string{"t"}, ModelParametersValues: []string{"0.1"},
			UsageInput: proto.Int64(5), UsageOutput: proto.Int64(0), UsageTotal: nil,
			UsageDetailsKeys: []string{"cached"}, UsageDetailsValues: []int64{7},
			CostInput: proto.Float64(0.25), CostOutput: nil, CostTotal: proto.Float64(0),
			Input: "[1]", Output: "null", MetadataKeys: []string{}, MetadataValues: []string{},
			Version: "v", Environment: "e", EventID: "ev2", EventTS: 1_700_000_000_000_000_002,
		}},
		Scores: []chschema.Score{{
			ProjectID: "p", ID: "sc", TraceID: "tr", ObservationID: "ob", SessionID: "s", Name: "q",
			DataType: "NUMERIC", Value: proto.Float64(0.5), StringValue: "sv", Comment: "c", Source: "API",
			Timestamp: 9, MetadataKeys: []string{"x"}, MetadataValues: []string{"y"}, Environment: "e",
			EventID: "ev3", EventTS: 1_700_000_000_000_000_003,
		}},
	}
}

func TestWriteStoresEveryColumn(t *testing.T) {
	_, conn := testinfra.ClickHouse(t)
	reg := prometheus.NewRegistry()
	w := chstore.NewWriter(conn, chstore.NewMetrics(reg))
	want := fullBatch()
	before := uint64(time.Now().UnixNano())
	if err := w.Write(context.Background(), want); err != nil {
		t.Fatal(err)
	}
	got := testinfra.ReadRows(t, conn)
	if !reflect.DeepEqual(got.Batch, want) {
		t.Errorf("read back differs\n got: %+v\nwant: %+v", got.Batch, want)
	}
	for _, at := range got.IngestedAt {
		if at < before || at > uint64(time.Now().UnixNano()) {
			t.Errorf("ingested_at %d is not the time of the write", at)
		}
	}
	for _, table := range []string{"traces", "observations", "scores"} {
		if n := testinfra.Metric(t, reg, "agenttrace_worker_rows_written_total", "table", table); n != 1 {
			t.Errorf("rows_written{table=%s} = %v, want 1", table, n)
		}
	}
}

func TestWriteSkipsEmptyTables(t *testing.T) {
	cfg := testinfra.ClickHouseConfig(t)
	if err := chmigrate.CreateDatabase(context.Background(), cfg); err != nil {
		t.Fatal(err)
	}
	// No tables exist: an empty batch must not touch any of them.
	w := chstore.NewWriter(testinfra.Conn(t, cfg), chstore.NewMetrics(prometheus.NewRegistry()))
	if err := w.Write(context.Background(), eventrows.Batch{}); err != nil {
		t.Fatalf("Write(empty) = %v", err)
	}
}

func TestWriteClassifiesErrors(t *testing.T) {
	cfg := testinfra.ClickHouseConfig(t)
	if err := chmigrate.CreateDatabase(context.Background(), cfg); err != nil {
		t.Fatal(err)
	}
	reg := prometheus.NewRegistry()
	w := chstore.NewWriter(testinfra.Conn(t, cfg), chstore.NewMetrics(reg))
	err := w.Write(context.Background(), fullBatch())
	if !errors.Is(err, eventrows.ErrRejected) {
		t.Fatalf("Write into a database without tables = %v, want ErrRejected", err)
	}
	if n := testinfra.Metric(t, reg, "agenttrace_clickhouse_insert_errors_total", "table", "traces"); n != 1 {
		t.Errorf("insert_errors{table=traces} = %v, want 1", n)
	}

	// A connection that breaks is not the rows' fault.
	conn := testinfra.Conn(t, cfg)
	conn.Close()
	err = chstore.NewWriter(conn, chstore.NewMetrics(prometheus.NewRegistry())).Write(context.Background(), fullBatch())
	if err == nil || errors.Is(err, eventrows.ErrRejected) {
		t.Fatalf("Write on a closed connection = %v, want a transient error", err)
	}
}
