// Package pricing computes the cost of generations whose clients sent usage
// but no cost, from the model price table that auth keeps
// (PricingService).
//
// A Cache holds the table: loaded from auth at start and refreshed on an
// interval, the last good copy kept while auth is unreachable. An Enricher
// fills in the costs of observation rows from it before they are written;
// with no table yet (a fresh worker while auth is down) rows are written
// unpriced rather than wait, since ingestion must never block on prices.
//
// Which price applies to an observation (Table.Lookup): the prices whose
// pattern matches its model, anchored and case-insensitively, and whose
// effective_from is not after its start time (the event's timestamp when
// the event sets none); among those, the project's own overrides win over
// the global prices, and within a scope the latest effective_from wins
// (then the latest update, then the id, so the choice is deterministic).
//
// How a cost is computed is documented on Compute.
package pricing

import (
	"regexp"
	"slices"
	"strings"
	"sync"
	"time"

	authv1 "github.com/agenttrace/agenttrace/pkg/gen/agenttrace/auth/v1"
)

// Price is one price of the table, compiled.
type Price struct {
	ID            string
	ProjectID     string // "" for a global price
	ModelName     string
	EffectiveFrom time.Time
	// Prices are USD per unit by usage type.
	Prices    map[string]float64
	updatedAt time.Time
	re        *regexp.Regexp
}

// CompilePattern compiles a match pattern as auth validates it
// (services/auth/internal/pricing.CompilePattern): valid on its own,
// then anchored at both ends and case-insensitive.
func CompilePattern(pattern string) (*regexp.Regexp, error) {
	if _, err := regexp.Compile(pattern); err != nil {
		return nil, err
	}
	return regexp.Compile(`(?i)\A(?:` + pattern + `)\z`)
}

// maxMemo bounds the per-table cache of which prices match a model. Model
// names come from clients, so their number is unbounded; past the bound,
// lookups still work, only without the cache.
const maxMemo = 4096

// Table is an immutable set of prices, safe for concurrent lookups.
type Table struct {
	global   []*Price
	projects map[string][]*Price
	size     int

	mu   sync.Mutex
	memo map[memoKey][]*Price
}

type memoKey struct{ project, model string }

// NewTable compiles prices. A price whose pattern does not compile (auth
// validates them, so only a bug or a hand-edited row gets here) is left
// out and returned in skipped, for the caller to report.
func NewTable(prices []*authv1.ModelPrice) (t *Table, skipped []*authv1.ModelPrice) {
	t = &Table{projects: map[string][]*Price{}, memo: map[memoKey][]*Price{}}
	for _, mp := range prices {
		re, err := CompilePattern(mp.GetMatchPattern())
		if err != nil || mp.GetEffectiveFrom().CheckValid() != nil {
			skipped = append(skipped, mp)
			continue
		}
		p := &Price{
			ID:            mp.GetId(),
			ProjectID:     mp.GetProjectId(),
			ModelName:     mp.GetModelName(),
			EffectiveFrom: mp.GetEffectiveFrom().AsTime(),
			Prices:        mp.GetPrices(),
			updatedAt:     mp.GetUpdatedAt().AsTime(),
			re:            re,
		}
		if p.ProjectID == "" {
			t.global = append(t.global, p)
		} else {
			t.projects[p.ProjectID] = append(t.projects[p.ProjectID], p)
		}
		t.size++
	}
	newestFirst(t.global)
	for _, ps := range t.projects {
		newestFirst(ps)
	}
	return t, skipped
}

// newestFirst orders a scope's prices by precedence.
func newestFirst(ps []*Price) {
	slices.SortFunc(ps, func(a, b *Price) int {
		if c := b.EffectiveFrom.Compare(a.EffectiveFrom); c != 0 {
			return c
		}
		if c := b.updatedAt.Compare(a.updatedAt); c != 0 {
			return c
		}
		return strings.Compare(a.ID, b.ID)
	})
}

// Len is the number of prices in the table.
func (t *Table) Len() int { return t.size }

// Lookup returns the price of model in project at time at, or nil.
func (t *Table) Lookup(project, model string, at time.Time) *Price {
	if model == "" {
		return nil
	}
	if p := inEffect(t.matching(project, model), at); p != nil {
		return p
	}
	return inEffect(t.matching("", model), at)
}

// inEffect is the first (newest) of ps in effect at at.
func inEffect(ps []*Price, at time.Time) *Price {
	for _, p := range ps {
		if !p.EffectiveFrom.After(at) {
			return p
		}
	}
	return nil
}

// matching returns the prices of a scope ("" is global) whose pattern
// matches model, in precedence order, remembering the answer: the same few
// models recur in every batch, and regular expressions are the costly part.
func (t *Table) matching(project, model string) []*Price {
	scope := t.global
	if project != "" {
		scope = t.projects[project]
		if len(scope) == 0 {
			return nil
		}
	}
	key := memoKey{project, model}
	t.mu.Lock()
	ps, ok := t.memo[key]
	t.mu.Unlock()
	if ok {
		return ps
	}
	for _, p := range scope {
		if p.re.MatchString(model) {
			ps = append(ps, p)
		}
	}
	t.mu.Lock()
	if len(t.memo) < maxMemo {
		t.memo[key] = ps
	}
	t.mu.Unlock()
	return ps
}
