import { useEffect, useMemo, useState, type KeyboardEvent } from "react";
import { api, data, type Observation, type Score, type Trace } from "../api/client";
import { between, cost, duration, enumLabel, time, tokens } from "../format";
import { asError, useLoad } from "../hooks";
import { Link } from "../router";
import { Payload } from "./Payload";
import { AddScore, ScoreList } from "./Scores";
import { flatten, forest, observationsOf, span, type Row } from "./tree";

// The first page is small, so the tree paints at once; the rest comes in
// larger pages behind it.
const firstPageSize = 1000;
const pageSize = 5000;
const rowHeight = 28;
const overscan = 20;

/**
 * TracePage shows one trace: its observation tree beside a waterfall,
 * and the selected observation's detail. The tree is read without inputs
 * and outputs (the basic view), page by page; a node's input and output
 * are read when it is opened. Only the rows in view are rendered, so a
 * trace of 20,000 observations scrolls like one of twenty.
 */
export function TracePage({ traceId, canScore }: { traceId: string; canScore: boolean }) {
  // Every observation read so far; the tree is built from them, since a
  // later page's nodes may have their parents on an earlier one.
  const [pages, setPages] = useState<{ observations: Observation[]; next: string }>({ observations: [], next: "" });
  const first = useLoad(async () => {
    const r = await getTrace(traceId, "");
    setPages({ observations: observationsOf(r.observations ?? []), next: r.next_observations_page_token ?? "" });
    return r;
  }, [traceId]);
  // Scores added here since the trace was read: accepted by ingestion,
  // shown at once.
  const [added, setAdded] = useState<Score[]>([]);
  const [collapsed, setCollapsed] = useState<ReadonlySet<string>>(new Set());
  const [selected, setSelected] = useState<string>("");
  const roots = useMemo(() => forest(pages.observations), [pages.observations]);
  const rows = useMemo(() => flatten(roots, collapsed), [roots, collapsed]);
  const bounds = useMemo(() => span(pages.observations), [pages.observations]);
  const [more, setMore] = useState<Error | undefined>();
  // The pages after the first are read one after another in the
  // background: the tree shows the first at once and grows.
  useEffect(() => {
    if (!pages.next) return;
    let current = true;
    getTrace(traceId, pages.next).then(
      (r) =>
        current &&
        setPages({ observations: [...pages.observations, ...observationsOf(r.observations ?? [])], next: r.next_observations_page_token ?? "" }),
      (e: unknown) => current && setMore(asError(e)),
    );
    return () => {
      current = false;
    };
  }, [traceId, pages]);

  if (first.state === "loading") return <p className="empty">Loading trace…</p>;
  if (first.state === "error") return <p className="error">Trace {traceId}: {first.error.message}</p>;
  const trace = first.value.trace ?? {};
  const scores = [...(first.value.scores ?? []), ...added.filter((a) => !(first.value.scores ?? []).some((s) => s.id === a.id))];
  const addScore = (s: Score) => setAdded([...added, s]);
  const toggle = (id: string) => {
    const next = new Set(collapsed);
    if (next.has(id)) next.delete(id);
    else next.add(id);
    setCollapsed(next);
  };
  const picked = rows.find((r) => r.obs.id === selected)?.obs;

  return (
    <main className="trace">
      <TraceHeader trace={trace} scores={scores.length} />
      <div className="trace-body">
        <section className="tree-pane" aria-label="Observations">
          <Tree rows={rows} bounds={bounds} selected={selected} onSelect={setSelected} onToggle={toggle} collapsed={collapsed} />
          {pages.next && !more && <p className="empty">Loading more observations…</p>}
          {more && <p className="error">More observations: {more.message}</p>}
        </section>
        <section className="detail-pane" aria-label="Detail">
          {picked ? (
            <ObservationDetail
              traceId={traceId}
              obs={picked}
              scores={scores.filter((s) => s.observation_id === picked.id)}
              onScore={canScore ? addScore : undefined}
            />
          ) : (
            <TraceDetail trace={trace} scores={scores} onScore={canScore ? addScore : undefined} />
          )}
        </section>
      </div>
    </main>
  );
}

