package otlpmap

import (
	"math"
	"testing"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/structpb"
)

func TestPBValueIsNewValue(t *testing.T) {
	tests := []struct {
		name string
		v    any
		ok   bool
	}{
		{"null", nil, true},
		{"bool", true, true},
		{"int64", int64(math.MaxInt64), true},
		{"float64", -0.5, true},
		{"string", "héllo", true},
		{"empty list", []any{}, true},
		{"empty map", map[string]any{}, true},
		{"nested", map[string]any{"a": []any{nil, false, int64(3), 2.5, "x", map[string]any{"b": []any{}}}}, true},
		{"invalid string", []any{"ok", "bad \xff"}, false},
		{"invalid key", map[string]any{"k\xff": 1.0}, false},
		{"other type", []any{int32(1)}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := pbValue(tt.v)
			if ok != tt.ok {
				t.Fatalf("pbValue ok = %v, want %v", ok, tt.ok)
			}
			if !ok {
				return
			}
			want, err := structpb.NewValue(tt.v)
			if err != nil {
				t.Fatal(err)
			}
			if !proto.Equal(got, want) {
				t.Fatalf("pbValue = %v, structpb.NewValue = %v", got, want)
			}
		})
	}
}

// FuzzPBValue holds pbValue to structpb.NewValue on the values decoded
// from arbitrary JSON text, as span content arrives.
func FuzzPBValue(f *testing.F) {
	for _, s := range jsonSeeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		v, ok := referenceParseJSON(s)
		if !ok {
			return
		}
		want, err := structpb.NewValue(v)
		got, ok := pbValue(v)
		if ok != (err == nil) {
			t.Fatalf("pbValue ok = %v, structpb.NewValue error %v", ok, err)
		}
		if ok && !proto.Equal(got, want) {
			t.Fatalf("pbValue = %v, structpb.NewValue = %v", got, want)
		}
		if !ok {
			return
		}
		det := proto.MarshalOptions{Deterministic: true}
		gotRaw, err1 := det.Marshal(got)
		wantRaw, err2 := det.Marshal(want)
		if err1 != nil || err2 != nil || string(gotRaw) != string(wantRaw) {
			t.Fatalf("pbValue marshals unlike structpb.NewValue for %q (%v, %v)", s, err1, err2)
		}
	})
}
