package pricingapi_test

import (
	"testing"
	"time"

	authv1 "github.com/agenttrace/agenttrace/pkg/gen/agenttrace/auth/v1"
	"github.com/agenttrace/agenttrace/services/auth/internal/pricing"
)

// TestSeededPrices checks the migrations' global prices: every pattern is
// valid, and each model name below, as providers and SDKs spell it, is
// priced by exactly the family it belongs to.
func TestSeededPrices(t *testing.T) {
	e := newEnv(t)
	resp, err := e.srv.ListModelPrices(serviceCtx(), &authv1.ListModelPricesRequest{})
	if err != nil {
		t.Fatal(err)
	}
	type compiled struct {
		p  *authv1.ModelPrice
		re interface{ MatchString(string) bool }
	}
	var seeds []compiled
	for _, p := range resp.GetPrices() {
		if p.GetProjectId() != "" {
			t.Fatalf("service list without project holds an override: %v", p)
		}
		re, err := pricing.CompilePattern(p.GetMatchPattern())
		if err != nil {
			t.Fatalf("%s: pattern: %v", p.GetModelName(), err)
		}
		for _, k := range []string{"input"} {
			if p.GetPrices()[k] <= 0 {
				t.Errorf("%s: no %s price", p.GetModelName(), k)
			}
		}
		if p.GetEffectiveFrom().AsTime().Before(time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)) {
			t.Errorf("%s: effective from %v", p.GetModelName(), p.GetEffectiveFrom().AsTime())
		}
		seeds = append(seeds, compiled{p, re})
	}
	if len(seeds) < 25 {
		t.Fatalf("%d seeded prices, want the common models", len(seeds))
	}

	tests := []struct{ model, family string }{
		{"gpt-4o", "gpt-4o"},
		{"gpt-4o-2024-08-06", "gpt-4o"},
		{"GPT-4o", "gpt-4o"},
		{"openai/gpt-4o", "gpt-4o"},
		{"openrouter/openai/gpt-4o-2024-11-20", "gpt-4o"},
		{"gpt-4o-mini", "gpt-4o-mini"},
		{"gpt-4o-mini-2024-07-18", "gpt-4o-mini"},
		{"gpt-4.1", "gpt-4.1"},
		{"gpt-4.1-mini-2025-04-14", "gpt-4.1-mini"},
		{"gpt-4.1-nano", "gpt-4.1-nano"},
		{"o1", "o1"},
		{"o1-2024-12-17", "o1"},
		{"o1-preview", "o1"},
		{"o3", "o3"},
		{"o3-2025-04-16", "o3"},
		{"o3-mini", "o3-mini"},
		{"o3-mini-2025-01-31", "o3-mini"},
		{"o4-mini-2025-04-16", "o4-mini"},
		{"text-embedding-3-small", "text-embedding-3-small"},
		{"text-embedding-3-large", "text-embedding-3-large"},
		{"claude-3-5-haiku-20241022", "claude-3-5-haiku"},
		{"claude-3-5-haiku-latest", "claude-3-5-haiku"},
		{"claude-3-5-sonnet-20240620", "claude-3-5-sonnet"},
		{"anthropic/claude-3.5-sonnet", "claude-3-5-sonnet"},
		{"claude-3-5-sonnet-v2@20241022", "claude-3-5-sonnet"},
		{"anthropic.claude-3-5-sonnet-20241022-v2:0", "claude-3-5-sonnet"},
		{"us.anthropic.claude-3-7-sonnet-20250219-v1:0", "claude-3-7-sonnet"},
		{"claude-3-7-sonnet-latest", "claude-3-7-sonnet"},
		{"claude-sonnet-4-20250514", "claude-sonnet-4"},
		{"claude-sonnet-4-0", "claude-sonnet-4"},
		{"claude-opus-4-20250514", "claude-opus-4"},
		{"claude-opus-4-1-20250805", "claude-opus-4"},
		{"gemini-1.5-pro", "gemini-1.5-pro"},
		{"models/gemini-1.5-pro-002", "gemini-1.5-pro"},
		{"gemini-1.5-flash-latest", "gemini-1.5-flash"},
		{"google/gemini-2.0-flash-001", "gemini-2.0-flash"},
		{"gemini-2.5-pro-preview-05-06", "gemini-2.5-pro"},
		{"gemini-2.5-pro", "gemini-2.5-pro"},
		{"gemini-2.5-flash", "gemini-2.5-flash"},
		{"mistral-large-latest", "mistral-large"},
		{"mistral/mistral-large-2411", "mistral-large"},
		{"mistral-small-2501", "mistral-small"},
		// Other models of a family are not priced as their neighbours.
		{"gpt-4o-audio-preview", ""},
		{"gpt-4.10", ""},
		{"o3-pro", ""},
		{"o1-pro", ""},
		{"claude-sonnet-4-5", ""},
		{"gemini-1.5-flash-8b", ""},
		{"gemini-2.0-flash-lite", ""},
		{"gemini-2.5-flash-lite", ""},
		{"ft:gpt-4o-mini:org::abc", ""},
		{"my-gpt-4o", ""},
	}
	for _, tt := range tests {
		t.Run(tt.model, func(t *testing.T) {
			families := map[string]bool{}
			for _, s := range seeds {
				if s.re.MatchString(tt.model) {
					families[s.p.GetModelName()] = true
				}
			}
			switch {
			case tt.family == "" && len(families) != 0:
				t.Fatalf("%q is priced as %v, want unpriced", tt.model, families)
			case tt.family != "" && (len(families) != 1 || !families[tt.family]):
				t.Fatalf("%q is priced as %v, want only %s", tt.model, families, tt.family)
			}
		})
	}
}
