import type { Observation, ObservationNode } from "../api/client";

/** Row is one visible line of a trace's tree. */
export interface Row {
  obs: Observation;
  depth: number;
  hasChildren: boolean;
}

/** flatten lists the nodes of a forest depth first, skipping the children of collapsed ids. */
export function flatten(roots: ObservationNode[], collapsed: ReadonlySet<string>): Row[] {
  const rows: Row[] = [];
  const stack: { node: ObservationNode; depth: number }[] = [];
  for (let i = roots.length - 1; i >= 0; i--) stack.push({ node: roots[i], depth: 0 });
  while (stack.length > 0) {
    const { node, depth } = stack.pop()!;
    const obs = node.observation ?? {};
    const children = node.children ?? [];
    rows.push({ obs, depth, hasChildren: children.length > 0 });
    if (collapsed.has(obs.id ?? "")) continue;
    for (let i = children.length - 1; i >= 0; i--) stack.push({ node: children[i], depth: depth + 1 });
  }
  return rows;
}

/** span is the earliest start and latest end (ms since the epoch) of a forest. */
export function span(roots: ObservationNode[]): { start: number; end: number } {
  let start = Infinity;
  let end = -Infinity;
  const stack = [...roots];
  while (stack.length > 0) {
    const node = stack.pop()!;
    const s = Date.parse(node.observation?.start_time ?? "");
    const e = Date.parse(node.observation?.end_time ?? "");
    if (Number.isFinite(s)) start = Math.min(start, s);
    if (Number.isFinite(e)) end = Math.max(end, e);
    else if (Number.isFinite(s)) end = Math.max(end, s);
    stack.push(...(node.children ?? []));
  }
  return Number.isFinite(start) ? { start, end: Math.max(end, start) } : { start: 0, end: 0 };
}
