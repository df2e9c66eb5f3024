package query_test

import (
	"fmt"
	"testing"

	commonv1 "github.com/agenttrace/agenttrace/pkg/gen/agenttrace/common/v1"
	queryv1 "github.com/agenttrace/agenttrace/pkg/gen/agenttrace/query/v1"
)

type queryNode = queryv1.ObservationNode

func TestBuildTree(t *testing.T) {
	o := func(id, parent string, start float64) *commonv1.Observation {
		return &commonv1.Observation{Id: id, ParentObservationId: parent, StartTime: fromNanos(at(start))}
	}
	tests := []struct {
		name string
		obs  []*commonv1.Observation
		want string
	}{
		{"empty", nil, ""},
		{"four levels", []*commonv1.Observation{o("d", "c", 4), o("c", "b", 3), o("b", "a", 2), o("a", "", 1)}, "a(b(c(d)))"},
		{"siblings by start then id", []*commonv1.Observation{o("r", "", 0), o("z", "r", 1), o("y", "r", 1), o("x", "r", 2)}, "r(y,z,x)"},
		{"no start time sorts first", []*commonv1.Observation{o("r", "", 5), {Id: "n"}}, "n,r"},
		{"missing parent is a root", []*commonv1.Observation{o("a", "", 2), o("b", "ghost", 1)}, "b,a"},
		{"self parent", []*commonv1.Observation{o("a", "a", 1)}, "a"},
		{"three-cycle keeps everyone", []*commonv1.Observation{o("a", "c", 1), o("b", "a", 2), o("c", "b", 3)}, "a(b(c))"},
		{"branch into a cycle", []*commonv1.Observation{o("leaf", "a", 0), o("a", "b", 1), o("b", "a", 2)}, "a(leaf,b)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := treeShape(buildTree(tt.obs)); got != tt.want {
				t.Errorf("got %s, want %s", got, tt.want)
			}
		})
	}
}

func TestBuildTreeCountsEveryObservation(t *testing.T) {
	// A deep chain plus a wide fan-out: nothing is lost or duplicated.
	var obs []*commonv1.Observation
	for i := range 2000 {
		parent := ""
		if i > 0 && i < 1000 {
			parent = fmt.Sprint(i - 1)
		} else if i >= 1000 {
			parent = "0"
		}
		obs = append(obs, &commonv1.Observation{Id: fmt.Sprint(i), ParentObservationId: parent, StartTime: fromNanos(at(float64(i)))})
	}
	roots := buildTree(obs)
	seen := map[string]bool{}
	var walk func(n []*queryNode)
	walk = func(ns []*queryNode) {
		for _, n := range ns {
			id := n.GetObservation().GetId()
			if seen[id] {
				t.Fatalf("%s twice", id)
			}
			seen[id] = true
			walk(n.GetChildren())
		}
	}
	walk(roots)
	if len(roots) != 1 || len(seen) != 2000 {
		t.Errorf("roots %d, nodes %d", len(roots), len(seen))
	}
}
