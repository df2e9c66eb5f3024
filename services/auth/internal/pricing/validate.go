package pricing

import (
	"errors"
	"fmt"
	"math"
	"regexp"
	"regexp/syntax"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/agenttrace/agenttrace/services/auth/internal/tenancy"
)

const (
	maxModelNameLen = 200
	// maxPatternLen keeps patterns readable and their compiled programs
	// small: the worker matches every generation against them.
	maxPatternLen = 500
	maxPrices     = 12
	// maxUnitPrice bounds a price per unit (USD); no model charges anything
	// near this per token, so a larger value is a unit mistake.
	maxUnitPrice = 1000.0
)

// usageTypeSyntax is a usage type: "input", "cached_input",
// "cache_creation_input", "reasoning_output", "audio.input", ...
var usageTypeSyntax = regexp.MustCompile(`^[a-z][a-z0-9_.-]{0,47}$`)

// minEffectiveFrom and maxEffectiveFrom bound effective_from to times every
// store and the worker's nanosecond clock can hold.
var (
	minEffectiveFrom = time.Unix(0, 0).UTC()
	maxEffectiveFrom = time.Date(2262, 1, 1, 0, 0, 0, 0, time.UTC)
)

func invalid(field, description string) error {
	return &tenancy.FieldError{Field: field, Description: description}
}

// CompilePattern compiles a match pattern the way prices are matched:
// anchored at both ends (the whole model name must match) and
// case-insensitive. The pattern must be a valid RE2 expression on its own,
// so that the wrapping cannot change its meaning: "a)|(b" is refused
// rather than becoming an unanchored alternative. The worker compiles
// patterns the same way (services/worker/internal/pricing).
func CompilePattern(pattern string) (*regexp.Regexp, error) {
	if _, err := regexp.Compile(pattern); err != nil {
		return nil, err
	}
	return regexp.Compile(`(?i)\A(?:` + pattern + `)\z`)
}

// checkPattern validates a match pattern. Errors describe the problem
// without echoing the pattern back.
func checkPattern(pattern string) error {
	switch {
	case pattern == "":
		return invalid("match_pattern", "required")
	case len(pattern) > maxPatternLen:
		return invalid("match_pattern", fmt.Sprintf("at most %d bytes", maxPatternLen))
	case !utf8.ValidString(pattern):
		return invalid("match_pattern", "must be valid UTF-8")
	case strings.ContainsFunc(pattern, unicode.IsControl):
		return invalid("match_pattern", "must not contain control characters")
	}
	re, err := CompilePattern(pattern)
	if err != nil {
		return invalid("match_pattern", "must be a valid RE2 regular expression: "+regexpProblem(err))
	}
	if re.MatchString("") {
		return invalid("match_pattern", "must not match an empty model name")
	}
	return nil
}

// regexpProblem is the kind of a compile error without the expression
// itself, which syntax.Error quotes.
func regexpProblem(err error) string {
	var serr *syntax.Error
	if errors.As(err, &serr) {
		return string(serr.Code)
	}
	return "invalid expression"
}

func cleanModelName(name string) (string, error) {
	name = strings.TrimSpace(name)
	switch {
	case name == "":
		return "", invalid("model_name", "required")
	case !utf8.ValidString(name):
		return "", invalid("model_name", "must be valid UTF-8")
	case utf8.RuneCountInString(name) > maxModelNameLen:
		return "", invalid("model_name", fmt.Sprintf("at most %d characters", maxModelNameLen))
	case strings.ContainsFunc(name, unicode.IsControl):
		return "", invalid("model_name", "must not contain control characters")
	}
	return name, nil
}

func checkPrices(prices map[string]float64) error {
	switch {
	case len(prices) == 0:
		return invalid("prices", "at least one usage type with its price is required")
	case len(prices) > maxPrices:
		return invalid("prices", fmt.Sprintf("at most %d usage types", maxPrices))
	}
	for k, v := range prices {
		if !usageTypeSyntax.MatchString(k) {
			return invalid("prices", `usage types are lower-case names such as "input" or "cached_input"`)
		}
		if math.IsNaN(v) || v < 0 || v > maxUnitPrice {
			return invalid("prices."+k, fmt.Sprintf("must be a price in USD per unit between 0 and %g", maxUnitPrice))
		}
	}
	return nil
}

func checkEffectiveFrom(t time.Time) error {
	if t.Before(minEffectiveFrom) || !t.Before(maxEffectiveFrom) {
		return invalid("effective_from", "must be between 1970 and 2262")
	}
	return nil
}
