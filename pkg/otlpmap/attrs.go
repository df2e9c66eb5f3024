package otlpmap

import (
	"iter"
	"math"
	"slices"
	"strconv"
	"strings"

	commonv1 "go.opentelemetry.io/proto/otlp/common/v1"
)

// attrs indexes the attributes of a span (or span event) and records which
// of them the mapping consumed: an attribute is consumed only when its value
// became a typed field, and everything else ends up in metadata.
type attrs struct {
	kvs []*commonv1.KeyValue
	// byKey is made for sets of more than smallAttrs attributes; smaller
	// ones are searched in kvs: the mapping asks a span for dozens of
	// conventions' keys, most of them absent, and comparing a few keys
	// costs less than hashing each.
	byKey map[string]*commonv1.AnyValue
	// used is made on the first use: most attribute sets (resources,
	// events, plain spans) never consume anything.
	used map[string]bool
	// sorted holds the keys in order, made on the first withPrefix.
	sorted []string
}

const smallAttrs = 8

func newAttrs(kvs []*commonv1.KeyValue) *attrs {
	a := &attrs{kvs: kvs}
	if len(kvs) <= smallAttrs {
		return a
	}
	a.byKey = make(map[string]*commonv1.AnyValue, len(kvs))
	// OTLP keys are unique by spec; should one repeat, the last wins, as it
	// would in the SDK's own attribute map.
	for _, kv := range kvs {
		a.byKey[kv.GetKey()] = kv.GetValue()
	}
	return a
}

// lookup returns the value of key, the last one should the key repeat.
func (a *attrs) lookup(key string) (*commonv1.AnyValue, bool) {
	if a.byKey != nil {
		v, ok := a.byKey[key]
		return v, ok
	}
	for i := len(a.kvs) - 1; i >= 0; i-- {
		if a.kvs[i].GetKey() == key {
			return a.kvs[i].GetValue(), true
		}
	}
	return nil, false
}

// all yields every key once, with its value (the last should it repeat).
func (a *attrs) all() iter.Seq2[string, *commonv1.AnyValue] {
	return func(yield func(string, *commonv1.AnyValue) bool) {
		if a.byKey != nil {
			for k, v := range a.byKey {
				if !yield(k, v) {
					return
				}
			}
			return
		}
		for i, kv := range a.kvs {
			if a.repeatedAfter(i) {
				continue
			}
			if !yield(kv.GetKey(), kv.GetValue()) {
				return
			}
		}
	}
}

// repeatedAfter reports whether the key of kvs[i] appears again later.
func (a *attrs) repeatedAfter(i int) bool {
	for _, later := range a.kvs[i+1:] {
		if later.GetKey() == a.kvs[i].GetKey() {
			return true
		}
	}
	return false
}

// empty reports whether the set holds no attribute.
func (a *attrs) empty() bool { return len(a.kvs) == 0 }

// get returns the value of key without consuming it; a key whose value is
// empty counts as absent.
func (a *attrs) get(key string) (*commonv1.AnyValue, bool) {
	v, ok := a.lookup(key)
	if !ok || v.GetValue() == nil {
		return nil, false
	}
	if s, isStr := v.GetValue().(*commonv1.AnyValue_StringValue); isStr && s.StringValue == "" {
		return nil, false
	}
	return v, true
}

func (a *attrs) has(key string) bool {
	_, ok := a.get(key)
	return ok
}

func (a *attrs) use(keys ...string) {
	if a.used == nil && len(keys) > 0 {
		a.used = make(map[string]bool, len(a.kvs))
	}
	for _, k := range keys {
		a.used[k] = true
	}
}

// str consumes and returns the first of keys that is set, as text.
func (a *attrs) str(keys ...string) (string, bool) {
	for _, k := range keys {
		if v, ok := a.get(k); ok {
			a.use(k)
			return text(v), true
		}
	}
	return "", false
}

// peekStr returns the value of key as text without consuming it.
func (a *attrs) peekStr(key string) string {
	v, _ := a.get(key)
	return text(v)
}

// count consumes and returns the first of keys that holds a non-negative
// integer (an int, an integral double or a decimal string, as some SDKs
// send counts).
func (a *attrs) count(keys ...string) (int64, bool) {
	for _, k := range keys {
		v, ok := a.get(k)
		if !ok {
			continue
		}
		if n, ok := integer(v); ok && n >= 0 {
			a.use(k)
			return n, true
		}
	}
	return 0, false
}

func integer(v *commonv1.AnyValue) (int64, bool) {
	switch x := v.GetValue().(type) {
	case *commonv1.AnyValue_IntValue:
		return x.IntValue, true
	case *commonv1.AnyValue_DoubleValue:
		f := x.DoubleValue
		if f == math.Trunc(f) && math.Abs(f) < 1<<53 {
			return int64(f), true
		}
	case *commonv1.AnyValue_StringValue:
		n, err := strconv.ParseInt(strings.TrimSpace(x.StringValue), 10, 64)
		return n, err == nil
	}
	return 0, false
}

// amount consumes and returns the first of keys that holds a finite,
// non-negative number.
func (a *attrs) amount(keys ...string) (float64, bool) {
	for _, k := range keys {
		v, ok := a.get(k)
		if !ok {
			continue
		}
		var f float64
		switch x := v.GetValue().(type) {
		case *commonv1.AnyValue_DoubleValue:
			f = x.DoubleValue
		case *commonv1.AnyValue_IntValue:
			f = float64(x.IntValue)
		case *commonv1.AnyValue_StringValue:
			var err error
			if f, err = strconv.ParseFloat(strings.TrimSpace(x.StringValue), 64); err != nil {
				continue
			}
		default:
			continue
		}
		if math.IsNaN(f) || math.IsInf(f, 0) || f < 0 {
			continue
		}
		a.use(k)
		return f, true
	}
	return 0, false
}

// withPrefix returns the set keys that start with prefix, sorted. A span
// is asked for a dozen prefixes: the keys are sorted once, and each prefix
// is a range of them.
func (a *attrs) withPrefix(prefix string) []string {
	if a.sorted == nil {
		a.sorted = make([]string, 0, len(a.kvs))
		for k := range a.all() {
			a.sorted = append(a.sorted, k)
		}
		slices.Sort(a.sorted)
	}
	lo, _ := slices.BinarySearch(a.sorted, prefix)
	hi := lo
	for hi < len(a.sorted) && strings.HasPrefix(a.sorted[hi], prefix) {
		hi++
	}
	var keys []string
	for _, k := range a.sorted[lo:hi] {
		if len(k) > len(prefix) && a.has(k) {
			keys = append(keys, k)
		}
	}
	return keys
}

// rest adds every attribute not consumed to m, as text.
func (a *attrs) rest(m map[string]string) {
	for k, v := range a.all() {
		if a.used[k] || k == "" {
			continue
		}
		m[clip(k, maxNameBytes)] = clipText(text(v))
	}
}
