package chstore

import (
	"strings"

	"github.com/ClickHouse/clickhouse-go/v2"
)

// sqlQuery is a statement assembled from constant fragments, with the
// caller's values kept apart as bound parameters.
type sqlQuery struct {
	name string // for error messages
	b    strings.Builder
	args []any
}

func newQuery(name string) *sqlQuery { return &sqlQuery{name: name} }

// add appends a fragment and the values of its `?` placeholders.
func (q *sqlQuery) add(fragment string, args ...any) *sqlQuery {
	if q.b.Len() > 0 {
		q.b.WriteByte(' ')
	}
	q.b.WriteString(fragment)
	q.args = append(q.args, args...)
	return q
}

// addConds appends "keyword c1 AND c2 ..." when there is any condition.
func (q *sqlQuery) addConds(keyword string, c *conds) *sqlQuery {
	if len(c.parts) == 0 {
		return q
	}
	return q.add(keyword+" "+strings.Join(c.parts, " AND "), c.args...)
}

func (q *sqlQuery) String() string { return q.b.String() }

// conds collects conditions joined by AND.
type conds struct {
	parts []string
	args  []any
}

func (c *conds) add(cond string, args ...any) {
	c.parts = append(c.parts, cond)
	c.args = append(c.args, args...)
}

// set binds values as a tuple for `x IN ?` (a plain slice binds as an
// array literal, which IN does not take). Callers never pass an empty set:
// "()" is not valid SQL.
func set(values []string) clickhouse.GroupSet {
	g := clickhouse.GroupSet{Value: make([]any, len(values))}
	for i, v := range values {
		g.Value[i] = v
	}
	return g
}
