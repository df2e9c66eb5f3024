package pricing

import (
	"fmt"
	"testing"
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	authv1 "github.com/agenttrace/agenttrace/pkg/gen/agenttrace/auth/v1"
)

func day(s string) time.Time {
	t, err := time.Parse(time.DateOnly, s)
	if err != nil {
		panic(err)
	}
	return t
}

// modelPrice is a price as auth serves it; project "" is global.
func modelPrice(id, project, name, pattern, from string, prices map[string]float64) *authv1.ModelPrice {
	return &authv1.ModelPrice{
		Id: id, ProjectId: project, ModelName: name, MatchPattern: pattern, Prices: prices,
		EffectiveFrom: timestamppb.New(day(from)), UpdatedAt: timestamppb.New(day(from)),
	}
}

const (
	anyPrefix = `(?:[a-z0-9_.-]+/)*`
	dated     = `(?:-\d{4}-\d{2}-\d{2})?`
)

// fixture is a small table: gpt-4o with a price change, gpt-4o-mini, a
// Claude model with Bedrock and Vertex spellings, and project p1's
// override of gpt-4o from mid-2024.
func fixture() []*authv1.ModelPrice {
	claude := anyPrefix + `(?:(?:[a-z]{2,4}\.)?anthropic\.)?claude-3[.-]5-sonnet(?:-v\d+)?(?:-\d{8}|@\d{8}|-latest)?(?:-v\d+(?::\d+)?)?`
	return []*authv1.ModelPrice{
		modelPrice("g-4o-old", "", "gpt-4o", anyPrefix+"gpt-4o"+dated, "2024-05-13", map[string]float64{"input": 5e-6, "output": 15e-6}),
		modelPrice("g-4o-new", "", "gpt-4o", anyPrefix+"gpt-4o"+dated, "2024-10-02", map[string]float64{"input": 2.5e-6, "cached_input": 1.25e-6, "output": 10e-6}),
		modelPrice("g-4o-mini", "", "gpt-4o-mini", anyPrefix+"gpt-4o-mini"+dated, "2024-07-18", map[string]float64{"input": 0.15e-6, "output": 0.6e-6}),
		modelPrice("g-sonnet", "", "claude-3-5-sonnet", claude, "2024-06-20", map[string]float64{"input": 3e-6, "output": 15e-6}),
		modelPrice("p1-4o", "p1", "gpt-4o", "gpt-4o", "2024-07-01", map[string]float64{"input": 1e-6, "output": 1e-6}),
	}
}

