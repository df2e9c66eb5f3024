package chstore

import (
	"maps"
	"testing"

	commonv1 "github.com/agenttrace/agenttrace/pkg/gen/agenttrace/common/v1"
)

func TestMergeStringMap(t *testing.T) {
	v := func(ts uint64, id string, kv ...string) mapVersion {
		var keys, vals []string
		for i := 0; i+1 < len(kv); i += 2 {
			keys, vals = append(keys, kv[i]), append(vals, kv[i+1])
		}
		return mapVersion{ts, id, keys, vals}
	}
	tests := []struct {
		name     string
		versions []mapVersion
		want     map[string]string
	}{
		{"none", nil, nil},
		{"newest wins per key", []mapVersion{v(1, "a", "k1", "old", "k2", "x"), v(2, "b", "k1", "new")}, map[string]string{"k1": "new", "k2": "x"}},
		{"order of versions does not matter", []mapVersion{v(2, "b", "k1", "new"), v(1, "a", "k1", "old")}, map[string]string{"k1": "new"}},
		{"equal timestamps: event id decides", []mapVersion{v(5, "a", "k", "from-a"), v(5, "b", "k", "from-b")}, map[string]string{"k": "from-b"}},
		{"redelivered version", []mapVersion{v(1, "a", "k", "v"), v(1, "a", "k", "v")}, map[string]string{"k": "v"}},
		{"uneven arrays keep the pairs", []mapVersion{{uint64(1), "a", []string{"k1", "k2"}, []string{"v1"}}}, map[string]string{"k1": "v1"}},
		{"malformed tuple skipped", []mapVersion{{uint64(1)}, v(1, "a", "k", "v")}, map[string]string{"k": "v"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := mergeStringMap(tt.versions); !maps.Equal(got, tt.want) {
				t.Errorf("got %v, want %v", got, tt.want)
			}
		})
	}
	ints := mergeInt64Map([]mapVersion{{uint64(1), "a", []string{"c"}, []int64{1}}, {uint64(2), "b", []string{"c"}, []int64{7}}})
	if ints["c"] != 7 {
		t.Errorf("int map = %v", ints)
	}
}

func TestConversions(t *testing.T) {
	if v := jsonValue(`{"a":[1,true,null]}`); v.GetStructValue().GetFields()["a"].GetListValue().GetValues()[1].GetBoolValue() != true {
		t.Errorf("json object = %v", v)
	}
	if v := jsonValue(`not json`); v.GetStringValue() != "not json" {
		t.Errorf("unparsable text = %v, want it as a string", v)
	}
	if jsonValue("") != nil || timestamp(0) != nil {
		t.Error("unset values must be nil")
	}
	if ts := timestamp(1_700_000_000_123_456_789); ts.GetSeconds() != 1_700_000_000 || ts.GetNanos() != 123_456_789 {
		t.Errorf("timestamp = %v", ts)
	}
	if observationType("GENERATION") != commonv1.ObservationType_OBSERVATION_TYPE_GENERATION ||
		observationType("") != commonv1.ObservationType_OBSERVATION_TYPE_UNSPECIFIED ||
		observationType("BOGUS") != commonv1.ObservationType_OBSERVATION_TYPE_UNSPECIFIED ||
		observationLevel("ERROR") != commonv1.ObservationLevel_OBSERVATION_LEVEL_ERROR ||
		scoreDataType("NUMERIC") != commonv1.ScoreDataType_SCORE_DATA_TYPE_NUMERIC ||
		scoreSource("API") != commonv1.ScoreSource_SCORE_SOURCE_API {
		t.Error("enum names do not map")
	}
	if usage(nil, nil, nil, nil) != nil || cost(nil, nil, nil) != nil {
		t.Error("empty usage/cost must be nil")
	}
}
