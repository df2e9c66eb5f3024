package query

import (
	"cmp"
	"slices"

	commonv1 "github.com/agenttrace/agenttrace/pkg/gen/agenttrace/common/v1"
	queryv1 "github.com/agenttrace/agenttrace/pkg/gen/agenttrace/query/v1"
)

// buildTree nests a trace's observations under their parents. Siblings (and
// roots) are ordered by start time, then id. An observation whose parent is
// not in the trace is a root; so is one member
// of a parent cycle (bad input must not make observations vanish).
func buildTree(obs []*commonv1.Observation) []*queryv1.ObservationNode {
	slices.SortFunc(obs, func(a, b *commonv1.Observation) int {
		return cmp.Or(cmp.Compare(tsNanos(a.GetStartTime()), tsNanos(b.GetStartTime())), cmp.Compare(a.GetId(), b.GetId()))
	})
	nodes := make(map[string]*queryv1.ObservationNode, len(obs))
	for _, o := range obs {
		if _, dup := nodes[o.GetId()]; !dup {
			nodes[o.GetId()] = &queryv1.ObservationNode{Observation: o}
		}
	}
	parent := make(map[string]string, len(nodes)) // resolved parent, "" for roots
	const (
		unseen = iota
		onPath
		done
	)
	state := make(map[string]int, len(nodes))
	for _, o := range obs {
		// Walk up until a resolved node, a root or a cycle, then resolve the path.
		var path []string
		for id := o.GetId(); state[id] == unseen; {
			state[id] = onPath
			path = append(path, id)
			p := nodes[id].GetObservation().GetParentObservationId()
			if _, ok := nodes[p]; !ok || p == "" {
				parent[id] = ""
				break
			}
			if state[p] == onPath { // a cycle: cut it above its first member on this path
				parent[p] = ""
				break
			}
			parent[id] = p
			id = p
		}
		for _, id := range path {
			if _, set := parent[id]; !set {
				parent[id] = nodes[id].GetObservation().GetParentObservationId()
			}
			state[id] = done
		}
	}
	var roots []*queryv1.ObservationNode
	for _, o := range obs { // in sorted order, so children come out sorted
		n := nodes[o.GetId()]
		if n.GetObservation() != o {
			continue // a duplicate id
		}
		if p := parent[o.GetId()]; p == "" {
			roots = append(roots, n)
		} else {
			nodes[p].Children = append(nodes[p].Children, n)
		}
	}
	return roots
}
