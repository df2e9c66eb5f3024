package chstore

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/agenttrace/agenttrace/pkg/chschema"
	"github.com/agenttrace/agenttrace/services/query/internal/query"
)

// A list is read in two steps. pageKeys selects the page: it merges only the
// sort column and the filtered columns of the candidate ids and keeps the
// rows whose merged values pass the filters. The caller then merges every
// column of the page's ids alone, so wide columns (input, output) are read
// for one page, never for the whole candidate set.
//
// Candidates are the ids with at least one version that could make the
// merged value pass each filter (a merged value is always the value of one
// version). Restricting to them keeps the merge off the ids the filters rule
// out, while every version of a candidate, including updates that do not
// carry the filtered field, still takes part in its merge.

// filter is one condition of a list.
type filter struct {
	row     string // on a single stored row: could this id match?
	rowArgs []any
	merged  string // the merge expression the condition reads, if any
	having  string // on the merged values
	args    []any
	// index, if set, selects from an index the ids with a version that
	// satisfies row (bind the project, then indexArgs): their candidates
	// without a scan of the table.
	index     string
	indexArgs []any
	// alone: its row condition alone picks the candidates of a merge
	// over the project (see addCandidates).
	alone bool
	// sortRange: it bounds the sort time, as the windows' index range
	// does, so it does not thin a window's rows (see yieldKey).
	sortRange bool
}

// listSpec describes one kind of list.
type listSpec struct {
	name     string
	table    string
	key      string // GROUP BY key: the id, or chschema.ObservationKey
	tie      string // third sort column: the trace id for observations, else "''"
	sortCol  string // alias of the merged sort column
	sortExpr string // its merge expression
	where    conds  // conditions on raw rows that hold for every version (an observation's trace id)
	filters  []filter
	// within restricts the versions that can make an id a candidate (a
	// search's window of event dates), not the versions merged.
	within conds
	// index is the list's time index (chschema.TracesByTime, ...), which
	// holds timeCol (the stored sort time), the id and the tie of every
	// version that sets timeCol; "" when the list has none. traceCol is
	// its column naming a row's trace, whose days (chschema.TraceDates)
	// bound the merge of a window.
	index, timeCol, traceCol string
	// times is the range the list's filters put the merged sort time in.
	times query.TimeRange
	// perRow is how many index rows the first window reads per row of
	// the page (firstWindowRows when 0).
	perRow int
}

// A page of a list with a time index is found window by window, newest
// first. A window is the next n index rows below the page's upper bound
// (the cursor): the ids they name are merged, and those whose merged
// (sort time, id, tie) falls between the window's last row and the upper
// bound, and that pass the filters, are exactly the list's rows in that
// span, because an id's merged sort time is the sort time of one of its
// versions, so its index row lies in the span. Each window costs about n
// ids' merge, not the project's. Index rows of versions that lost the
// merge, or repeated by a redelivery, only make a window yield fewer rows.
//
// The windows grow when a page does not fill (filters that few ids pass),
// by what the last one yielded (nextWindowRows); after indexWindows of
// them the rest of the page is found by the project-wide merge, whose cost
// the filters' row conditions bound. A filtered list's first window is
// sized by what its windows yielded the last time (yieldHint). Ids with no
// sort time at all (merged 0) have no index row and sort last: they are
// read by the project-wide merge once the index is exhausted.
const (
	firstWindowRows = 2 // index rows per page row in the first window
	windowGrowth    = 8
	indexWindows    = 3
)

