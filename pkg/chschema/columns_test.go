package chschema_test

import (
	"io/fs"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/agenttrace/agenttrace/pkg/chschema"
	commonv1 "github.com/agenttrace/agenttrace/pkg/gen/agenttrace/common/v1"
)

// ddlColumns reads the columns of table, in order, from the CREATE TABLE
// migration that makes it.
func ddlColumns(t *testing.T, table string) []string {
	t.Helper()
	files, err := fs.Glob(chschema.Migrations, "migrations/*.up.sql")
	if err != nil {
		t.Fatal(err)
	}
	create := regexp.MustCompile(`(?s)CREATE TABLE IF NOT EXISTS ` + table + `\s*\((.*?)\)\s*ENGINE`)
	column := regexp.MustCompile(`^\s*([a-z_]+) `)
	for _, f := range files {
		sql, err := fs.ReadFile(chschema.Migrations, f)
		if err != nil {
			t.Fatal(err)
		}
		m := create.FindSubmatch(sql)
		if m == nil {
			continue
		}
		var cols []string
		for line := range strings.SplitSeq(string(m[1]), "\n") {
			if c := column.FindStringSubmatch(line); c != nil {
				cols = append(cols, c[1])
			}
		}
		return cols
	}
	t.Fatalf("no migration creates %s", table)
	return nil
}

// TestColumnsMatchDDL: each table's column list is its DDL's, in DDL order,
// less event_date (filled by its DEFAULT).
func TestColumnsMatchDDL(t *testing.T) {
	for _, tt := range []struct {
		table   string
		columns []string
	}{
		{chschema.TraceTable.Name, chschema.TraceTable.Columns},
		{chschema.ObservationTable.Name, chschema.ObservationTable.Columns},
		{chschema.ScoreTable.Name, chschema.ScoreTable.Columns},
	} {
		t.Run(tt.table, func(t *testing.T) {
			want := slices.DeleteFunc(ddlColumns(t, tt.table), func(c string) bool { return c == chschema.ColEventDate })
			if !slices.Equal(tt.columns, want) {
				t.Errorf("columns\n got %v\nwant %v (the DDL)", tt.columns, want)
			}
		})
	}
}

// TestFieldsFollowColumns: every table has a row field per column (Insert
// and the scans rely on it; writer round trips check the values).
func TestFieldsFollowColumns(t *testing.T) {
	var (
		tr chschema.Trace
		ob chschema.Observation
		sc chschema.Score
		at uint64
	)
	for _, tt := range []struct {
		table        string
		fields, cols int
	}{
		{chschema.TraceTable.Name, len(chschema.TraceTable.ScanDest(&tr, &at)), len(chschema.TraceTable.Columns)},
		{chschema.ObservationTable.Name, len(chschema.ObservationTable.ScanDest(&ob, &at)), len(chschema.ObservationTable.Columns)},
		{chschema.ScoreTable.Name, len(chschema.ScoreTable.ScanDest(&sc, &at)), len(chschema.ScoreTable.Columns)},
	} {
		if tt.fields != tt.cols {
			t.Errorf("%s: %d fields for %d columns", tt.table, tt.fields, tt.cols)
		}
	}
}

// TestEnumNames: every value of every stored enum encodes to its name
// without prefix and decodes back; unspecified is "".
func TestEnumNames(t *testing.T) {
	for n := range commonv1.ObservationType_name {
		v := commonv1.ObservationType(n)
		s, err := chschema.EnumName(v)
		if err != nil || chschema.ObservationType(s) != v || (n == 0) != (s == "") || strings.Contains(s, "OBSERVATION_TYPE") {
			t.Errorf("%v: %q, %v", v, s, err)
		}
	}
	for n := range commonv1.ObservationLevel_name {
		v := commonv1.ObservationLevel(n)
		if s, err := chschema.EnumName(v); err != nil || chschema.ObservationLevel(s) != v {
			t.Errorf("%v: %q, %v", v, s, err)
		}
	}
	for n := range commonv1.ScoreDataType_name {
		v := commonv1.ScoreDataType(n)
		if s, err := chschema.EnumName(v); err != nil || chschema.ScoreDataType(s) != v {
			t.Errorf("%v: %q, %v", v, s, err)
		}
	}
	for n := range commonv1.ScoreSource_name {
		v := commonv1.ScoreSource(n)
		if s, err := chschema.EnumName(v); err != nil || chschema.ScoreSource(s) != v {
			t.Errorf("%v: %q, %v", v, s, err)
		}
	}
	if s, _ := chschema.EnumName(commonv1.ObservationType_OBSERVATION_TYPE_GENERATION); s != "GENERATION" {
		t.Errorf("GENERATION encodes as %q", s)
	}
	if _, err := chschema.EnumName(commonv1.ObservationType(999)); err == nil {
		t.Error("an unknown number encodes")
	}
	if chschema.ObservationType("BOGUS") != 0 || chschema.ScoreSource("") != 0 {
		t.Error("unknown names must read as unspecified")
	}
}
