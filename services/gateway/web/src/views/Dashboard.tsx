import { api, data } from "../api/client";
import { cost, duration, tokens } from "../format";
import { useLoad } from "../hooks";
import { navigate, useLocation, withQuery } from "../router";
import { scale, seriesOf, type Series } from "./chart";

const ranges: Record<string, number> = { "24h": 1, "7d": 7, "30d": 30 };

type Row = Record<string, unknown>;

// metrics runs one metrics query over [from, to) and returns its rows.
async function metrics(query: Record<string, unknown>, from: string, to: string): Promise<Row[]> {
  const q = JSON.stringify({ ...query, fromTimestamp: from, toTimestamp: to });
  const body = await data(() => api.GET("/api/v1/metrics", { params: { query: { query: q } } }));
  return (body.data ?? []) as Row[];
}

/**
 * Dashboard shows the project's numbers over a time range, from the
 * metrics API: cost by model, traces and their latency percentiles,
 * tokens and the error rate over time, and the totals by model and by
 * environment.
 */
export function Dashboard() {
  const { query } = useLocation();
  const range = ranges[query.get("range") ?? ""] ? (query.get("range") as string) : "7d";
  const loaded = useLoad(async () => {
    const to = new Date();
    const from = new Date(to.getTime() - ranges[range] * 86400_000);
    const [f, t] = [from.toISOString(), to.toISOString()];
    const auto = { timeDimension: { granularity: "auto" } };
    const [costByModel, traces, usage, byModel, byEnvironment] = await Promise.all([
      metrics({ view: "observations", dimensions: [{ field: "model" }], metrics: [{ measure: "totalCost", aggregation: "sum" }], ...auto }, f, t),
      metrics(
        {
          view: "traces",
          metrics: ["count", "p50", "p95", "p99"].map((a) => (a === "count" ? { measure: "count", aggregation: "count" } : { measure: "latency", aggregation: a })),
          ...auto,
        },
        f,
        t,
      ),
      metrics({ view: "observations", metrics: [{ measure: "totalTokens", aggregation: "sum" }, { measure: "errors", aggregation: "avg" }], ...auto }, f, t),
      metrics(
        {
          view: "observations",
          dimensions: [{ field: "model" }],
          metrics: [
            { measure: "count", aggregation: "count" },
            { measure: "totalTokens", aggregation: "sum" },
            { measure: "totalCost", aggregation: "sum" },
            { measure: "latency", aggregation: "p95" },
          ],
          orderBy: [{ field: "sum_totalCost", direction: "desc" }],
        },
        f,
        t,
      ),
      metrics(
        {
          view: "observations",
          dimensions: [{ field: "environment" }],
          metrics: [{ measure: "count", aggregation: "count" }, { measure: "errors", aggregation: "avg" }],
        },
        f,
        t,
      ),
    ]);
    return { costByModel, traces, usage, byModel, byEnvironment };
  }, [range]);

  return (
    <main className="dashboard">
      <div className="filters">
        <label>
          Time
          <select value={range} onChange={(e) => navigate(withQuery("/dashboard", { range: e.target.value }), true)}>
            {Object.keys(ranges).map((r) => (
              <option key={r} value={r}>
                Last {r}
              </option>
            ))}
          </select>
        </label>
      </div>
      {loaded.state === "loading" && <p className="empty">Loading…</p>}
      {loaded.state === "error" && <p className="error">Metrics: {loaded.error.message}</p>}
      {loaded.state === "done" && (
        <div className="panels">
          <Chart title="Cost by model" series={seriesOf(loaded.value.costByModel, "sum_totalCost", "model")} format={cost} />
          <Chart title="Traces" series={seriesOf(loaded.value.traces, "count_count", undefined, "traces")} format={(v) => String(v)} />
          <Chart
            title="Trace latency p50 / p95 / p99"
            series={["p50", "p95", "p99"].flatMap((p) => seriesOf(loaded.value.traces, `${p}_latency`, undefined, p))}
            format={(v) => duration(v / 1000)}
          />
          <Chart title="Tokens" series={seriesOf(loaded.value.usage, "sum_totalTokens", undefined, "tokens")} format={tokens} />
          <Chart title="Error rate" series={seriesOf(loaded.value.usage, "avg_errors", undefined, "observations at level ERROR")} format={(v) => `${(v * 100).toFixed(1)}%`} />
          <Totals
            title="By model"
            rows={loaded.value.byModel}
            columns={[
              ["model", "Model", (v) => String(v || "(none)")],
              ["count_count", "Observations", (v) => String(v ?? "")],
              ["sum_totalTokens", "Tokens", (v) => tokens(typeof v === "number" ? v : null)],
              ["sum_totalCost", "Cost", (v) => cost(typeof v === "number" ? v : null)],
              ["p95_latency", "p95 latency", (v) => (typeof v === "number" ? duration(v / 1000) : "")],
            ]}
          />
          <Totals
            title="By environment"
            rows={loaded.value.byEnvironment}
            columns={[
              ["environment", "Environment", (v) => String(v || "(none)")],
              ["count_count", "Observations", (v) => String(v ?? "")],
              ["avg_errors", "Error rate", (v) => (typeof v === "number" ? `${(v * 100).toFixed(1)}%` : "")],
            ]}
          />
        </div>
      )}
    </main>
  );
}