// pageKeys returns the (sort value, id, tie) of the rows of one page, in
// order, and days that cover the rows of their traces when the windows or
// the search window that found them tell (every day when they do not: see
// pageDays).
func (s *Store) pageKeys(ctx context.Context, projectID string, spec listSpec, page query.Page) ([]query.Cursor, query.Days, error) {
	// The index helps a list over the project (a search's too: a common
	// text fills a page from the newest windows, a rare one falls through
	// to the merge of its candidates, which its date window bounds); a
	// list within one trace is small already, and a page among ids
	// without a sort time is past everything the index holds.
	// A filter with an index of its own (a user's or session's traces)
	// names its candidates directly.
	indexed := slices.ContainsFunc(spec.filters, func(f filter) bool { return f.index != "" })
	if indexed || spec.index == "" || len(spec.where.parts) > 0 || (page.After != nil && page.After.TS == 0) {
		return s.mergedKeys(ctx, projectID, spec, page.After, page.Limit, nil)
	}
	return windowed(ctx, s, projectID, spec, spec.yieldKey(projectID), page.After, page.Limit, spec.times == query.TimeRange{},
		func(lower *query.Cursor) *query.Cursor { return lower },
		func(w *window, below *query.Cursor, n int) ([]query.Cursor, query.Days, error) {
			return s.mergedKeys(ctx, projectID, spec, below, n, w)
		})
}

// pageDays is days, or when days is every day (a page found without the
// windows' days), the days on which the traces have rows.
func (s *Store) pageDays(ctx context.Context, projectID string, traceIDs []string, days query.Days) (query.Days, error) {
	if !days.All() {
		return days, nil
	}
	days, _, err := s.TraceDays(ctx, projectID, traceIDs)
	return days, err
}

// windowed finds up to limit rows of a list through spec's time index,
// window by window below upper (nil: from the top), as described above,
// and the days their traces' rows were read on (every day when no read
// that yielded rows told: see pageDays). read returns up to n rows below
// the bound below and the days it read their rows on: those of window w,
// or, when w is nil, those the project-wide merge finds. next is the bound
// below which the rows left after a window whose last index row is lower
// lie. untimed tells whether rows without a sort time can be listed; they
// come last, below the bound {TS: 1}. hint names the list's yield hint
// ("": none).
func windowed[T any](ctx context.Context, s *Store, projectID string, spec listSpec, hint string, upper *query.Cursor, limit int, untimed bool,
	next func(lower *query.Cursor) *query.Cursor, read func(w *window, below *query.Cursor, n int) ([]T, query.Days, error)) ([]T, query.Days, error) {
	var (
		out  []T
		days *query.Days // nil until a read yields rows
	)
	add := func(w *window, below *query.Cursor) (int, error) {
		got, read, err := read(w, below, limit-len(out))
		if err != nil {
			return 0, err
		}
		if len(got) > 0 {
			if days != nil {
				read = days.Span(read)
			}
			days = &read
		}
		out = append(out, got...)
		return len(got), nil
	}
	done := func(err error) ([]T, query.Days, error) {
		if err != nil || days == nil {
			return out, query.Days{}, err
		}
		return out, *days, nil
	}
	// A filtered list's windows, and a list of sessions', are sized by
	// what they yielded last time (see yieldHint); seen is what this
	// read's windows yield. The first page and the later ones are told
	// apart: below a cursor, a page of sessions finds fewer in a window
	// (the traces just below it are mostly of sessions listed already).
	key := hint
	if key != "" && upper != nil {
		key += "\x00later"
	}
	last := s.yields.get(key)
	if last.merged {
		_, err := add(nil, upper)
		return done(err)
	}
	var (
		seen    yieldHint
		windows int
	)
	learn := func() {
		// A page that its first window filled tells only that the window
		// was large enough: kept, it would grow the next one.
		if windows > 1 || seen.merged {
			s.yields.put(key, seen)
		}
	}
	perRow := cmp.Or(spec.perRow, firstWindowRows)
	rows := last.firstWindow(max(perRow*limit, s.minWindowRows), limit)
	for range indexWindows {
		lower, err := s.windowStart(ctx, projectID, spec, upper, rows)
		if err != nil {
			return nil, query.Days{}, err
		}
		got, err := add(&window{lower: lower, upper: upper}, upper)
		if err != nil {
			return done(err)
		}
		windows++
		if lower != nil {
			seen.got, seen.rows = seen.got+got, seen.rows+rows
		}
		if len(out) == limit {
			learn()
			return done(nil)
		}
		if lower == nil {
			// Every row with a sort time below upper is listed.
			if untimed {
				if _, err := add(nil, &query.Cursor{TS: 1}); err != nil {
					return done(err)
				}
			}
			learn()
			return done(nil)
		}
		upper, rows = next(lower), nextWindowRows(rows, got, limit-len(out))
	}
	_, err := add(nil, upper)
	if err == nil {
		seen.merged = true
		learn()
	}
	return done(err)
}

