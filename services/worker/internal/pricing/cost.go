package pricing

import (
	"maps"
	"slices"

	"github.com/agenttrace/agenttrace/pkg/tokenusage"
)

// Usage is what an observation counted; nil counts are unset.
type Usage struct {
	Input, Output, Total *int64
	Details              map[string]int64
}

// Cost is a computed cost in USD; nil parts are unset.
type Cost struct {
	Input, Output, Total *float64
}

// Usage types with a meaning of their own; every other price is for the
// usage detail of the same name.
const (
	typeInput  = tokenusage.Input
	typeOutput = tokenusage.Output
	typeTotal  = tokenusage.Total
)

// Compute prices usage. It follows the native convention (package
// tokenusage): usage.input counts every input token, the cached ones
// included, usage.output every output token, the reasoning ones included,
// and a detail's side is tokenusage.SideOf:
//
//	cost.input  = Σ details[k] × prices[k]   for input-side details k with a price
//	            + max(0, input − Σ those details[k]) × prices["input"]
//	cost.output = the same over output-side details and prices["output"]
//	cost.total  = cost.input + cost.output
//	            + Σ details[k] × prices[k]   for details of no side with a price
//	            + total × prices["total"]    (total defaults to input + output)
//
// So with cached_input priced, uncached input = input − cached_input is
// charged at the input price and the cached tokens at the cached price;
// with reasoning_output priced separately, output − reasoning_output is
// charged at the output price and the reasoning tokens at their own. A
// detail without a price of its own stays inside its side's count, at that
// side's price. cost.input (cost.output) is set when some input-side
// (output-side) units met a price; ok is false when no unit met one.
func Compute(u Usage, prices map[string]float64) (cost Cost, ok bool) {
	if len(prices) == 0 {
		return Cost{}, false
	}
	var (
		in, out, other              float64
		inPriced, outPriced, priced bool
		rest                        = map[string]int64{typeInput: deref(u.Input), typeOutput: deref(u.Output)}
	)
	// Sorted, so that the float sums do not depend on map order.
	for _, k := range slices.Sorted(maps.Keys(u.Details)) {
		n := u.Details[k]
		p, has := prices[k]
		if !has || n == 0 || k == typeInput || k == typeOutput || k == typeTotal {
			continue
		}
		c := float64(n) * p
		switch tokenusage.SideOf(k) {
		case tokenusage.InputSide:
			in, inPriced = in+c, true
			rest[typeInput] -= n
		case tokenusage.OutputSide:
			out, outPriced = out+c, true
			rest[typeOutput] -= n
		default:
			other, priced = other+c, true
		}
	}
	if p, has := prices[typeInput]; has && u.Input != nil {
		in, inPriced = in+float64(max(rest[typeInput], 0))*p, true
	}
	if p, has := prices[typeOutput]; has && u.Output != nil {
		out, outPriced = out+float64(max(rest[typeOutput], 0))*p, true
	}
	if p, has := prices[typeTotal]; has && (u.Total != nil || u.Input != nil || u.Output != nil) {
		total := deref(u.Total)
		if u.Total == nil {
			total = deref(u.Input) + deref(u.Output)
		}
		other, priced = other+float64(total)*p, true
	}
	if !inPriced && !outPriced && !priced {
		return Cost{}, false
	}
	if inPriced {
		cost.Input = &in
	}
	if outPriced {
		cost.Output = &out
	}
	total := in + out + other
	cost.Total = &total
	return cost, true
}

func deref(n *int64) int64 {
	if n == nil {
		return 0
	}
	return *n
}
