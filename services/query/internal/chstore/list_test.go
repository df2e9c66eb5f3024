package chstore

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"

	commonv1 "github.com/agenttrace/agenttrace/pkg/gen/agenttrace/common/v1"
	"github.com/agenttrace/agenttrace/services/query/internal/chtest"
	"github.com/agenttrace/agenttrace/services/query/internal/query"
)

const (
	listProject = "proj-list"
	listOther   = "proj-other" // the same ids, never listed for listProject
)

// sec is a time in nanoseconds, s seconds after a fixed instant.
func sec(s int) uint64 { return 1_700_000_000_000_000_000 + uint64(s)*1_000_000_000 }

// listRows writes versions that make the time index imprecise in every way
// it can be: sort times moved later or earlier by an update (the index
// keeps the old row), repeated in several versions, shared by many ids (the
// window's edge falls inside a tie), updates without a sort time that
// change a filtered field, ids that never get a sort time, and observation
// ids repeated across traces (the tie column). Half the updates are stored
// forty days after their object (another month's partition), so a window
// that read only its index rows' days would miss them.
func listRows(t *testing.T, conn driver.Conn) {
	t.Helper()
	rng := rand.New(rand.NewPCG(7, 11))
	pick := func(vals ...string) string { return vals[rng.IntN(len(vals))] }
	var traces []chtest.Trace
	var obs []chtest.Observation
	for i := range 150 {
		id := fmt.Sprintf("t%03d", i)
		ev := sec(1000 + i)
		late := ev + 1
		if i%2 == 0 {
			late += uint64(40 * 24 * time.Hour)
		}
		for _, project := range []string{listProject, listOther} {
			first := chtest.Trace{ProjectID: project, ID: id, Name: pick("a", "b"), UserID: pick("u1", "u2", "u3"),
				SessionID: pick("", "s1", "s2", "s3", "s4", "s5", "s6", "s7", "s8", "s9"), Environment: pick("prod", "dev"), EventTS: ev}
			if rng.IntN(10) > 0 { // one in ten never gets a timestamp
				first.Timestamp = sec(rng.IntN(40))
			}
			traces = append(traces, first)
			switch rng.IntN(4) {
			case 0: // moved, and maybe renamed
				traces = append(traces, chtest.Trace{ProjectID: project, ID: id, Timestamp: sec(rng.IntN(40)), Name: pick("", "a", "b"), EventTS: late})
			case 1: // the same timestamp again, a new user
				traces = append(traces, chtest.Trace{ProjectID: project, ID: id, Timestamp: first.Timestamp, UserID: pick("u1", "u2"), EventTS: late})
			case 2: // no timestamp, a new environment, maybe another session
				traces = append(traces, chtest.Trace{ProjectID: project, ID: id, Environment: pick("prod", "dev"),
					SessionID: pick("", "", "s1", "s10"), EventTS: late})
			}
		}
		for j := range 3 {
			oid := fmt.Sprintf("o%02d", (i*3+j)%97) // ids repeat across traces
			o := chtest.Observation{ProjectID: listProject, TraceID: id, ID: oid, Type: pick("SPAN", "GENERATION"),
				Model: pick("m1", "m2", ""), EventTS: ev}
			if rng.IntN(10) > 0 {
				o.Start = sec(rng.IntN(30))
			}
			obs = append(obs, o)
			if rng.IntN(3) == 0 {
				obs = append(obs, chtest.Observation{ProjectID: listProject, TraceID: id, ID: oid, Start: sec(rng.IntN(30)), Model: pick("m1", "m2"), EventTS: late})
			}
		}
	}
	// A session none of whose traces has a timestamp: last seen never.
	for _, id := range []string{"x1", "x2"} {
		traces = append(traces, chtest.Trace{ProjectID: listProject, ID: id, SessionID: "s-untimed", UserID: "u2", EventTS: sec(5000)})
	}
	chtest.InsertTraces(t, conn, traces...)
	chtest.InsertObservations(t, conn, obs...)
}

// walk lists every page of spec, limit rows at a time, and returns the keys
// in order.
func walk(t *testing.T, s *Store, spec listSpec, limit int) []query.Cursor {
	t.Helper()
	var all []query.Cursor
	page := query.Page{Limit: limit}
	for range 1000 {
		keys, _, err := s.pageKeys(context.Background(), listProject, spec, page)
		if err != nil {
			t.Fatal(err)
		}
		if len(keys) > limit {
			t.Fatalf("page of %d rows, limit %d", len(keys), limit)
		}
		all = append(all, keys...)
		if len(keys) < limit {
			return all
		}
		page.After = &keys[len(keys)-1]
	}
	t.Fatal("the walk does not end")
	return nil
}

