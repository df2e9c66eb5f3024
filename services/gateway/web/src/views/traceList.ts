// The traces table's logic, apart from its view: the time window a filter
// asks for, sorting the rows loaded, and merging a live refresh into them.
import type { Trace } from "../api/client";

/** Presets of the time filter, in seconds back from now. */
export const ranges: Record<string, number> = { "1h": 3600, "24h": 86400, "7d": 7 * 86400, "30d": 30 * 86400 };

/**
 * timeWindow is the from_time and to_time (ISO) a list asks for: a preset
 * back from now; "custom" between from and to (datetime-local values, in
 * the browser's zone; either may be empty); all time otherwise, except that
 * a text search reads a bounded window (the last day) when none is set.
 */
export function timeWindow(range: string, from: string, to: string, search: boolean, now: number): { from_time?: string; to_time?: string } {
  const iso = (ms: number) => new Date(ms).toISOString();
  const local = (v: string) => {
    const ms = v ? new Date(v).getTime() : NaN;
    return Number.isFinite(ms) ? ms : undefined;
  };
  if (range === "custom") {
    const f = local(from);
    const t = local(to);
    if (f !== undefined || t !== undefined || !search) {
      return { from_time: f !== undefined ? iso(f) : search ? iso((t ?? now) - 86400_000) : undefined, to_time: t !== undefined ? iso(t) : undefined };
    }
  }
  const span = ranges[range];
  if (span) return { from_time: iso(now - span * 1000), to_time: iso(now + 1000) };
  if (search) return { from_time: iso(now - 86400_000), to_time: iso(now + 1000) };
  return {};
}

/** The columns the loaded rows can be sorted by. */
export type SortKey = "time" | "name" | "latency" | "tokens" | "cost" | "observations" | "errors";

const sortValue: Record<SortKey, (t: Trace) => number | string> = {
  time: (t) => (t.timestamp ? Date.parse(t.timestamp) : 0),
  name: (t) => t.name ?? "",
  latency: (t) => t.latency_seconds ?? 0,
  tokens: (t) => Number(t.usage?.total ?? 0),
  cost: (t) => t.cost?.total ?? 0,
  observations: (t) => Number(t.observation_count ?? 0),
  errors: (t) => Number(t.error_count ?? 0) * 1e6 + Number(t.warning_count ?? 0),
};

/**
 * sortTraces orders rows by key, ascending or descending; equal rows keep
 * their order (the API's: newest first). No key keeps the API's order.
 */
export function sortTraces(rows: Trace[], key: SortKey | undefined, descending: boolean): Trace[] {
  if (!key) return rows;
  const value = sortValue[key];
  const sign = descending ? -1 : 1;
  return rows
    .map((t, i) => ({ t, i, v: value(t) }))
    .sort((a, b) => {
      const c = typeof a.v === "string" || typeof b.v === "string" ? String(a.v).localeCompare(String(b.v)) : a.v - b.v;
      return c !== 0 ? sign * c : a.i - b.i;
    })
    .map((x) => x.t);
}

/**
 * withFresh folds a re-read first page into the rows loaded: traces it
 * holds that are newer than every loaded one go on top, and loaded traces
 * it holds again are replaced by their newer state (a trace still running
 * grows). Rows it does not hold stay as they were.
 */
export function withFresh(rows: Trace[], fresh: Trace[]): Trace[] {
  if (fresh.length === 0) return rows;
  const loaded = new Set(rows.map((t) => t.id));
  const byID = new Map(fresh.map((t) => [t.id, t]));
  const top = rows.length > 0 ? Date.parse(rows[0].timestamp ?? "") || 0 : -Infinity;
  const added = fresh.filter((t) => !loaded.has(t.id) && (Date.parse(t.timestamp ?? "") || 0) >= top);
  return [...added, ...rows.map((t) => byID.get(t.id) ?? t)];
}