// nextWindowRows sizes the window after one of rows index rows that
// yielded got of the list's rows, when want more are wanted: a window that
// yielded none grows windowGrowth times; one that yielded some, to as many
// rows as its yield says hold the rest, and half again to spare (so that a
// filter few rows pass is not read in a third, far larger window), never
// less than the last nor more than windowGrowth² times it.
func nextWindowRows(rows, got, want int) int {
	if got == 0 {
		return rows * windowGrowth
	}
	need := (3*want*rows + 2*got - 1) / (2 * got) // ⌈1.5 · want · rows / got⌉
	return min(max(need, rows), rows*windowGrowth*windowGrowth)
}

// window is the span of the time index a merge reads candidates from:
// the index rows from lower (inclusive; nil: no bound) to upper
// (exclusive; nil: no bound).
type window struct{ lower, upper *query.Cursor }

// indexRange scopes a read of spec's time index to the rows below upper
// (exclusive; nil: no bound) and at or above lower (nil: no bound) and in
// the filters' time range.
func indexRange(q *sqlQuery, projectID string, spec listSpec, lower, upper *query.Cursor) {
	row := "(" + spec.timeCol + ", " + chschema.ColID + ", " + spec.tie + ")"
	q.add(inProjectRows, projectID)
	// The plain bounds on timeCol let ClickHouse read a range of the sort
	// key; the tuples make them exact.
	if upper != nil {
		q.add("AND "+spec.timeCol+" <= ? AND "+row+" < (?, ?, ?)", upper.TS, upper.TS, upper.ID, upper.Tie)
	}
	if lower != nil {
		q.add("AND "+spec.timeCol+" >= ? AND "+row+" >= (?, ?, ?)", lower.TS, lower.TS, lower.ID, lower.Tie)
	}
	if spec.times.From != 0 {
		q.add("AND "+spec.timeCol+" >= ?", spec.times.From)
	}
	if spec.times.To != 0 {
		q.add("AND "+spec.timeCol+" < ?", spec.times.To)
	}
}

// windowKeys appends the subquery of the keys of w's index rows.
func windowKeys(q *sqlQuery, projectID string, spec listSpec, w *window) {
	windowColumn(q, projectID, spec, w, spec.key)
}

// windowColumn appends the subquery of col of w's index rows.
func windowColumn(q *sqlQuery, projectID string, spec listSpec, w *window, col string) {
	q.add("(SELECT " + col + " FROM " + spec.index)
	indexRange(q, projectID, spec, w.lower, w.upper)
	q.add(")")
}

// windowDays is the span of days on which w's traces have rows: a
// window's ids lie close in time, so their merge reads the partitions of a
// month or two, however many months the project holds. (Bound as scalar
// subqueries instead, the lookup ran several times per merge on 18.16.)
func (s *Store) windowDays(ctx context.Context, projectID string, spec listSpec, w *window) (query.Days, error) {
	traces := newQuery("")
	windowColumn(traces, projectID, spec, w, spec.traceCol)
	days, _, err := s.traceDaysIn(ctx, projectID, traces.String(), traces.args)
	return days, err
}

