package chmigrate_test

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"testing"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
	dt "github.com/golang-migrate/migrate/v4/database/testing"

	"github.com/agenttrace/agenttrace/pkg/chschema"
	"github.com/agenttrace/agenttrace/services/worker/internal/chmigrate"
	"github.com/agenttrace/agenttrace/services/worker/internal/testinfra"
)

func TestUpIsIdempotentAndDownReverts(t *testing.T) {
	cfg := testinfra.ClickHouseConfig(t)
	ctx := context.Background()

	m, err := chmigrate.Open(ctx, cfg) // creates the database
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	st, err := m.Status()
	if err != nil || st.Applied {
		t.Fatalf("fresh database status = %+v, %v; want nothing applied", st, err)
	}
	for i := range 2 {
		if err := m.Up(); err != nil {
			t.Fatalf("up #%d: %v", i+1, err)
		}
	}
	st, err = m.Status()
	latest := chschema.LatestVersion()
	if err != nil || !st.Applied || st.Dirty || st.Version != latest {
		t.Fatalf("status after up = %+v, %v; want clean version %d", st, err, latest)
	}
	conn := testinfra.Conn(t, cfg)
	if got := tables(t, conn); !equal(got, []string{"observation_hour_writes", "observation_hour_writes_mv", "observation_hours", "observations", "observations_by_time", "observations_by_time_mv",
		"observations_to_v2_mv", "observations_v2", "observations_v2_by_time_mv", "rollup_hours", "rollup_marks", "rollup_progress",
		chmigrate.VersionTable, "scores",
		"trace_dates", "trace_dates_legacy_observations_mv", "trace_dates_legacy_traces_mv", "trace_dates_observations_mv",
		"trace_dates_traces_mv", "trace_refs", "trace_refs_legacy_mv", "trace_refs_mv",
		"traces", "traces_by_time", "traces_by_time_mv", "traces_to_v2_mv", "traces_v2", "traces_v2_by_time_mv"}) {
		t.Fatalf("tables after up = %v", got)
	}

	// A second migrator (a second worker starting) finds nothing to do.
	m2, err := chmigrate.Open(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := m2.Up(); err != nil {
		t.Fatalf("up from a second migrator: %v", err)
	}
	m2.Close()

	if err := m.Down(1); err != nil {
		t.Fatal(err)
	}
	if st, _ := m.Status(); st.Version != latest-1 {
		t.Fatalf("version after down 1 = %d, want %d", st.Version, latest-1)
	}
	if err := m.Down(0); err != nil {
		t.Fatal(err)
	}
	if st, _ := m.Status(); st.Applied {
		t.Fatalf("status after down all = %+v, want nothing applied", st)
	}
	if got := tables(t, conn); !equal(got, []string{chmigrate.VersionTable}) {
		t.Fatalf("tables after down = %v", got)
	}
}

// TestDriverConformance runs golang-migrate's own suite for database drivers.
func TestDriverConformance(t *testing.T) {
	cfg := testinfra.ClickHouseConfig(t)
	if err := chmigrate.CreateDatabase(context.Background(), cfg); err != nil {
		t.Fatal(err)
	}
	conn := testinfra.Conn(t, cfg)
	d, err := chmigrate.NewDriver(context.Background(), conn)
	if err != nil {
		t.Fatal(err)
	}
	dt.Test(t, d, []byte("CREATE TABLE IF NOT EXISTS conformance (x UInt8) ENGINE = TinyLog;"))
}

func TestRunReportsFailingStatement(t *testing.T) {
	_, conn := testinfra.ClickHouse(t)
	d, err := chmigrate.NewDriver(context.Background(), conn)
	if err != nil {
		t.Fatal(err)
	}
	err = d.Run(strings.NewReader("CREATE TABLE broken (x NoSuchType) ENGINE = TinyLog"))
	if err == nil || !strings.Contains(err.Error(), "NoSuchType") {
		t.Fatalf("Run(bad statement) = %v, want an error quoting the statement", err)
	}
	for _, nothing := range []string{"  \n", "-- nothing to do\n  -- here either;\n\n"} {
		if err := d.Run(strings.NewReader(nothing)); err != nil {
			t.Fatalf("Run(%q) = %v", nothing, err)
		}
	}
}

func TestOpenFailsWithoutServer(t *testing.T) {
	cfg := testinfra.ClickHouseConfig(t)
	cfg.Addr = "127.0.0.1:1" // nothing listens on port 1
	if _, err := chmigrate.Open(context.Background(), cfg); err == nil {
		t.Fatal("Open against a closed port succeeded")
	}
}

func TestQuoteIdent(t *testing.T) {
	for in, want := range map[string]string{
		"agenttrace": "`agenttrace`",
		"a`b":        "`a\\`b`",
		`a\b`:        "`a\\\\b`",
	} {
		if got := chmigrate.QuoteIdent(in); got != want {
			t.Errorf("QuoteIdent(%q) = %s, want %s", in, got, want)
		}
	}
}

// TestUpgradeMovesRowsToFinerGranules: migrations 000010–000019 move the
// traces and observations stored by an older release into the tables of
// 1024-row granules; rows an older worker still writes reach them, the
// time indexes, the trace dates (000020–000025) and the trace refs
// (000033–000036); and `migrate down`
// gives the old tables every row back, for readers of an older release.
func TestUpgradeMovesRowsToFinerGranules(t *testing.T) {
	cfg, conn := testinfra.ClickHouse(t)
	ctx := context.Background()
	m, err := chmigrate.Open(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	if err := m.Up(); err != nil {
		t.Fatal(err)
	}
	moved := int(chschema.LatestVersion()) - 9 // back to 000009
	if err := m.Down(moved); err != nil {
		t.Fatal(err)
	}
	legacyTraces, legacyObservations := chschema.TraceTable, chschema.ObservationTable
	legacyTraces.Name, legacyObservations.Name = chschema.LegacyTraces, chschema.LegacyObservations
	write := func(traces chschema.Table[chschema.Trace], observations chschema.Table[chschema.Observation], n int) {
		t.Helper()
		id := "tr-" + strconv.Itoa(n)
		if err := traces.Insert(ctx, conn, []chschema.Trace{{ProjectID: "p", ID: id, Timestamp: uint64(n) * 1e9,
			Name: "agent", SessionID: "s-" + id, EventID: "ev-" + id, EventTS: uint64(n) * 1e9}}, 1); err != nil {
			t.Fatal(err)
		}
		if err := observations.Insert(ctx, conn, []chschema.Observation{{ProjectID: "p", TraceID: id, ID: "ob-" + id,
			Type: "SPAN", StartTime: uint64(n) * 1e9, EventID: "ev-ob-" + id, EventTS: uint64(n) * 1e9}}, 1); err != nil {
			t.Fatal(err)
		}
	}
	ids := func(q string) string {
		t.Helper()
		rows, err := conn.Query(ctx, q)
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		var got []string
		for rows.Next() {
			var id string
			if err := rows.Scan(&id); err != nil {
				t.Fatal(err)
			}
			got = append(got, id)
		}
		return strings.Join(got, ",")
	}
	check := func(stage, table, column, want string) {
		t.Helper()
		if got := ids("SELECT DISTINCT " + column + " FROM " + table + " ORDER BY " + column); got != want {
			t.Errorf("%s: %s holds %s %q, want %q", stage, table, column, got, want)
		}
	}

	write(legacyTraces, legacyObservations, 1) // stored by the older release
	if err := m.Up(); err != nil {
		t.Fatal(err)
	}
	write(legacyTraces, legacyObservations, 2)               // by an older worker during the upgrade
	write(chschema.TraceTable, chschema.ObservationTable, 3) // by this release
	for _, c := range [][4]string{
		{chschema.Traces, chschema.ColID, "tr-1,tr-2,tr-3"},
		{chschema.Observations, chschema.ColTraceID, "tr-1,tr-2,tr-3"},
		{chschema.TracesByTime, chschema.ColID, "tr-1,tr-2,tr-3"},
		{chschema.ObservationsByTime, chschema.ColTraceID, "tr-1,tr-2,tr-3"},
		{chschema.TraceDates, chschema.ColTraceID, "tr-1,tr-2,tr-3"},
		{chschema.TraceRefs, "value", "s-tr-1,s-tr-2,s-tr-3"},
		{chschema.LegacyTraces, chschema.ColID, "tr-2"},
		{chschema.LegacyObservations, chschema.ColTraceID, "tr-2"},
	} {
		check("after up", c[0], c[1], c[2])
	}
	if got := ids("SELECT toString(count()) FROM " + chschema.Traces + " FINAL"); got != "3" {
		t.Errorf("%s FINAL holds %s rows, want 3: a version written twice must collapse", chschema.Traces, got)
	}

	if err := m.Down(moved); err != nil {
		t.Fatal(err)
	}
	check("after down", chschema.LegacyTraces, chschema.ColID, "tr-1,tr-2,tr-3")
	check("after down", chschema.LegacyObservations, chschema.ColTraceID, "tr-1,tr-2,tr-3")
}

func tables(t *testing.T, conn driver.Conn) []string {
	t.Helper()
	rows, err := conn.Query(context.Background(), "SELECT name FROM system.tables WHERE database = currentDatabase() ORDER BY name")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var names []string
	for rows.Next() {
		var n string
		if err := rows.Scan(&n); err != nil {
			t.Fatal(err)
		}
		names = append(names, n)
	}
	return names
}

func equal(a, b []string) bool { return strings.Join(a, ",") == strings.Join(b, ",") }

// TestUpLeavesANewerSchemaAlone: after a rollback to an older binary, its
// `migrate up` finds a schema newer than its newest migration and must
// leave it exactly as it is (golang-migrate alone would fail on it).
func TestUpLeavesANewerSchemaAlone(t *testing.T) {
	cfg, conn := testinfra.ClickHouse(t)
	latest := chschema.LatestVersion()
	newer := latest + 2
	d, err := chmigrate.NewDriver(context.Background(), conn)
	if err != nil {
		t.Fatal(err)
	}
	if err := d.SetVersion(int(newer), false); err != nil {
		t.Fatal(err)
	}
	before := tables(t, conn)

	m, err := chmigrate.Open(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	err = m.Up()
	var ne *chmigrate.NewerSchemaError
	if !errors.As(err, &ne) || ne.Version != newer || ne.Latest != latest ||
		!strings.Contains(err.Error(), "schema is newer than this binary") {
		t.Fatalf("Up on a newer schema = %v, want a NewerSchemaError for %d > %d", err, newer, latest)
	}
	if st, err := m.Status(); err != nil || st.Version != newer || st.Dirty {
		t.Fatalf("status after = %+v, %v; want version %d untouched", st, err, newer)
	}
	if after := tables(t, conn); !equal(after, before) {
		t.Errorf("tables changed: %v -> %v", before, after)
	}
	if err := chschema.Check(context.Background(), conn); err != nil {
		t.Errorf("Check on a newer schema: %v; an older replica must stay ready", err)
	}
	// A newer schema left dirty by the newer binary needs an operator.
	if err := d.SetVersion(int(newer), true); err != nil {
		t.Fatal(err)
	}
	if err := m.Up(); err == nil || errors.As(err, &ne) {
		t.Fatalf("Up on a dirty newer schema = %v, want a failure", err)
	}
}
