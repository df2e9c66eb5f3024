package chstore

import (
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
}

// pageKeys returns the (sort value, id, tie) of the rows of one page, in order.
func (s *Store) pageKeys(ctx context.Context, projectID string, spec listSpec, page query.Page) ([]query.Cursor, error) {
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
	if page.After != nil {
		having.add(fmt.Sprintf("(%s, %s, m_tie) < (?, ?, ?)", spec.sortCol, id), page.After.TS, page.After.ID, page.After.Tie)
	}

	// The inner query filters and orders on the merged values; the outer
	// one keeps the three key columns (and restates the order, which a
	// subquery does not promise to keep).
	order := fmt.Sprintf("ORDER BY %s DESC, %s DESC, m_tie DESC", spec.sortCol, id)
	q := newQuery(spec.name).
		add(fmt.Sprintf("SELECT %s, %s, m_tie FROM (SELECT %s FROM %s", spec.sortCol, id, chschema.List(selects...), spec.table)).
		add("WHERE "+inProject, projectID).
		addConds("AND", &spec.where)
	addCandidates(q, projectID, spec)
	q.add("GROUP BY "+spec.key).
		addConds("HAVING", &having).
		add(order+" LIMIT ?)", page.Limit).
		add(order)

	rows, err := s.query(ctx, q)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var keys []query.Cursor
	for rows.Next() {
		var c query.Cursor
		if err := rows.Scan(&c.TS, &c.ID, &c.Tie); err != nil {
			return nil, fmt.Errorf("scan %s: %w", spec.name, err)
		}
		keys = append(keys, c)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read %s: %w", spec.name, err)
	}
	return keys, nil
}

// addCandidates restricts the merge to ids that have, for every filter, a
// version satisfying its row condition.
func addCandidates(q *sqlQuery, projectID string, spec listSpec) {
	var some, every []string
	var someArgs, everyArgs []any
	for _, f := range spec.filters {
		if f.row == "" {
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
	where, args := inProject, []any{projectID}
	if len(spec.within.parts) > 0 {
		where += " AND " + strings.Join(spec.within.parts, " AND ")
		args = append(args, spec.within.args...)
	}
	args = append(args, someArgs...)
	args = append(args, everyArgs...)
	q.add(fmt.Sprintf("AND (%[1]s) IN (SELECT %[1]s FROM %[2]s WHERE %[5]s AND (%[3]s) GROUP BY %[1]s HAVING %[4]s)",
		spec.key, spec.table, strings.Join(some, " OR "), strings.Join(every, " AND "), where), args...)
}

// searchFilter matches ids with a version in s's window whose name, input
// or output holds s's text, ignoring case. It reads no merged value: the
// text need not survive the merge (an output replaced later still found
// its trace). The window bounds, by partition, the rows it reads.
func searchFilter(s *query.Search) (filter, conds) {
	var in []string
	var args []any
	for _, col := range []string{chschema.ColName, chschema.ColInput, chschema.ColOutput} {
		in = append(in, "positionCaseInsensitiveUTF8("+col+", ?) > 0")
		args = append(args, s.Text)
	}
	var within conds
	within.add(chschema.ColEventDate+" >= toDate(?) AND "+chschema.ColEventDate+" <= toDate(?)", day(s.From), day(s.To))
	return filter{row: strings.Join(in, " OR "), rowArgs: args}, within
}

// day is the UTC date of a time in nanoseconds, as ClickHouse's toDate reads it.
func day(nanos uint64) string {
	return time.Unix(0, int64(nanos)).UTC().Format(time.DateOnly)
}

// eqFilter matches a merged string column equal to v.
func eqFilter(col, v string) filter {
	return filter{row: eq(col), rowArgs: []any{v}, merged: chschema.MergeString(col), having: eq(chschema.Merged(col)), args: []any{v}}
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
	}}
}