// withinDays is the span of days on which the traces with rows in spec's
// within window (a search's dates) have rows, every day when spec has no
// such window. A candidate is an id with a version in the window, so every
// version of every candidate lies on those days: their merge reads the
// partitions that hold them, not the project's months.
func (s *Store) withinDays(ctx context.Context, projectID string, spec listSpec) (query.Days, error) {
	if len(spec.within.parts) == 0 || spec.traceCol == "" {
		return query.Days{}, nil
	}
	// trace_dates holds a row for each day each trace has rows on, with
	// the same event_date the window's conditions read.
	traces := "(SELECT " + chschema.ColTraceID + " FROM " + traceDatesTable + " " + inProjectRows +
		" AND " + strings.Join(spec.within.parts, " AND ") + ")"
	days, _, err := s.traceDaysIn(ctx, projectID, traces, append([]any{projectID}, spec.within.args...))
	return days, err
}

// windowStart returns the n-th index row below upper, newest first: the
// lower end of a window of n rows; nil when fewer than n rows are left.
func (s *Store) windowStart(ctx context.Context, projectID string, spec listSpec, upper *query.Cursor, n int) (*query.Cursor, error) {
	floor, err := s.windowFloor(ctx, projectID, spec, upper, n)
	if err != nil {
		return nil, err
	}
	q := newQuery(spec.name + " window").
		add("SELECT " + chschema.List(spec.timeCol, chschema.ColID, spec.tie) + " FROM " + spec.index)
	indexRange(q, projectID, spec, nil, upper)
	if floor != 0 {
		q.add("AND "+spec.timeCol+" >= ?", floor)
	}
	q.add(fmt.Sprintf("ORDER BY %s DESC, %s DESC, %s DESC LIMIT 1 OFFSET ?", spec.timeCol, chschema.ColID, spec.tie), n-1)
	rows, err := s.query(ctx, q)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	if !rows.Next() {
		return nil, rows.Err()
	}
	var c query.Cursor
	if err := rows.Scan(&c.TS, &c.ID, &c.Tie); err != nil {
		return nil, fmt.Errorf("scan %s: %w", q.name, err)
	}
	return &c, rows.Err()
}

// Floor probes start a minute below the top of a window and grow ×16.
const (
	firstFloorSpan = uint64(time.Minute)
	floorGrowth    = 16
)

// windowFloor returns a time at or below which the n-th index row below
// upper lies, so that windowStart reads a range of the sort key instead of
// the index below upper: ClickHouse 18.16 cannot read a sort key in order,
// and ORDER BY … LIMIT read every index row, ids included (10M observation
// rows, 570 ms, for the first page). It counts the rows of ever longer
// spans down from upper (or from now: rows dated later are counted too),
// each a range read, until one holds n; 0 when none does before the
// bottom of the list's time range, which is then the floor. A span that
// holds floorGrowth times n or more, when the one before it held fewer than
// n, has its rows far below its top (a project quiet for hours before
// now): the spans between the two, twice longer each, find a floor nearer
// its n-th row.
func (s *Store) windowFloor(ctx context.Context, projectID string, spec listSpec, upper *query.Cursor, n int) (uint64, error) {
	top := uint64(time.Now().UnixNano())
	if upper != nil {
		top = upper.TS
	}
	if spec.times.To != 0 {
		top = min(top, spec.times.To)
	}
	bottom := spec.times.From
	count := func(floor uint64) (uint64, error) {
		q := newQuery(spec.name + " window floor").add("SELECT count() FROM " + spec.index)
		indexRange(q, projectID, spec, nil, upper)
		q.add("AND "+spec.timeCol+" >= ?", floor)
		var rows uint64
		err := s.scanOne(ctx, q, &rows)
		return rows, err
	}
	for span := firstFloorSpan; top > bottom && span < top-bottom; {
		floor := top - span
		rows, err := count(floor)
		if err != nil {
			return 0, err
		}
		if rows >= uint64(n) {
			if span == firstFloorSpan || rows < floorGrowth*uint64(n) {
				return floor, nil
			}
			for shorter := span / floorGrowth * 2; shorter < span; shorter *= 2 {
				rows, err := count(top - shorter)
				if err != nil {
					return 0, err
				}
				if rows >= uint64(n) {
					return top - shorter, nil
				}
			}
			return floor, nil
		}
		if span > (top-bottom)/floorGrowth {
			break
		}
		span *= floorGrowth
	}
	return 0, nil
}

