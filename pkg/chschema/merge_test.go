package chschema_test

import (
	"maps"
	"testing"

	"github.com/agenttrace/agenttrace/pkg/chschema"
	commonv1 "github.com/agenttrace/agenttrace/pkg/gen/agenttrace/common/v1"
)

func TestMergeStringMap(t *testing.T) {
	v := func(ts uint64, id string, kv ...string) chschema.MapVersion {
		var keys, vals []string
		for i := 0; i+1 < len(kv); i += 2 {
			keys, vals = append(keys, kv[i]), append(vals, kv[i+1])
		}
		return chschema.MapVersion{ts, id, keys, vals}
	}
	tests := []struct {
		name     string
		versions []chschema.MapVersion
		want     map[string]string
	}{
		{"none", nil, nil},
		{"newest wins per key", []chschema.MapVersion{v(1, "a", "k1", "old", "k2", "x"), v(2, "b", "k1", "new")}, map[string]string{"k1": "new", "k2": "x"}},
		{"order of versions does not matter", []chschema.MapVersion{v(2, "b", "k1", "new"), v(1, "a", "k1", "old")}, map[string]string{"k1": "new"}},
		{"equal timestamps: event id decides", []chschema.MapVersion{v(5, "a", "k", "from-a"), v(5, "b", "k", "from-b")}, map[string]string{"k": "from-b"}},
		{"redelivered version", []chschema.MapVersion{v(1, "a", "k", "v"), v(1, "a", "k", "v")}, map[string]string{"k": "v"}},
		{"uneven arrays keep the pairs", []chschema.MapVersion{{uint64(1), "a", []string{"k1", "k2"}, []string{"v1"}}}, map[string]string{"k1": "v1"}},
		{"malformed tuple skipped", []chschema.MapVersion{{uint64(1)}, v(1, "a", "k", "v")}, map[string]string{"k": "v"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := chschema.MergeStringMap(tt.versions); !maps.Equal(got, tt.want) {
				t.Errorf("got %v, want %v", got, tt.want)
			}
		})
	}
	ints := chschema.MergeInt64Map([]chschema.MapVersion{{uint64(1), "a", []string{"c"}, []int64{1}}, {uint64(2), "b", []string{"c"}, []int64{7}}})
	if ints["c"] != 7 {
		t.Errorf("int map = %v", ints)
	}
}

// TestMapVersionsBy: versions collected for many objects split by the id
// that leads each tuple, each object's versions then merging on their own
// (the same key in two objects is two values, not the newer of the two).
func TestMapVersionsBy(t *testing.T) {
	v := func(by string, ts uint64, key string, val int64) chschema.MapVersion {
		return chschema.MapVersion{by, ts, "e", []string{key}, []int64{val}}
	}
	split := chschema.MapVersionsBy([]chschema.MapVersion{
		v("a", 1, "cached", 5), v("b", 3, "cached", 2), v("a", 2, "cached", 7), {},
	})
	if len(split) != 2 {
		t.Fatalf("split into %d objects, want 2: %v", len(split), split)
	}
	want := map[string]map[string]int64{"a": {"cached": 7}, "b": {"cached": 2}}
	for by, versions := range split {
		if got := chschema.MergeInt64Map(versions); !maps.Equal(got, want[by]) {
			t.Errorf("%s merged = %v, want %v", by, got, want[by])
		}
	}
}

func TestConversions(t *testing.T) {
	if v := chschema.JSONValue(`{"a":[1,true,null]}`); v.GetStructValue().GetFields()["a"].GetListValue().GetValues()[1].GetBoolValue() != true {
		t.Errorf("json object = %v", v)
	}
	if v := chschema.JSONValue(`not json`); v.GetStringValue() != "not json" {
		t.Errorf("unparsable text = %v, want it as a string", v)
	}
	if chschema.JSONValue("") != nil || chschema.Timestamp(0) != nil {
		t.Error("unset values must be nil")
	}
	if ts := chschema.Timestamp(1_700_000_000_123_456_789); ts.GetSeconds() != 1_700_000_000 || ts.GetNanos() != 123_456_789 {
		t.Errorf("timestamp = %v", ts)
	}
	if chschema.ObservationType("GENERATION") != commonv1.ObservationType_OBSERVATION_TYPE_GENERATION ||
		chschema.ObservationType("") != commonv1.ObservationType_OBSERVATION_TYPE_UNSPECIFIED ||
		chschema.ObservationType("BOGUS") != commonv1.ObservationType_OBSERVATION_TYPE_UNSPECIFIED ||
		chschema.ObservationLevel("ERROR") != commonv1.ObservationLevel_OBSERVATION_LEVEL_ERROR ||
		chschema.ScoreDataType("NUMERIC") != commonv1.ScoreDataType_SCORE_DATA_TYPE_NUMERIC ||
		chschema.ScoreSource("API") != commonv1.ScoreSource_SCORE_SOURCE_API {
		t.Error("enum names do not map")
	}
	if chschema.Usage(nil, nil, nil, nil) != nil || chschema.Cost(nil, nil, nil) != nil {
		t.Error("empty usage/cost must be nil")
	}
}
