package langfuse

import (
	"encoding/json"
	"math"
	"strconv"
	"strings"

	commonv1 "github.com/agenttrace/agenttrace/pkg/gen/agenttrace/common/v1"
	ingestv1 "github.com/agenttrace/agenttrace/pkg/gen/agenttrace/ingest/v1"
	"github.com/agenttrace/agenttrace/pkg/tokenusage"
)

// usage maps a generation's usage, usageDetails and costDetails. usage is
// Langfuse's older shape ({input, output, total, unit, inputCost, ...} or
// OpenAI's {promptTokens, completionTokens, totalTokens}); usageDetails and
// costDetails are the newer free-form maps and win where both say the same.
// Langfuse counts every usage key as a separate unit; the counts are
// stored in the native convention (package tokenusage), where input and
// output include their details.
func (m *mapper) usage(o *ingestv1.ObservationBody) {
	b := m.body
	u := &commonv1.Usage{}
	c := &commonv1.Cost{}
	lf := map[string]int64{} // Langfuse's counts, each key a separate unit
	if raw := b.get("usage"); raw != nil {
		uo, ferr := newObject(raw, "body.usage", "body.usage.")
		if ferr != nil {
			b.fail("usage", "must be a JSON object, got %s", kindOf(raw))
			return
		}
		for k, n := range map[string]*int64{
			tokenusage.Input:  firstSet(uo.integer("input"), uo.integer("promptTokens")),
			tokenusage.Output: firstSet(uo.integer("output"), uo.integer("completionTokens")),
			tokenusage.Total:  firstSet(uo.integer("total"), uo.integer("totalTokens")),
		} {
			if n != nil {
				lf[k] = *n
			}
		}
		c.Input, c.Output, c.Total = uo.number("inputCost"), uo.number("outputCost"), uo.number("totalCost")
		if unit := uo.str("unit"); unit != nil && *unit != "" {
			o.Metadata = with(o.Metadata, metaUsageUnit, *unit)
		}
		if uo.err != nil {
			m.err = uo.err
			return
		}
	}
	for k, n := range nativeCounts(lf, b.rawObject("usageDetails")) {
		setCount(u, k, n)
	}
	if d := b.rawObject("costDetails"); d != nil {
		for k, v := range d {
			f, ok := amount(v)
			if !ok {
				continue // as Langfuse: only non-negative numbers are costs
			}
			switch k {
			case "input":
				c.Input = &f
			case "output":
				c.Output = &f
			case "total":
				c.Total = &f
			default:
				// The native cost has no breakdown; keep it readable.
				o.Metadata = with(o.Metadata, metaCostPrefix+k, strconv.FormatFloat(f, 'g', -1, 64))
			}
		}
	}
	if u.Input != nil || u.Output != nil || u.Total != nil || len(u.Details) > 0 {
		o.Usage = u
	}
	if c.Input != nil || c.Output != nil || c.Total != nil {
		o.Cost = c
	}
}

// nativeCounts merges Langfuse's usageDetails into lf (the counts of the
// older usage object) and returns them in the native convention. d is a
// map of unit name to count ("input", "output", "total" and any detail
// such as "input_cached_tokens"), each a separate unit as Langfuse counts
// them, so they are converted (tokenusage.FromExclusive); or an OpenAI
// usage object of the Chat Completions or Responses API as the SDKs pass it
// through, whose counts already include their *_details (the native
// convention), taken as they are.
func nativeCounts(lf map[string]int64, d map[string]json.RawMessage) map[string]int64 {
	if d != nil {
		if n, ok := openAI(d, "prompt_tokens", "completion_tokens"); ok {
			return n
		}
		if n, ok := openAI(d, "input_tokens", "output_tokens"); ok {
			return n
		}
	}
	for k, v := range d {
		n, ok := count(v)
		if !ok {
			continue // as Langfuse: values that are not counts are dropped
		}
		lf[k] = n
	}
	return tokenusage.FromExclusive(lf)
}

// openAI reads d as an OpenAI usage object with the given input and output
// count names, and reports whether it was one. Its *_details become
// details named input_<name> / output_<name> (or their native names:
// "cached_tokens" of the input is "cached_input"), left inside the counts.
func openAI(d map[string]json.RawMessage, in, out string) (map[string]int64, bool) {
	allowed := map[string]bool{in: true, out: true, "total_tokens": true, in + "_details": true, out + "_details": true}
	for k := range d {
		if !allowed[k] {
			return nil, false
		}
	}
	inN, ok1 := count(d[in])
	outN, ok2 := count(d[out])
	total, ok3 := count(d["total_tokens"])
	if !ok1 || !ok2 || !ok3 {
		return nil, false
	}
	counts := map[string]int64{tokenusage.Input: inN, tokenusage.Output: outN, tokenusage.Total: total}
	details := func(key, prefix string) {
		var m map[string]json.RawMessage
		if json.Unmarshal(d[key], &m) != nil {
			return
		}
		for k, v := range m {
			if n, ok := count(v); ok {
				counts[tokenusage.NativeName(prefix+k)] = n
			}
		}
	}
	details(in+"_details", "input_")
	details(out+"_details", "output_")
	return counts, true
}

func setCount(u *commonv1.Usage, key string, n int64) {
	switch key {
	case tokenusage.Input:
		u.Input = &n
	case tokenusage.Output:
		u.Output = &n
	case tokenusage.Total:
		u.Total = &n
	default:
		if u.Details == nil {
			u.Details = make(map[string]int64)
		}
		u.Details[key] = n
	}
}

// count reads a non-negative whole number, or a string holding one (some
// SDKs pass counts through as text).
func count(raw json.RawMessage) (int64, bool) {
	if raw == nil || isNull(raw) {
		return 0, false
	}
	var f float64
	if err := json.Unmarshal(raw, &f); err != nil {
		var s string
		if json.Unmarshal(raw, &s) != nil {
			return 0, false
		}
		n, err := strconv.ParseInt(strings.TrimSpace(s), 10, 64)
		return n, err == nil && n >= 0
	}
	if f < 0 || f != math.Trunc(f) || f > 1<<53 {
		return 0, false
	}
	return int64(f), true
}

// amount reads a non-negative number.
func amount(raw json.RawMessage) (float64, bool) {
	var f float64
	if isNull(raw) || json.Unmarshal(raw, &f) != nil || f < 0 {
		return 0, false
	}
	return f, true
}

func firstSet(a, b *int64) *int64 {
	if a != nil {
		return a
	}
	return b
}