function getTrace(traceId: string, pageToken: string) {
  return data(() =>
    api.GET("/api/v1/traces/{trace_id}", {
      params: {
        path: { trace_id: traceId },
        query: {
          observations_page_size: pageToken ? pageSize : firstPageSize,
          observations_page_token: pageToken || undefined,
          observation_view: "OBSERVATION_VIEW_BASIC",
        },
      },
    }),
  );
}

function TraceHeader({ trace, scores }: { trace: Trace; scores: number }) {
  return (
    <header className="trace-head">
      <Link href="/traces">← Traces</Link>
      <h1>{trace.name || trace.id}</h1>
      <dl>
        <dt>Time</dt>
        <dd>{time(trace.timestamp)}</dd>
        <dt>Latency</dt>
        <dd>{duration(trace.latency_seconds)}</dd>
        <dt>Tokens</dt>
        <dd>{tokens(trace.usage?.total)}</dd>
        <dt>Cost</dt>
        <dd>{cost(trace.cost?.total)}</dd>
        <dt>Observations</dt>
        <dd>{trace.observation_count}</dd>
        <dt>Scores</dt>
        <dd>{scores}</dd>
      </dl>
    </header>
  );
}

interface TreeProps {
  rows: Row[];
  bounds: { start: number; end: number };
  selected: string;
  collapsed: ReadonlySet<string>;
  onSelect: (id: string) => void;
  onToggle: (id: string) => void;
}

// Tree renders the rows in view of a fixed-height scroller, each with its
// waterfall bar; arrow keys move the selection and fold nodes.
function Tree({ rows, bounds, selected, collapsed, onSelect, onToggle }: TreeProps) {
  const [scroll, setScroll] = useState(0);
  const [height, setHeight] = useState(600);
  const from = Math.max(0, Math.floor(scroll / rowHeight) - overscan);
  const to = Math.min(rows.length, Math.ceil((scroll + height) / rowHeight) + overscan);
  const total = Math.max(bounds.end - bounds.start, 1);
  const index = rows.findIndex((r) => r.obs.id === selected);
  const onKey = (e: KeyboardEvent) => {
    const row = rows[index];
    let next = index;
    if (e.key === "ArrowDown") next = Math.min(rows.length - 1, index + 1);
    else if (e.key === "ArrowUp") next = Math.max(0, index - 1);
    else if (row && e.key === "ArrowLeft" && row.hasChildren && !collapsed.has(row.obs.id ?? "")) return onToggle(row.obs.id ?? "");
    else if (row && e.key === "ArrowRight" && row.hasChildren && collapsed.has(row.obs.id ?? "")) return onToggle(row.obs.id ?? "");
    else return;
    e.preventDefault();
    if (rows[next]) onSelect(rows[next].obs.id ?? "");
  };
  return (
    <div
      className="tree"
      role="tree"
      tabIndex={0}
      aria-activedescendant={selected ? `obs-${selected}` : undefined}
      onKeyDown={onKey}
      onScroll={(e) => setScroll(e.currentTarget.scrollTop)}
      ref={(el) => {
        if (el && el.clientHeight !== height) setHeight(el.clientHeight);
      }}
    >
      <div className="tree-space" style={{ height: rows.length * rowHeight }}>
        {rows.slice(from, to).map((r, i) => {
          const id = r.obs.id ?? "";
          const start = Date.parse(r.obs.start_time ?? "");
          const end = Date.parse(r.obs.end_time ?? "");
          const left = Number.isFinite(start) ? ((start - bounds.start) / total) * 100 : 0;
          const width = Number.isFinite(end) && Number.isFinite(start) ? Math.max(((end - start) / total) * 100, 0.3) : 0.3;
          return (
            <div
              key={id}
              id={`obs-${id}`}
              role="treeitem"
              aria-level={r.depth + 1}
              aria-selected={id === selected}
              aria-expanded={r.hasChildren ? !collapsed.has(id) : undefined}
              className={`tree-row level-${enumLabel(r.obs.level).toLowerCase()}${id === selected ? " selected" : ""}`}
              style={{ top: (from + i) * rowHeight, height: rowHeight }}
              onClick={() => onSelect(id)}
            >
              <span className="tree-label" style={{ paddingLeft: r.depth * 14 }}>
                {r.hasChildren ? (
                  <button
                    type="button"
                    className="fold"
                    aria-label={collapsed.has(id) ? "Expand" : "Collapse"}
                    onClick={(e) => {
                      e.stopPropagation();
                      onToggle(id);
                    }}
                  >
                    {collapsed.has(id) ? "▸" : "▾"}
                  </button>
                ) : (
                  <span className="fold" />
                )}
                <span className={`type type-${enumLabel(r.obs.type).toLowerCase()}`}>{enumLabel(r.obs.type)}</span>
                <span className="name">{r.obs.name || id}</span>
                {r.obs.model && <span className="model">{r.obs.model}</span>}
              </span>
              <span className="waterfall" aria-hidden="true">
                <span className="bar" style={{ left: `${left}%`, width: `${width}%` }} />
              </span>
              <span className="num">{duration(between(r.obs.start_time, r.obs.end_time))}</span>
            </div>
          );
        })}
      </div>
    </div>
  );
}

