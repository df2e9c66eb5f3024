package langfuse

import (
	"encoding/json"
	"math"
	"strconv"
	"strings"

	commonv1 "github.com/agenttrace/agenttrace/pkg/gen/agenttrace/common/v1"
	ingestv1 "github.com/agenttrace/agenttrace/pkg/gen/agenttrace/ingest/v1"
)

// usage maps a generation's usage, usageDetails and costDetails. usage is
// Langfuse's older shape ({input, output, total, unit, inputCost, ...} or
// OpenAI's {promptTokens, completionTokens, totalTokens}); usageDetails and
// costDetails are the newer free-form maps and win where both say the same.
func (m *mapper) usage(o *ingestv1.ObservationBody) {
	b := m.body
	u := &commonv1.Usage{}
	c := &commonv1.Cost{}
	if raw := b.get("usage"); raw != nil {
		uo, ferr := newObject(raw, "body.usage", "body.usage.")
		if ferr != nil {
			b.fail("usage", "must be a JSON object, got %s", kindOf(raw))
			return
		}
		u.Input = firstSet(uo.integer("input"), uo.integer("promptTokens"))
		u.Output = firstSet(uo.integer("output"), uo.integer("completionTokens"))
		u.Total = firstSet(uo.integer("total"), uo.integer("totalTokens"))
		c.Input, c.Output, c.Total = uo.number("inputCost"), uo.number("outputCost"), uo.number("totalCost")
		if unit := uo.str("unit"); unit != nil && *unit != "" {
			o.Metadata = with(o.Metadata, metaUsageUnit, *unit)
		}
		if uo.err != nil {
			m.err = uo.err
			return
		}
	}
	if d := b.rawObject("usageDetails"); d != nil {
		usageDetails(u, d)
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

// usageDetails reads Langfuse's usageDetails: a map of unit name to count
// ("input", "output", "total" and any detail such as "cache_read"), or an
// OpenAI usage object of the Chat Completions or Responses API as the SDKs
// pass it through, whose *_details become input_*/output_* details
// subtracted from the plain counts, as Langfuse does.
func usageDetails(u *commonv1.Usage, d map[string]json.RawMessage) {
	if openAI(u, d, "prompt_tokens", "completion_tokens") || openAI(u, d, "input_tokens", "output_tokens") {
		return
	}
	for k, v := range d {
		n, ok := count(v)
		if !ok {
			continue // as Langfuse: values that are not counts are dropped
		}
		setCount(u, k, n)
	}
}

// openAI reads d as an OpenAI usage object with the given input and output
// count names, and reports whether it was one.
func openAI(u *commonv1.Usage, d map[string]json.RawMessage, in, out string) bool {
	allowed := map[string]bool{in: true, out: true, "total_tokens": true, in + "_details": true, out + "_details": true}
	for k := range d {
		if !allowed[k] {
			return false
		}
	}
	inN, ok1 := count(d[in])
	outN, ok2 := count(d[out])
	total, ok3 := count(d["total_tokens"])
	if !ok1 || !ok2 || !ok3 {
		return false
	}
	details := func(key, prefix string, base *int64) {
		var m map[string]json.RawMessage
		if json.Unmarshal(d[key], &m) != nil {
			return
		}
		for k, v := range m {
			n, ok := count(v)
			if !ok {
				continue
			}
			setCount(u, prefix+k, n)
			*base = max(*base-n, 0)
		}
	}
	details(in+"_details", "input_", &inN)
	details(out+"_details", "output_", &outN)
	u.Input, u.Output, u.Total = &inN, &outN, &total
	return true
}

func setCount(u *commonv1.Usage, key string, n int64) {
	switch key {
	case "input":
		u.Input = &n
	case "output":
		u.Output = &n
	case "total":
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
