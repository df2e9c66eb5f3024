package chstore

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/agenttrace/agenttrace/services/query/internal/chtest"
	"github.com/agenttrace/agenttrace/services/query/internal/query"
)

// TestFirstWindow: without a hint the first window is the list's default;
// with one it holds the page by the hint's yield with half again to spare,
// never less than the default nor more than 64 times it.
func TestFirstWindow(t *testing.T) {
	for _, c := range []struct {
		hint        yieldHint
		rows, limit int
		want        int
	}{
		{yieldHint{}, 100, 50, 100},                   // no hint
		{yieldHint{got: 40, rows: 500}, 100, 50, 938}, // ⌈1.5 · 50 · 500 / 40⌉
		{yieldHint{got: 90, rows: 100}, 100, 50, 100}, // dense: the default
		{yieldHint{got: 0, rows: 900}, 100, 50, 6400}, // nothing found: the most
		{yieldHint{got: 1, rows: 900}, 100, 50, 6400}, // sparse: at most 64 times
		{yieldHint{got: 3, rows: 10}, 4, 2, 10},       // ⌈1.5 · 2 · 10 / 3⌉
	} {
		if got := c.hint.firstWindow(c.rows, c.limit); got != c.want {
			t.Errorf("%+v.firstWindow(%d, %d) = %d, want %d", c.hint, c.rows, c.limit, got, c.want)
		}
	}
}

// TestYieldHintsExpireAndAreBounded: a hint lives yieldTTL; the table
// never holds more than maxYieldHints, dropping expired hints first; the
// empty key keeps nothing.
func TestYieldHintsExpireAndAreBounded(t *testing.T) {
	y := newYieldHints()
	now := time.Unix(1_700_000_000, 0)
	y.now = func() time.Time { return now }

	y.put("", yieldHint{got: 1, rows: 2})
	if h := y.get(""); h.rows != 0 || len(y.hints) != 0 {
		t.Fatalf("the empty key kept %+v", h)
	}
	y.put("old", yieldHint{got: 1, rows: 10})
	now = now.Add(yieldTTL - time.Second)
	if h := y.get("old"); h.got != 1 || h.rows != 10 {
		t.Fatalf("a hint before its TTL: %+v", h)
	}
	now = now.Add(time.Second)
	if h := y.get("old"); h.rows != 0 {
		t.Fatalf("a hint at its TTL is still used: %+v", h)
	}
	for i := range maxYieldHints - 1 {
		y.put(fmt.Sprint(i), yieldHint{got: 1, rows: 3})
	}
	if len(y.hints) != maxYieldHints {
		t.Fatalf("%d hints, want %d", len(y.hints), maxYieldHints)
	}
	y.put("new", yieldHint{got: 2, rows: 3})
	if _, ok := y.hints["old"]; ok || len(y.hints) != maxYieldHints {
		t.Fatalf("at the bound: %d hints, the expired one kept: %v", len(y.hints), ok)
	}
	y.put("newer", yieldHint{got: 2, rows: 3})
	if len(y.hints) != maxYieldHints || y.get("newer").rows != 3 {
		t.Fatalf("at the bound with none expired: %d hints, the new one %+v", len(y.hints), y.get("newer"))
	}
	y.put("newer", yieldHint{got: 1, rows: 5})
	if len(y.hints) != maxYieldHints || y.get("newer").rows != 5 {
		t.Fatalf("a hint replaced: %d hints, %+v", len(y.hints), y.get("newer"))
	}
}

// TestYieldKey: lists are told apart by project, kind, filters and their
// values; a time range alone (which the windows' range bounds) keys no
// hint, nor does it change the key of a filtered list.
func TestYieldKey(t *testing.T) {
	day := query.TimeRange{From: sec(1), To: sec(2)}
	if k := traceList(query.TraceFilter{}).yieldKey("p"); k != "" {
		t.Errorf("unfiltered: key %q", k)
	}
	if k := traceList(query.TraceFilter{Time: day}).yieldKey("p"); k != "" {
		t.Errorf("a time range alone: key %q", k)
	}
	named := traceList(query.TraceFilter{Name: "a"}).yieldKey("p")
	keys := []string{
		named,
		traceList(query.TraceFilter{Name: "b"}).yieldKey("p"),
		traceList(query.TraceFilter{Name: "a"}).yieldKey("q"),
		traceList(query.TraceFilter{Name: "a", Tags: []string{"x"}}).yieldKey("p"),
		traceList(query.TraceFilter{Name: "a", Tags: []string{"y"}}).yieldKey("p"),
		observationList(query.ObservationFilter{Name: "a"}).yieldKey("p"),
	}
	for i, k := range keys {
		if k == "" || slices.Index(keys, k) != i {
			t.Errorf("key %d %q: empty or repeated", i, k)
		}
	}
	if k := traceList(query.TraceFilter{Name: "a", Time: day}).yieldKey("p"); k != named {
		t.Errorf("a time range changed the key: %q, want %q", k, named)
	}
}