function TraceDetail({ trace, scores, onScore }: { trace: Trace; scores: Score[]; onScore?: (s: Score) => void }) {
  return (
    <div className="detail">
      <h2>Trace</h2>
      <Facts
        facts={[
          ["User", trace.user_id],
          ["Session", trace.session_id],
          ["Environment", trace.environment],
          ["Release", trace.release],
          ["Version", trace.version],
          ["Tags", (trace.tags ?? []).join(", ")],
        ]}
      />
      <ScoreList scores={scores} />
      {onScore && <AddScore traceId={trace.id ?? ""} onAdded={onScore} />}
      <Payload title="Input" value={trace.input} />
      <Payload title="Output" value={trace.output} />
      <MapTable title="Metadata" map={trace.metadata} />
    </div>
  );
}

// ObservationDetail reads the whole observation (input and output too).
function ObservationDetail({ traceId, obs, scores, onScore }: { traceId: string; obs: Observation; scores: Score[]; onScore?: (s: Score) => void }) {
  const full = useLoad(
    () =>
      data(() =>
        api.GET("/api/v1/traces/{trace_id}/observations/{observation_id}", {
          params: { path: { trace_id: traceId, observation_id: obs.id ?? "" } },
        }),
      ),
    [traceId, obs.id],
  );
  const o = full.state === "done" ? (full.value.observation ?? obs) : obs;
  const ttft = between(o.start_time, o.completion_start_time);
  return (
    <div className="detail">
      <h2>
        <span className={`type type-${enumLabel(o.type).toLowerCase()}`}>{enumLabel(o.type)}</span> {o.name || o.id}
      </h2>
      <Facts
        facts={[
          ["Start", time(o.start_time)],
          ["Duration", duration(between(o.start_time, o.end_time))],
          ["Time to first token", duration(ttft)],
          ["Level", enumLabel(o.level)],
          ["Status", o.status_message],
          ["Model", o.model],
          ["Input tokens", tokens(o.usage?.input)],
          ["Output tokens", tokens(o.usage?.output)],
          ["Total tokens", tokens(o.usage?.total)],
          ["Input cost", cost(o.cost?.input)],
          ["Output cost", cost(o.cost?.output)],
          ["Total cost", cost(o.cost?.total)],
        ]}
      />
      {full.state === "loading" && <p className="empty">Loading input and output…</p>}
      {full.state === "error" && <p className="error">{full.error.message}</p>}
      {full.state === "done" && (
        <>
          <Payload title="Input" value={o.input} />
          <Payload title="Output" value={o.output} />
        </>
      )}
      <MapTable title="Model parameters" map={o.model_parameters} />
      <MapTable title="Metadata" map={o.metadata} />
      <ScoreList scores={scores} />
      {onScore && <AddScore key={o.id} traceId={traceId} observationId={o.id} onAdded={onScore} />}
    </div>
  );
}

function Facts({ facts }: { facts: [string, string | number | undefined][] }) {
  const shown = facts.filter(([, v]) => v !== undefined && v !== "");
  return (
    <dl className="facts">
      {shown.map(([k, v]) => (
        <div key={k}>
          <dt>{k}</dt>
          <dd>{v}</dd>
        </div>
      ))}
    </dl>
  );
}

function MapTable({ title, map }: { title: string; map?: Record<string, string> }) {
  const entries = Object.entries(map ?? {});
  if (entries.length === 0) return null;
  return (
    <section>
      <h3>{title}</h3>
      <table className="kv">
        <tbody>
          {entries.map(([k, v]) => (
            <tr key={k}>
              <th>{k}</th>
              <td>{v}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </section>
  );
}