// mergedKeys returns the keys of up to limit rows of the list below after
// (nil: from the top): those of a window's ids when w is set, else of
// every id of the project that the filters' row conditions leave; and the
// days it read their rows on (every day without a window or a search's
// window: see withinDays).
func (s *Store) mergedKeys(ctx context.Context, projectID string, spec listSpec, after *query.Cursor, limit int, w *window) ([]query.Cursor, query.Days, error) {
	id := chschema.ColID
	selects := []string{spec.sortExpr, id, spec.tie + " AS m_tie"}
	var having conds
	for _, f := range spec.filters {
		if f.merged != "" && !slices.Contains(selects, f.merged) {
			selects = append(selects, f.merged)
		}
		if f.having != "" {
			having.add(f.having, f.args...)
		}
	}
	merged := fmt.Sprintf("(%s, %s, m_tie)", spec.sortCol, id)
	if after != nil {
		having.add(merged+" < (?, ?, ?)", after.TS, after.ID, after.Tie)
	}
	if w != nil && w.lower != nil {
		having.add(merged+" >= (?, ?, ?)", w.lower.TS, w.lower.ID, w.lower.Tie)
	}

	// The inner query filters and orders on the merged values; the outer
	// one keeps the three key columns (and restates the order, which a
	// subquery does not promise to keep).
	order := fmt.Sprintf("ORDER BY %s DESC, %s DESC, m_tie DESC", spec.sortCol, id)
	q := newQuery(spec.name).
		add(fmt.Sprintf("SELECT %s, %s, m_tie FROM (SELECT %s FROM %s", spec.sortCol, id, chschema.List(selects...), spec.table)).
		add(inProjectRows, projectID).
		addConds("AND", &spec.where)
	var days query.Days
	if w != nil {
		// The window's ids alone: the filters are checked on their merged
		// values, so the row conditions would only cost a scan.
		var err error
		if days, err = s.windowDays(ctx, projectID, spec, w); err != nil {
			return nil, days, err
		}
		q.add("AND (" + spec.key + ") IN")
		windowKeys(q, projectID, spec, w)
		within, args := onDays(days)
		q.add(within, args...)
	} else {
		var err error
		if days, err = s.withinDays(ctx, projectID, spec); err != nil {
			return nil, days, err
		}
		addCandidates(q, projectID, spec)
		within, args := onDays(days)
		q.add(within, args...)
	}
	q.add("GROUP BY "+spec.key).
		addConds("HAVING", &having).
		add(order+" LIMIT ?)", limit).
		add(order)

	rows, err := s.query(ctx, q)
	if err != nil {
		return nil, days, err
	}
	defer rows.Close()
	var keys []query.Cursor
	for rows.Next() {
		var c query.Cursor
		if err := rows.Scan(&c.TS, &c.ID, &c.Tie); err != nil {
			return nil, days, fmt.Errorf("scan %s: %w", spec.name, err)
		}
		keys = append(keys, c)
	}
	if err := rows.Err(); err != nil {
		return nil, days, fmt.Errorf("read %s: %w", spec.name, err)
	}
	return keys, days, nil
}

