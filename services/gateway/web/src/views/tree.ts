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

/** span is the earliest start and latest end (ms since the epoch) of observations. */
export function span(observations: Observation[]): { start: number; end: number } {
  let start = Infinity;
  let end = -Infinity;
  for (const o of observations) {
    const s = Date.parse(o.start_time ?? "");
    const e = Date.parse(o.end_time ?? "");
    if (Number.isFinite(s)) start = Math.min(start, s);
    if (Number.isFinite(e)) end = Math.max(end, e);
    else if (Number.isFinite(s)) end = Math.max(end, s);
  }
  return Number.isFinite(start) ? { start, end: Math.max(end, start) } : { start: 0, end: 0 };
}

/** observationsOf lists every observation of a forest. */
export function observationsOf(roots: ObservationNode[]): Observation[] {
  const out: Observation[] = [];
  const stack = [...roots];
  while (stack.length > 0) {
    const node = stack.pop()!;
    if (node.observation) out.push(node.observation);
    stack.push(...(node.children ?? []));
  }
  return out;
}

/**
 * forest builds the tree of observations read page by page (each page a
 * forest of its own, whose nodes may have their parent on another page):
 * children under their parent, ordered by start time then id as the API
 * orders them; an observation whose parent is not among them is a root.
 */
export function forest(observations: Observation[]): ObservationNode[] {
  const sorted = [...observations].sort(
    (a, b) => compare(timeKey(a.start_time), timeKey(b.start_time)) || compare(a.id ?? "", b.id ?? ""),
  );
  const nodes = new Map<string, ObservationNode & { children: ObservationNode[] }>();
  for (const o of sorted) nodes.set(o.id ?? "", { observation: o, children: [] });
  const roots: ObservationNode[] = [];
  for (const o of sorted) {
    const node = nodes.get(o.id ?? "")!;
    const parent = o.parent_observation_id ? nodes.get(o.parent_observation_id) : undefined;
    if (parent && parent !== node) parent.children.push(node);
    else roots.push(node);
  }
  return roots;
}

const compare = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

/**
 * timeKey makes an RFC 3339 UTC time (as the API writes it: 0, 3, 6 or 9
 * fractional digits) compare as a string in time order, to the nanosecond.
 */
export function timeKey(t: string | undefined): string {
  if (!t) return "";
  const m = t.match(/^(.*?)(?:\.(\d+))?Z$/);
  return m ? `${m[1]}.${(m[2] ?? "").padEnd(9, "0")}` : t;
}