// TestIndexedListsMatchTheMerge: a list read through its time index, in
// windows far smaller than the data (so a page spans many windows and the
// project-wide merge after them), walks exactly the rows, in exactly the
// order, that the project-wide merge of every id lists.
func TestIndexedListsMatchTheMerge(t *testing.T) {
	conn := chtest.NewDB(t)
	listRows(t, conn)
	lists := []struct {
		name string
		spec listSpec
	}{
		{"traces", traceList(query.TraceFilter{})},
		{"traces by user", traceList(query.TraceFilter{UserID: "u2"})},
		{"traces by name and environment", traceList(query.TraceFilter{Name: "a", Environment: "dev"})},
		{"traces from", traceList(query.TraceFilter{Time: query.TimeRange{From: sec(12)}})},
		{"traces to", traceList(query.TraceFilter{Time: query.TimeRange{To: sec(25)}})},
		{"traces in a range, by user", traceList(query.TraceFilter{UserID: "u1", Time: query.TimeRange{From: sec(5), To: sec(30)}})},
		{"traces by a user nobody is", traceList(query.TraceFilter{UserID: "nobody"})},
		// The fixture's traces are named a or b, renamed by some updates
		// forty days later, outside the search's one-day window.
		{"traces searched", traceList(query.TraceFilter{Search: &query.Search{Text: "A", From: sec(1000), To: sec(1200)}})},
		{"traces searched in a range", traceList(query.TraceFilter{Search: &query.Search{Text: "b", From: sec(1000), To: sec(1200)},
			Time: query.TimeRange{From: sec(5), To: sec(30)}})},
		{"observations", observationList(query.ObservationFilter{})},
		{"observations by model", observationList(query.ObservationFilter{Model: "m2"})},
		{"observations by type in a range", observationList(query.ObservationFilter{Type: commonv1.ObservationType_OBSERVATION_TYPE_GENERATION, Time: query.TimeRange{From: sec(3), To: sec(20)}})},
	}
	for _, l := range lists {
		t.Run(l.name, func(t *testing.T) {
			t.Parallel()
			s := New(conn)
			merge := l.spec
			merge.index = ""
			want := walk(t, s, merge, 1000)
			if len(want) == 0 && l.name != "traces by a user nobody is" {
				t.Fatal("the fixture lists nothing here; the comparison would prove nothing")
			}
			// Windows of one row: a page of any size spans windows, and the
			// windows meet inside ties of the sort time.
			// The first walk learns yield hints as it goes (see yieldHint);
			// the second starts with them.
			for _, w := range []struct{ rows, limit int }{{1, 5}, {2, 17}, {64, 500}} {
				s.minWindowRows, s.yields = w.rows, newYieldHints()
				for _, walked := range []string{"learning", "hinted"} {
					if got := walk(t, s, l.spec, w.limit); !slices.Equal(got, want) {
						t.Errorf("windows of >= %d rows, pages of %d, %s:\n got %v\nwant %v", w.rows, w.limit, walked, got, want)
					}
				}
			}
		})
	}
}

// TestNextWindowRows: a window that found nothing grows eightfold; one
// that found some grows to what its yield says the rest needs, with half
// again to spare, between the last window and 64 times it.
func TestNextWindowRows(t *testing.T) {
	for _, c := range []struct{ rows, got, want, next int }{
		{102, 0, 51, 816},  // nothing found: the fixed growth
		{102, 5, 46, 1408}, // ⌈1.5 · 46 · 102 / 5⌉
		{816, 40, 1, 816},  // nearly full: no smaller than the last
		{102, 1, 50, 6528}, // sparse: at most 64 times the last
		{1, 1, 4, 6},       // ⌈1.5 · 4⌉
		{64, 63, 1, 64},    // one short
	} {
		if got := nextWindowRows(c.rows, c.got, c.want); got != c.next {
			t.Errorf("nextWindowRows(%d, %d, %d) = %d, want %d", c.rows, c.got, c.want, got, c.next)
		}
	}
}

// walkSessions lists every page of sessions, limit at a time.
func walkSessions(t *testing.T, list func(query.Page) ([]query.SessionRow, error), limit int) []string {
	t.Helper()
	var all []string
	page := query.Page{Limit: limit}
	for range 1000 {
		rows, err := list(page)
		if err != nil {
			t.Fatal(err)
		}
		if len(rows) > limit {
			t.Fatalf("page of %d sessions, limit %d", len(rows), limit)
		}
		for _, r := range rows {
			x := r.Session
			if len(r.TraceIDs) != int(x.GetTraceCount()) {
				t.Errorf("session %s: %d trace ids, trace count %d", x.GetId(), len(r.TraceIDs), x.GetTraceCount())
			}
			all = append(all, fmt.Sprintf("%s first %d last %d traces %d %v users %v", x.GetId(),
				x.GetFirstSeen().AsTime().UnixNano(), x.GetLastSeen().AsTime().UnixNano(), x.GetTraceCount(),
				slices.Sorted(slices.Values(r.TraceIDs)), x.GetUserIds()))
		}
		if len(rows) < limit {
			return all
		}
		last := rows[len(rows)-1].Session
		page.After = &query.Cursor{TS: uint64(last.GetLastSeen().AsTime().UnixNano()), ID: last.GetId()}
		if last.GetLastSeen() == nil {
			page.After.TS = 0
		}
	}
	t.Fatal("the walk does not end")
	return nil
}

