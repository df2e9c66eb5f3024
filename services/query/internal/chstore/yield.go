package chstore

import (
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/agenttrace/agenttrace/services/query/internal/query"
)

// A filtered list's first window is sized by what the same list yielded
// the last time it was read (windowed). A window of twice the page's rows
// fills a page when most index rows pass the filters, but a filter that
// one row in twelve passes (a trace name, an environment, a model) needs
// a second, larger window, and each window is a round of lookups and a
// merge. A page of sessions is alike below a cursor: the traces just
// below it belong mostly to sessions listed already. The hint is
// remembered per project and list (its filters and their values; the
// first page apart from the later ones) in the query service for
// yieldTTL: a UI that pages or refreshes a list reads one window per
// page. A hint only sizes the windows, so a wrong one costs time, never a
// row: every read stays exact.

// yieldTTL is how long a hint is used. The windows of a read within it
// refine the hint; one that went straight to the merge does not, so a
// list that became dense again gets its windows back when it expires.
const yieldTTL = time.Minute

// maxYieldHints bounds the hints kept; at the bound the expired ones are
// dropped, then any one.
const maxYieldHints = 4096

// yieldHint is what the windows of one read of a list found.
type yieldHint struct {
	got, rows int // list rows found in full windows, and their index rows
	// merged: the windows found too few rows and the rest of the page
	// came from the project-wide merge.
	merged bool
	at     time.Time
}

// firstWindow sizes the first window of a page of limit rows, at least
// rows (the list's default): to hold the page by the hint's yield with
// half again to spare, at most windowGrowth² times the default (what the
// default windows reach by the third).
func (h yieldHint) firstWindow(rows, limit int) int {
	if h.rows == 0 {
		return rows
	}
	most := rows * windowGrowth * windowGrowth
	if h.got == 0 {
		return most
	}
	need := (3*limit*h.rows + 2*h.got - 1) / (2 * h.got) // ⌈1.5 · limit · rows / got⌉
	return min(max(need, rows), most)
}

// yieldHints are the hints of the lists read lately.
type yieldHints struct {
	mu    sync.Mutex
	hints map[string]yieldHint
	now   func() time.Time
}

func newYieldHints() *yieldHints {
	return &yieldHints{hints: map[string]yieldHint{}, now: time.Now}
}

// get returns the live hint kept under key (none for "").
func (y *yieldHints) get(key string) yieldHint {
	if key == "" {
		return yieldHint{}
	}
	y.mu.Lock()
	defer y.mu.Unlock()
	h, ok := y.hints[key]
	if !ok || y.now().Sub(h.at) >= yieldTTL {
		return yieldHint{}
	}
	return h
}

// put keeps h under key (nothing for ""), dated now.
func (y *yieldHints) put(key string, h yieldHint) {
	if key == "" {
		return
	}
	y.mu.Lock()
	defer y.mu.Unlock()
	now := y.now()
	if _, ok := y.hints[key]; !ok && len(y.hints) >= maxYieldHints {
		for k, old := range y.hints {
			if now.Sub(old.at) >= yieldTTL {
				delete(y.hints, k)
			}
		}
		for k := range y.hints {
			if len(y.hints) < maxYieldHints {
				break
			}
			delete(y.hints, k)
		}
	}
	h.at = now
	y.hints[key] = h
}

// yieldKey names spec's list in projectID for its hint: the filters that
// thin its windows, with their values; "" when none does (an unfiltered
// list, or one bounded only in time, which the windows' range bounds too).
func (spec listSpec) yieldKey(projectID string) string {
	var b strings.Builder
	for _, f := range spec.filters {
		if !f.sortRange {
			fmt.Fprintf(&b, "%s %v\x00%s %v\x00", f.row, f.rowArgs, f.having, f.args)
		}
	}
	if b.Len() == 0 {
		return ""
	}
	return projectID + "\x00" + spec.name + "\x00" + b.String()
}

// sessionsYieldKey names a list of sessions in projectID, in the time range
// t (whose bound on last seen thins a window's sessions), for its hint.
func sessionsYieldKey(projectID string, t query.TimeRange) string {
	return fmt.Sprintf("%s\x00sessions\x00%d %d", projectID, t.From, t.To)
}