// TestHintsSizeTheWindows: a filtered list that needed more than one
// window sizes the next read's first window by what they yielded; one
// whose windows found nothing goes straight to the merge next time, until
// its hint expires; both read the same rows as without hints.
func TestHintsSizeTheWindows(t *testing.T) {
	conn := chtest.NewDB(t)
	listRows(t, conn)
	reg := prometheus.NewRegistry()
	m, err := NewMetrics(reg)
	if err != nil {
		t.Fatal(err)
	}
	s := New(conn).WithMetrics(m)
	s.minWindowRows = 1
	ctx := context.Background()
	windowReads := func() uint64 {
		t.Helper()
		families, err := reg.Gather()
		if err != nil {
			t.Fatal(err)
		}
		var n uint64
		for _, f := range families {
			for _, s := range f.GetMetric() {
				for _, l := range s.GetLabel() {
					if l.GetName() == "query" && l.GetValue() == "list traces window" {
						n += s.GetHistogram().GetSampleCount()
					}
				}
			}
		}
		return n
	}
	read := func(spec listSpec, limit int) ([]query.Cursor, uint64) {
		t.Helper()
		before := windowReads()
		keys, _, err := s.pageKeys(ctx, listProject, spec, query.Page{Limit: limit})
		if err != nil {
			t.Fatal(err)
		}
		return keys, windowReads() - before
	}

	// One trace in four or so is named b in dev: pages of 5 from windows
	// of at least one row (2 per page row: 10) need more than one window.
	sparse := traceList(query.TraceFilter{Name: "b", Environment: "dev"})
	first, windows := read(sparse, 5)
	if len(first) != 5 || windows < 2 {
		t.Fatalf("without a hint: %d rows in %d windows; the fixture should need several", len(first), windows)
	}
	hint := s.yields.get(sparse.yieldKey(listProject))
	if hint.rows == 0 || hint.merged {
		t.Fatalf("no yield learnt: %+v", hint)
	}
	again, windows := read(sparse, 5)
	if !slices.Equal(again, first) || windows != 1 {
		t.Errorf("with the hint %+v: %d windows (want 1), rows %v, want %v", hint, windows, again, first)
	}

	// A later page keeps a hint of its own: below a cursor a list may
	// yield otherwise (sessions do).
	later := query.Page{Limit: 5, After: &first[len(first)-1]}
	if _, _, err := s.pageKeys(ctx, listProject, sparse, later); err != nil {
		t.Fatal(err)
	}
	if h := s.yields.get(sparse.yieldKey(listProject) + "\x00later"); h.rows == 0 {
		t.Errorf("no hint learnt for the later pages: %+v", h)
	}

	// Pages of one row: windows of 2, 16 and 128 rows, fewer than the
	// index holds, so the project-wide merge follows.
	none := traceList(query.TraceFilter{Name: "nobody has this name"})
	if keys, windows := read(none, 1); len(keys) != 0 || windows != indexWindows {
		t.Fatalf("a name none has: %d rows in %d windows, want none in %d", len(keys), windows, indexWindows)
	}
	if h := s.yields.get(none.yieldKey(listProject)); !h.merged {
		t.Fatalf("the merge after the windows not learnt: %+v", h)
	}
	if keys, windows := read(none, 1); len(keys) != 0 || windows != 0 {
		t.Errorf("with the hint: %d rows in %d windows, want none in none", len(keys), windows)
	}
	expired := time.Now().Add(yieldTTL)
	s.yields.now = func() time.Time { return expired }
	if _, windows := read(none, 1); windows != indexWindows {
		t.Errorf("after the hint expired: %d windows, want %d", windows, indexWindows)
	}
}