const width = 480;
const height = 160;

// Chart draws series as lines over time, with the largest value and the
// time span as its labels and a legend.
function Chart({ title, series, format }: { title: string; series: Series[]; format: (v: number) => string }) {
  const shown = series.slice(0, 6);
  const points = shown.flatMap((s) => s.points);
  return (
    <section className="panel" aria-label={title}>
      <h2>{title}</h2>
      {points.length === 0 ? (
        <p className="empty">No data in this range.</p>
      ) : (
        <ChartBody series={shown} format={format} />
      )}
    </section>
  );
}

function ChartBody({ series, format }: { series: Series[]; format: (v: number) => string }) {
  const s = scale(series, width, height);
  const day = (t: number) => new Date(t).toLocaleString(undefined, { month: "short", day: "numeric", hour: "2-digit", minute: "2-digit" });
  return (
    <>
      <svg viewBox={`-4 -8 ${width + 8} ${height + 16}`} role="img" aria-label={`up to ${format(s.vmax)}`}>
        <line className="axis" x1={0} y1={height} x2={width} y2={height} />
        {series.map((x, i) =>
          x.points.length === 1 ? (
            <circle key={x.name} className={`series-${i}`} cx={s.x(x.points[0].t)} cy={s.y(x.points[0].v)} r={3} />
          ) : (
            <polyline key={x.name} className={`series-${i}`} points={x.points.map((p) => `${s.x(p.t)},${s.y(p.v)}`).join(" ")} />
          ),
        )}
      </svg>
      <div className="chart-labels">
        <span>{day(s.t0)}</span>
        <span>max {format(s.vmax)}</span>
        <span>{day(s.t1)}</span>
      </div>
      <ul className="legend">
        {series.map((x, i) => (
          <li key={x.name} className={`series-${i}`}>
            {x.name}
          </li>
        ))}
      </ul>
    </>
  );
}

function Totals({ title, rows, columns }: { title: string; rows: Row[]; columns: [string, string, (v: unknown) => string][] }) {
  return (
    <section className="panel" aria-label={title}>
      <h2>{title}</h2>
      {rows.length === 0 ? (
        <p className="empty">No data in this range.</p>
      ) : (
        <table className="list">
          <thead>
            <tr>
              {columns.map(([key, label], i) => (
                <th key={key} className={i > 0 ? "num" : undefined}>
                  {label}
                </th>
              ))}
            </tr>
          </thead>
          <tbody>
            {rows.map((r, i) => (
              <tr key={i}>
                {columns.map(([key, , format], j) => (
                  <td key={key} className={j > 0 ? "num" : undefined}>
                    {format(r[key])}
                  </td>
                ))}
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}
