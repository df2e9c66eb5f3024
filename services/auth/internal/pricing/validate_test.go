package pricing

import (
	"errors"
	"math"
	"regexp"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/agenttrace/agenttrace/services/auth/internal/tenancy"
)

func fieldOf(t *testing.T, err error) string {
	t.Helper()
	var fe *tenancy.FieldError
	if !errors.As(err, &fe) {
		t.Fatalf("err = %v, want a FieldError", err)
	}
	if !errors.Is(err, tenancy.ErrInvalidArgument) {
		t.Fatalf("err = %v is not ErrInvalidArgument", err)
	}
	return fe.Field
}

func TestCheckPattern(t *testing.T) {
	tests := []struct {
		name, pattern string
		want          string // a substring of the description; "" accepts
	}{
		{"plain", "gpt-4o", ""},
		{"alternatives", "(openai/)?gpt-4o(-\\d{4}-\\d{2}-\\d{2})?", ""},
		{"flags inside", "(?i:GPT)-4o", ""},
		{"catch all that needs a name", ".+", ""},
		{"empty", "", "required"},
		{"syntax error", "gpt-4o(", "missing closing )"},
		{"breaks out of the anchoring group", "a)|(b", "unexpected )"},
		{"matches the empty name", "(gpt-4o)?", "must not match an empty model name"},
		{"matches anything", ".*", "must not match an empty model name"},
		{"alternative matching empty", "a|", "must not match an empty model name"},
		{"too long", strings.Repeat("a", maxPatternLen+1), "at most"},
		{"control character", "gpt\n4o", "control characters"},
		{"invalid utf-8", "gpt\xff", "valid UTF-8"},
		{"perl lookahead is not RE2", "gpt-4o(?!-mini)", "invalid or unsupported Perl syntax"},
		{"backreference is not RE2", "(a)\\1", "invalid escape sequence"},
		{"repeat too large", "a{1001}", "invalid repeat count"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := checkPattern(tt.pattern)
			if tt.want == "" {
				if err != nil {
					t.Fatalf("checkPattern(%q) = %v, want nil", tt.pattern, err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("checkPattern(%q) = %v, want %q", tt.pattern, err, tt.want)
			}
			if f := fieldOf(t, err); f != "match_pattern" {
				t.Fatalf("field = %q", f)
			}
		})
	}
}

func TestCompilePatternAnchoredAndCaseInsensitive(t *testing.T) {
	re, err := CompilePattern(`(openai/)?gpt-4o(-\d{4}-\d{2}-\d{2})?`)
	if err != nil {
		t.Fatal(err)
	}
	for model, want := range map[string]bool{
		"gpt-4o":                   true,
		"GPT-4O":                   true,
		"openai/gpt-4o-2024-08-06": true,
		"OpenAI/GPT-4o":            true,
		"gpt-4o-mini":              false, // anchored at the end
		"my-gpt-4o":                false, // anchored at the start
		"gpt-4o\n":                 false, // \z, not $
		"azure/gpt-4o":             false,
	} {
		if got := re.MatchString(model); got != want {
			t.Errorf("match(%q) = %v, want %v", model, got, want)
		}
	}
	if _, err := CompilePattern("a)|(b"); err == nil {
		t.Fatal("a pattern that is invalid on its own must not compile once wrapped")
	}
}

func TestCheckPrices(t *testing.T) {
	many := map[string]float64{}
	for i := range maxPrices + 1 {
		many["k"+strings.Repeat("x", i)] = 1
	}
	tests := []struct {
		name   string
		prices map[string]float64
		field  string // "" accepts
	}{
		{"typical", map[string]float64{"input": 2.5e-6, "output": 1e-5, "cached_input": 1.25e-6}, ""},
		{"free", map[string]float64{"input": 0}, ""},
		{"dotted type", map[string]float64{"audio.input": 1e-4}, ""},
		{"none", nil, "prices"},
		{"too many", many, "prices"},
		{"upper case type", map[string]float64{"Input": 1}, "prices"},
		{"empty type", map[string]float64{"": 1}, "prices"},
		{"type too long", map[string]float64{strings.Repeat("a", 49): 1}, "prices"},
		{"negative", map[string]float64{"input": -1e-6}, "prices.input"},
		{"NaN", map[string]float64{"input": math.NaN()}, "prices.input"},
		{"infinite", map[string]float64{"output": math.Inf(1)}, "prices.output"},
		{"per million by mistake", map[string]float64{"output": 15000}, "prices.output"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := checkPrices(tt.prices)
			if tt.field == "" {
				if err != nil {
					t.Fatalf("checkPrices = %v", err)
				}
				return
			}
			if f := fieldOf(t, err); f != tt.field {
				t.Fatalf("field = %q (%v), want %q", f, err, tt.field)
			}
		})
	}
}

