package pricing

import (
	"time"

	"github.com/agenttrace/agenttrace/pkg/chschema"
)

// Tables gives the price table in use (a Cache); nil when none is loaded.
type Tables interface {
	Table() *Table
}

// Enricher sets computed costs on observation rows.
type Enricher struct {
	tables  Tables
	metrics *Metrics
}

// NewEnricher prices rows from the tables' current table.
func NewEnricher(tables Tables, m *Metrics) *Enricher {
	return &Enricher{tables: tables, metrics: m}
}

// Enrich sets the cost of every row of project that names a model and
// counts usage but carries no cost, from the price in effect at the
// observation's start time (else its event's timestamp). A cost the client
// sent is never touched. Each row is one event, priced on its own: the
// worker never reads stored rows, so an update that carries usage but not
// the model (which its create named) cannot be priced; the model must
// travel with the usage.
func (e *Enricher) Enrich(project string, rows []chschema.Observation) {
	table := e.tables.Table()
	for i := range rows {
		if outcome := price(table, project, &rows[i]); outcome != "" {
			e.metrics.costs.WithLabelValues(outcome).Inc()
		}
	}
}

// price settles one row's cost and says how ("" when the row has neither
// model nor usage, i.e. nothing to price).
func price(table *Table, project string, o *chschema.Observation) string {
	u := usageOf(o)
	counted := u.Input != nil || u.Output != nil || u.Total != nil || len(u.Details) > 0
	switch {
	case o.Model == "" && !counted:
		return ""
	case o.CostInput != nil || o.CostOutput != nil || o.CostTotal != nil:
		return OutcomeClient
	case !counted:
		return OutcomeNoUsage
	case o.Model == "" || table == nil:
		return OutcomeNoPrice
	}
	p := table.Lookup(project, o.Model, observedAt(o))
	if p == nil {
		return OutcomeNoPrice
	}
	cost, ok := Compute(u, p.Prices)
	if !ok {
		return OutcomeNoPrice
	}
	o.CostInput, o.CostOutput, o.CostTotal = cost.Input, cost.Output, cost.Total
	return OutcomeComputed
}

func usageOf(o *chschema.Observation) Usage {
	u := Usage{Input: o.UsageInput, Output: o.UsageOutput, Total: o.UsageTotal}
	if len(o.UsageDetailsKeys) > 0 && len(o.UsageDetailsKeys) == len(o.UsageDetailsValues) {
		u.Details = make(map[string]int64, len(o.UsageDetailsKeys))
		for i, k := range o.UsageDetailsKeys {
			u.Details[k] = o.UsageDetailsValues[i]
		}
	}
	return u
}

// observedAt is when the observation happened, for choosing its price:
// its start time, else its event's timestamp (which ingest always sets).
func observedAt(o *chschema.Observation) time.Time {
	if o.StartTime != 0 {
		return time.Unix(0, int64(o.StartTime))
	}
	return time.Unix(0, int64(o.EventTS))
}
