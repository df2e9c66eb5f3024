// Series for the dashboard's charts, from the metrics API's rows.

export interface Point {
  t: number; // ms since the epoch
  v: number;
}

export interface Series {
  name: string;
  points: Point[];
}

type Row = Record<string, unknown>;

/**
 * seriesOf groups metric rows into one series per value of dimension (one
 * series named label, or the metric, when there is none), each sorted by
 * time; rows without a time or a numeric value are skipped.
 */
export function seriesOf(rows: Row[], metric: string, dimension?: string, label?: string): Series[] {
  const byName = new Map<string, Point[]>();
  for (const row of rows) {
    const t = Date.parse(String(row.time_dimension ?? ""));
    const v = row[metric];
    if (!Number.isFinite(t) || typeof v !== "number") continue;
    const name = dimension ? String(row[dimension] ?? "") || "(none)" : (label ?? metric);
    let points = byName.get(name);
    if (!points) byName.set(name, (points = []));
    points.push({ t, v });
  }
  return [...byName.entries()]
    .map(([name, points]) => ({ name, points: points.sort((a, b) => a.t - b.t) }))
    .sort((a, b) => total(b) - total(a) || a.name.localeCompare(b.name));
}

const total = (s: Series) => s.points.reduce((sum, p) => sum + p.v, 0);

/** scale maps the series' time and value ranges onto width × height (y down, 0 at the bottom). */
export function scale(series: Series[], width: number, height: number) {
  const points = series.flatMap((s) => s.points);
  const t0 = Math.min(...points.map((p) => p.t));
  const t1 = Math.max(...points.map((p) => p.t));
  const vmax = Math.max(0, ...points.map((p) => p.v));
  return {
    t0,
    t1,
    vmax,
    x: (t: number) => (t1 > t0 ? ((t - t0) / (t1 - t0)) * width : width / 2),
    y: (v: number) => (vmax > 0 ? height - (v / vmax) * height : height),
  };
}
