package otlpmap

import (
	"fmt"
	"maps"
	"testing"

	commonotlp "go.opentelemetry.io/proto/otlp/common/v1"
)

// TestAttrsRepeatedKeys: small sets (searched) and large ones (hashed) agree:
// a repeated key reads as its last value and is listed once.
func TestAttrsRepeatedKeys(t *testing.T) {
	str := func(k, v string) *commonotlp.KeyValue {
		return &commonotlp.KeyValue{Key: k, Value: &commonotlp.AnyValue{Value: &commonotlp.AnyValue_StringValue{StringValue: v}}}
	}
	for _, size := range []int{smallAttrs - 2, smallAttrs + 4} {
		t.Run(fmt.Sprint(size), func(t *testing.T) {
			set := []*commonotlp.KeyValue{str("k", "first"), str("gen_ai.a", "1")}
			for i := len(set); i < size-1; i++ {
				set = append(set, str(fmt.Sprintf("other.%d", i), "x"))
			}
			set = append(set, str("k", "last"))
			a := newAttrs(set)
			if got := a.peekStr("k"); got != "last" {
				t.Errorf("k = %q, want the last value", got)
			}
			if _, ok := a.get("missing"); ok {
				t.Error("a missing key was found")
			}
			all := maps.Collect(a.all())
			if len(all) != size-1 || text(all["k"]) != "last" {
				t.Errorf("all() = %d keys, k = %q; want %d keys, k = last", len(all), text(all["k"]), size-1)
			}
			var n int
			for range a.all() {
				n++
			}
			if n != size-1 {
				t.Errorf("all() yields %d times, want each of %d keys once", n, size-1)
			}
			if got := a.withPrefix("gen_ai."); len(got) != 1 || got[0] != "gen_ai.a" {
				t.Errorf("withPrefix(gen_ai.) = %v", got)
			}
			rest := map[string]string{}
			a.use("gen_ai.a")
			a.rest(rest)
			if rest["k"] != "last" || len(rest) != size-2 {
				t.Errorf("rest = %v", rest)
			}
		})
	}
}