func TestCheck(t *testing.T) {
	ok := Price{ModelName: " gpt-4o ", MatchPattern: "gpt-4o", Prices: map[string]float64{"input": 1e-6},
		EffectiveFrom: time.Date(2024, 1, 1, 1, 0, 0, 0, time.FixedZone("x", 3600))}
	got, err := check(ok)
	if err != nil {
		t.Fatal(err)
	}
	if got.ModelName != "gpt-4o" || got.EffectiveFrom.Location() != time.UTC || !got.EffectiveFrom.Equal(ok.EffectiveFrom) {
		t.Fatalf("check = %+v", got)
	}
	tests := []struct {
		name  string
		edit  func(*Price)
		field string
	}{
		{"no model name", func(p *Price) { p.ModelName = "  " }, "model_name"},
		{"model name too long", func(p *Price) { p.ModelName = strings.Repeat("m", maxModelNameLen+1) }, "model_name"},
		{"model name control", func(p *Price) { p.ModelName = "gpt\x00" }, "model_name"},
		{"model name invalid utf-8", func(p *Price) { p.ModelName = "gpt\xff" }, "model_name"},
		{"bad pattern", func(p *Price) { p.MatchPattern = "(" }, "match_pattern"},
		{"no prices", func(p *Price) { p.Prices = nil }, "prices"},
		{"before 1970", func(p *Price) { p.EffectiveFrom = time.Date(1969, 12, 31, 0, 0, 0, 0, time.UTC) }, "effective_from"},
		{"after 2262", func(p *Price) { p.EffectiveFrom = time.Date(2262, 1, 1, 0, 0, 0, 0, time.UTC) }, "effective_from"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := ok
			tt.edit(&p)
			_, err := check(p)
			if f := fieldOf(t, err); f != tt.field {
				t.Fatalf("field = %q (%v), want %q", f, err, tt.field)
			}
		})
	}
}

func TestFormatPrices(t *testing.T) {
	got := formatPrices(map[string]float64{"output": 1e-5, "input": 2.5e-6, "cached_input": 1.25e-6})
	if want := "cached_input=1.25e-06,input=2.5e-06,output=1e-05"; got != want {
		t.Fatalf("formatPrices = %q, want %q", got, want)
	}
}

// FuzzCheckPattern: no input panics; an accepted pattern compiles on its
// own, matches no empty name, and its matcher only ever matches whole
// names (what it matches, it matches with any case).
func FuzzCheckPattern(f *testing.F) {
	for _, s := range []string{
		"gpt-4o", `(?:[a-z0-9_.-]+/)*gpt-4o(?:-\d{4}-\d{2}-\d{2})?`, "a)|(b", "(", ".*", "a|", "(?i)x", `\z`,
		"(?m)^a$", "[[:alpha:]]+", `\Q)\E`, "a{2,1000}", "\xff", "x\x00",
	} {
		f.Add(s, "gpt-4o")
	}
	f.Fuzz(func(t *testing.T, pattern, model string) {
		err := checkPattern(pattern)
		if err != nil {
			if strings.Contains(err.Error(), "`") {
				t.Fatalf("the error quotes the expression: %v", err)
			}
			return
		}
		if _, err := regexp.Compile(pattern); err != nil {
			t.Fatalf("accepted %q that does not compile on its own: %v", pattern, err)
		}
		re, err := CompilePattern(pattern)
		if err != nil {
			t.Fatalf("accepted %q that CompilePattern refuses: %v", pattern, err)
		}
		if re.MatchString("") {
			t.Fatalf("accepted %q that matches the empty name", pattern)
		}
		if !utf8.ValidString(model) || !re.MatchString(model) {
			return
		}
		loc := re.FindStringIndex(model)
		if loc == nil || loc[0] != 0 || loc[1] != len(model) {
			t.Fatalf("%q matches %q only partly: %v", pattern, model, loc)
		}
		if !re.MatchString(strings.ToUpper(model)) && strings.ToUpper(model) != model && utf8.ValidString(strings.ToUpper(model)) {
			// Case folding of some scripts changes lengths; only ASCII
			// names are required to match in any case.
			if isASCII(model) {
				t.Fatalf("%q matches %q but not its upper case", pattern, model)
			}
		}
	})
}

func isASCII(s string) bool {
	for i := range len(s) {
		if s[i] >= utf8.RuneSelf {
			return false
		}
	}
	return true
}
