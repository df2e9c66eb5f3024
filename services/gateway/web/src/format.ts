// Formatting of the numbers and times the views show.

/** duration formats seconds as 850ms, 1.25s, 2m 05s or 1h 02m. */
export function duration(seconds: number | null | undefined): string {
  if (typeof seconds !== "number" || !Number.isFinite(seconds) || seconds < 0) return "";
  if (seconds < 1) return `${Math.round(seconds * 1000)}ms`;
  if (seconds < 60) return `${seconds.toFixed(seconds < 10 ? 2 : 1)}s`;
  const m = Math.floor(seconds / 60);
  if (m < 60) return `${m}m ${String(Math.floor(seconds % 60)).padStart(2, "0")}s`;
  return `${Math.floor(m / 60)}h ${String(m % 60).padStart(2, "0")}m`;
}

/** between is the seconds from start to end (ISO times), undefined when either is unset. */
export function between(start?: string, end?: string): number | undefined {
  if (!start || !end) return undefined;
  const d = (Date.parse(end) - Date.parse(start)) / 1000;
  return Number.isFinite(d) && d >= 0 ? d : undefined;
}

/** cost formats US dollars: $0.000123, $0.0123, $1.23. */
export function cost(usd: number | null | undefined): string {
  if (typeof usd !== "number" || !Number.isFinite(usd) || usd === 0) return "";
  if (usd < 0.01) return `$${usd.toPrecision(3)}`;
  return `$${usd.toFixed(usd < 1 ? 4 : 2)}`;
}

/** tokens formats a count: 950, 12.3k, 4.56M. */
export function tokens(n: number | string | null | undefined): string {
  const v = typeof n === "string" ? Number(n) : n;
  if (typeof v !== "number" || !Number.isFinite(v) || v === 0) return "";
  if (v < 1000) return String(v);
  if (v < 1e6) return `${(v / 1e3).toFixed(v < 1e4 ? 2 : 1)}k`;
  return `${(v / 1e6).toFixed(2)}M`;
}

/** time formats an ISO time in the browser's zone, to the second. */
export function time(iso: string | undefined): string {
  if (!iso) return "";
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return "";
  return d.toLocaleString(undefined, { dateStyle: "medium", timeStyle: "medium" });
}

/**
 * shortTime formats an ISO time compactly for a table: the time of day
 * when it is today (in the browser's zone), else the date and minute
 * (the year too when it is not this year's).
 */
export function shortTime(iso: string | undefined, now = new Date()): string {
  if (!iso) return "";
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return "";
  if (d.toDateString() === now.toDateString()) return d.toLocaleTimeString();
  const year = d.getFullYear() === now.getFullYear() ? undefined : "numeric";
  return d.toLocaleString(undefined, { year, month: "short", day: "numeric", hour: "numeric", minute: "2-digit" });
}

/** enumLabel turns OBSERVATION_TYPE_GENERATION into GENERATION. */
export function enumLabel(v: string | undefined): string {
  if (!v) return "";
  return v.replace(/^(OBSERVATION_TYPE|OBSERVATION_LEVEL|SCORE_DATA_TYPE|SCORE_SOURCE)_/, "").replace(/^UNSPECIFIED$/, "");
}