// addCandidates restricts the merge to ids that have, for every filter, a
// version satisfying its row condition.
//
// The ids are grouped from the rows that satisfy any of the conditions, so
// each condition adds rows to group. The merge checks every filter again,
// so any of them may pick the candidates alone: a search does (few ids'
// versions hold its text in a short window, while a time range or a common
// value would add most of the project's rows to group).
func addCandidates(q *sqlQuery, projectID string, spec listSpec) {
	alone := slices.ContainsFunc(spec.filters, func(f filter) bool { return f.alone })
	var some, every []string
	var someArgs, everyArgs []any
	for _, f := range spec.filters {
		if f.index != "" {
			q.add("AND "+spec.key+" IN ("+f.index+")", append([]any{projectID}, f.indexArgs...)...)
			continue
		}
		if f.row == "" || (alone && !f.alone) {
			continue
		}
		some = append(some, "("+f.row+")")
		someArgs = append(someArgs, f.rowArgs...)
		every = append(every, "max("+f.row+") = 1")
		everyArgs = append(everyArgs, f.rowArgs...)
	}
	if len(some) == 0 {
		return
	}
	where, args := inProjectRows, []any{projectID}
	if len(spec.within.parts) > 0 {
		where += " AND " + strings.Join(spec.within.parts, " AND ")
		args = append(args, spec.within.args...)
	}
	args = append(args, someArgs...)
	args = append(args, everyArgs...)
	q.add(fmt.Sprintf("AND (%[1]s) IN (SELECT %[1]s FROM %[2]s %[5]s AND (%[3]s) GROUP BY %[1]s HAVING %[4]s)",
		spec.key, spec.table, strings.Join(some, " OR "), strings.Join(every, " AND "), where), args...)
}

// searchFilter matches ids with a version in s's window whose name, input
// or output holds s's text, ignoring case. The merge checks it over the
// versions, not on a merged value: the text need not survive the merge (an
// output replaced later still found its trace). The window bounds, by
// partition, the rows that pick its candidates, which it picks alone.
func searchFilter(s *query.Search) (filter, conds) {
	var in []string
	var args []any
	for _, col := range []string{chschema.ColName, chschema.ColInput, chschema.ColOutput} {
		in = append(in, "positionCaseInsensitiveUTF8("+col+", ?) > 0")
		args = append(args, s.Text)
	}
	match := strings.Join(in, " OR ")
	days := []any{day(s.From), day(s.To)}
	var within conds
	within.add(daysCond, days...)
	return filter{row: match, rowArgs: args, alone: true,
		having: "max(" + daysCond + " AND (" + match + ")) = 1", args: append(slices.Clone(days), args...)}, within
}

// day is the UTC date of a time in nanoseconds, as ClickHouse's toDate reads it.
func day(nanos uint64) string {
	return time.Unix(0, int64(nanos)).UTC().Format(time.DateOnly)
}

// eqFilter matches a merged string column equal to v.
func eqFilter(col, v string) filter {
	return filter{row: eq(col), rowArgs: []any{v}, merged: chschema.MergeString(col), having: eq(chschema.Merged(col)), args: []any{v}}
}

// refFilter matches a trace whose merged col (a session or user id, ref in
// chschema.TraceRefs) equals v; its candidates come from that index.
func refFilter(col, ref, v string) filter {
	f := eqFilter(col, v)
	f.index, f.indexArgs = refTraces(ref), []any{v}
	return f
}

// refTraces selects from chschema.TraceRefs the ids of the traces with a
// version naming a session or user (ref): bind the project, then the value.
func refTraces(ref string) string {
	return "SELECT " + chschema.ColTraceID + " FROM " + chschema.TraceRefs + " " + inProjectRows +
		" AND field = '" + ref + "' AND value = ?"
}

// timeFilter bounds a merged timestamp column whose merge expression is
// already selected as the sort column. Both bounds go in one row condition:
// the merged value is the value of a single version.
func timeFilter(col string, r query.TimeRange) []filter {
	var row, having conds
	if r.From != 0 {
		row.add(col+" >= ?", r.From)
		having.add(chschema.Merged(col)+" >= ?", r.From)
	}
	if r.To != 0 {
		// Unset (0) never falls in a range with an upper bound.
		row.add(col+" != 0 AND "+col+" < ?", r.To)
		having.add(chschema.Merged(col)+" != 0 AND "+chschema.Merged(col)+" < ?", r.To)
	}
	if len(row.parts) == 0 {
		return nil
	}
	return []filter{{
		row: strings.Join(row.parts, " AND "), rowArgs: row.args,
		having: strings.Join(having.parts, " AND "), args: having.args,
		sortRange: true,
	}}
}