func TestLookup(t *testing.T) {
	table, skipped := NewTable(fixture())
	if len(skipped) != 0 || table.Len() != 5 {
		t.Fatalf("NewTable: %d prices, skipped %v", table.Len(), skipped)
	}
	tests := []struct {
		project, model, at string
		want               string // price id; "" for none
	}{
		// Pattern matching: dated variants, provider prefixes, case.
		{"p0", "gpt-4o", "2025-01-01", "g-4o-new"},
		{"p0", "gpt-4o-2024-08-06", "2025-01-01", "g-4o-new"},
		{"p0", "GPT-4O", "2025-01-01", "g-4o-new"},
		{"p0", "openai/gpt-4o", "2025-01-01", "g-4o-new"},
		{"p0", "azure/openai/gpt-4o-2024-11-20", "2025-01-01", "g-4o-new"},
		{"p0", "gpt-4o-mini", "2025-01-01", "g-4o-mini"},
		{"p0", "Gpt-4o-Mini-2024-07-18", "2025-01-01", "g-4o-mini"},
		{"p0", "claude-3-5-sonnet-20240620", "2025-01-01", "g-sonnet"},
		{"p0", "anthropic/claude-3.5-sonnet", "2025-01-01", "g-sonnet"},
		{"p0", "us.anthropic.claude-3-5-sonnet-20241022-v2:0", "2025-01-01", "g-sonnet"},
		{"p0", "claude-3-5-sonnet-v2@20241022", "2025-01-01", "g-sonnet"},
		{"p0", "gpt-4o-audio-preview", "2025-01-01", ""},
		{"p0", "xgpt-4o", "2025-01-01", ""},
		{"p0", "gpt-4o ", "2025-01-01", ""},
		{"p0", "", "2025-01-01", ""},
		// Effective dates: the newest price not after the time.
		{"p0", "gpt-4o", "2024-10-01", "g-4o-old"},
		{"p0", "gpt-4o", "2024-10-02", "g-4o-new"},
		{"p0", "gpt-4o", "2024-05-12", ""},
		{"p0", "gpt-4o-mini", "2024-07-17", ""},
		// A project's override wins over the global prices, from its date on,
		// and only for the models it matches.
		{"p1", "gpt-4o", "2025-01-01", "p1-4o"},
		{"p1", "GPT-4o", "2024-07-01", "p1-4o"},
		{"p1", "gpt-4o", "2024-06-30", "g-4o-old"},
		{"p1", "openai/gpt-4o", "2025-01-01", "g-4o-new"},
		{"p1", "gpt-4o-mini", "2025-01-01", "g-4o-mini"},
		{"p2", "gpt-4o", "2025-01-01", "g-4o-new"},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%s/%s@%s", tt.project, tt.model, tt.at), func(t *testing.T) {
			for range 2 { // the second answer comes from the memo
				got := table.Lookup(tt.project, tt.model, day(tt.at))
				switch {
				case got == nil && tt.want != "":
					t.Fatalf("no price, want %s", tt.want)
				case got != nil && got.ID != tt.want:
					t.Fatalf("price %s, want %q", got.ID, tt.want)
				}
			}
		})
	}
}

func TestLookupTies(t *testing.T) {
	// Two global prices of overlapping patterns from the same day: the one
	// updated last wins, then the smaller id, whatever the input order.
	a := modelPrice("a", "", "m", "m(-x)?", "2024-01-01", map[string]float64{"input": 1})
	b := modelPrice("b", "", "m", "m", "2024-01-01", map[string]float64{"input": 2})
	c := modelPrice("c", "", "m", "m", "2024-01-01", map[string]float64{"input": 3})
	b.UpdatedAt = timestamppb.New(day("2024-02-01"))
	for _, order := range [][]*authv1.ModelPrice{{a, b, c}, {c, b, a}} {
		table, _ := NewTable(order)
		if got := table.Lookup("", "m", day("2025-01-01")); got.ID != "b" {
			t.Fatalf("tie won by %s, want b", got.ID)
		}
	}
	table, _ := NewTable([]*authv1.ModelPrice{a, c})
	if got := table.Lookup("", "m", day("2025-01-01")); got.ID != "a" {
		t.Fatalf("tie won by %s, want a", got.ID)
	}
}

func TestNewTableSkipsInvalidPrices(t *testing.T) {
	bad := modelPrice("bad", "", "bad", "a)|(b", "2024-01-01", map[string]float64{"input": 1})
	noDate := modelPrice("nodate", "", "x", "x", "2024-01-01", map[string]float64{"input": 1})
	noDate.EffectiveFrom = nil
	table, skipped := NewTable([]*authv1.ModelPrice{bad, noDate, fixture()[0]})
	if table.Len() != 1 || len(skipped) != 2 {
		t.Fatalf("%d prices, skipped %v", table.Len(), skipped)
	}
	if table.Lookup("", "a", day("2025-01-01")) != nil || table.Lookup("", "x", day("2025-01-01")) != nil {
		t.Fatal("a skipped price is used")
	}
}

func TestMemoIsBounded(t *testing.T) {
	table, _ := NewTable(fixture())
	for i := range maxMemo + 10 {
		table.Lookup("", fmt.Sprintf("model-%d", i), day("2025-01-01"))
	}
	if len(table.memo) > maxMemo {
		t.Fatalf("memo holds %d models", len(table.memo))
	}
	if got := table.Lookup("", "gpt-4o", day("2025-01-01")); got == nil || got.ID != "g-4o-new" {
		t.Fatalf("lookup past the memo bound = %v", got)
	}
}