// TestIndexedSessionsMatchTheMerge: sessions listed through the traces'
// time index, in windows of a row or two, are those, in the order and with
// the sums, that the merge of every trace with a session lists.
func TestIndexedSessionsMatchTheMerge(t *testing.T) {
	conn := chtest.NewDB(t)
	listRows(t, conn)
	for _, f := range []query.SessionFilter{
		{}, {UserID: "u2"}, {Time: query.TimeRange{From: sec(10)}}, {Time: query.TimeRange{To: sec(20)}},
	} {
		t.Run(fmt.Sprintf("%+v", f), func(t *testing.T) {
			t.Parallel()
			s := New(conn)
			ctx := context.Background()
			want := walkSessions(t, func(p query.Page) ([]query.SessionRow, error) {
				sessions, _, err := s.sessionPage(ctx, listProject, f, p, 0, nil) // every trace with a session
				return sessions, err
			}, 1000)
			if len(want) < 3 {
				t.Fatalf("the fixture lists %d sessions here; the comparison would prove little", len(want))
			}
			// The first walk learns yield hints, the second starts with them.
			for _, w := range []struct{ rows, limit int }{{1, 1}, {1, 3}, {2, 4}, {64, 500}} {
				s.minWindowRows, s.yields = w.rows, newYieldHints()
				for _, walked := range []string{"learning", "hinted"} {
					got := walkSessions(t, func(p query.Page) ([]query.SessionRow, error) {
						sessions, _, err := s.ListSessions(ctx, listProject, f, p)
						return sessions, err
					}, w.limit)
					if !slices.Equal(got, want) {
						t.Errorf("windows of >= %d rows, pages of %d, %s:\n got %q\nwant %q", w.rows, w.limit, walked, got, want)
					}
				}
			}
		})
	}
}

// TestWindowFloorBoundsTheWindow: the floor of a window of n index rows
// lies at or below its n-th row, and well above the bottom of the list, so
// that windowStart reads a range of the index rather than all of it; from
// the top of the list (no cursor, rows up to now) and from a cursor.
func TestWindowFloorBoundsTheWindow(t *testing.T) {
	conn := chtest.NewDB(t)
	s := New(conn)
	const hour = uint64(time.Hour)
	now := uint64(time.Now().UnixNano())
	var traces []chtest.Trace
	times := make([]uint64, 480) // hourly over twenty days, newest first
	for i := range times {
		times[i] = now - uint64(i)*hour - hour/2
		traces = append(traces, chtest.Trace{ProjectID: listProject, ID: fmt.Sprintf("t%03d", i), Timestamp: times[i], EventTS: times[i]})
	}
	chtest.InsertTraces(t, conn, traces...)
	ctx := context.Background()
	for _, c := range []struct {
		name  string
		upper *query.Cursor
		first int // index in times of the first row below upper
	}{
		{"from the top", nil, 0},
		{"from a cursor", &query.Cursor{TS: times[100], ID: "t100"}, 101},
	} {
		t.Run(c.name, func(t *testing.T) {
			const n = 10
			floor, err := s.windowFloor(ctx, listProject, traceTimes, c.upper, n)
			if err != nil {
				t.Fatal(err)
			}
			nth := times[c.first+n-1]
			below := 0 // rows of the window's range
			for _, ts := range times[c.first:] {
				if ts >= floor {
					below++
				}
			}
			if floor == 0 || floor > nth || below > 100 {
				t.Errorf("floor %d: the %dth row is at %d, the range holds %d of %d rows", floor, n, nth, below, len(times)-c.first)
			}
			start, err := s.windowStart(ctx, listProject, traceTimes, c.upper, n)
			if err != nil || start == nil || start.TS != nth {
				t.Errorf("window start = %v, %v; want the row at %d", start, err, nth)
			}
		})
	}
	// A project quiet for the last thirteen hours, busy before: the
	// probes' ×16 spans overshoot (the first that holds rows, 68 hours,
	// holds 660), and the spans between find a floor near the 10th row.
	const quiet = "proj-quiet"
	var busy []chtest.Trace
	for i := range 3 * 24 * 12 { // every 5 minutes for three days
		ts := now - 13*hour - uint64(i)*uint64(5*time.Minute)
		busy = append(busy, chtest.Trace{ProjectID: quiet, ID: fmt.Sprintf("q%04d", i), Timestamp: ts, EventTS: ts})
	}
	chtest.InsertTraces(t, conn, busy...)
	floor, err := s.windowFloor(ctx, quiet, traceTimes, nil, 10)
	if err != nil {
		t.Fatal(err)
	}
	below := 0
	for _, tr := range busy {
		if tr.Timestamp >= floor {
			below++
		}
	}
	if below < 10 || below > 100 {
		t.Errorf("quiet project: floor %d leaves %d rows in the window's range, want 10 to 100", floor, below)
	}
}
