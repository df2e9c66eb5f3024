import { useEffect, useState, type FormEvent } from "react";
import { api, data, type Trace } from "../api/client";
import { cost, duration, shortTime, time, tokens } from "../format";
import { usePaged } from "../hooks";
import { Link, navigate, useLocation, withQuery } from "../router";
import { ranges, sortTraces, timeWindow, withFresh, type SortKey } from "./traceList";

// The filters a trace list takes from its URL.
const fields = ["name", "user_id", "session_id", "tags", "environment", "release", "search"] as const;
type Field = (typeof fields)[number];

const labels: Record<Field, string> = {
  name: "Name",
  user_id: "User",
  session_id: "Session",
  tags: "Tags",
  environment: "Environment",
  release: "Release",
  search: "Search",
};

// The rest of the URL's query: time (range, from, to) and live.
const others = ["range", "from", "to", "live"] as const;
type Query = Record<Field | (typeof others)[number], string>;

/** How often a live list reads its first page again. */
const liveEveryMs = 5000;

/**
 * Traces lists the project's traces, newest first, filtered by the URL's
 * query; the loaded rows sort by any numeric column, and a live list reads
 * its first page again every few seconds.
 */
export function Traces() {
  const { query: url } = useLocation();
  const q = Object.fromEntries([...fields, ...others].map((f) => [f, url.get(f) ?? ""])) as Query;
  const list = usePaged(url.toString(), async (token) => {
    const page = await fetchPage(q, token);
    return { rows: page.traces ?? [], next: page.next_page_token ?? "" };
  });
  const [sort, setSort] = useState<{ key?: SortKey; descending: boolean }>({ descending: true });
  const [fresh, setFresh] = useState<{ key: string; rows: Trace[]; at?: number }>({ key: "", rows: [] });
  const key = url.toString();
  useEffect(() => {
    if (!q.live) return;
    let current = true;
    const tick = setInterval(() => {
      fetchPage(q, "").then(
        (page) => current && setFresh({ key, rows: page.traces ?? [], at: Date.now() }),
        () => {}, // a failed refresh waits for the next one
      );
    }, liveEveryMs);
    return () => {
      current = false;
      clearInterval(tick);
    };
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [key, q.live]);
  const loaded = fresh.key === key ? withFresh(list.rows, fresh.rows) : list.rows;
  const traces = sortTraces(loaded, sort.key, sort.descending);
  const { first } = list;
  const header = (label: string, k: SortKey, num = true) => (
    <SortHeader label={label} sortKey={k} num={num} sort={sort} onSort={(descending) => setSort({ key: k, descending })} />
  );

  return (
    <main className="traces">
      <Filters key={key} query={q} />
      {q.live && (
        <p className="muted" role="status">
          Live: the newest traces are read every {liveEveryMs / 1000} s{fresh.key === key && fresh.at ? `; last at ${new Date(fresh.at).toLocaleTimeString()}` : ""}.
        </p>
      )}
      {first.state === "loading" && <p className="empty">Loading…</p>}
      {first.state === "error" && <p className="error">Traces: {first.error.message}</p>}
      {first.state === "done" && traces.length === 0 && <p className="empty">No traces match.</p>}
      {traces.length > 0 && (
        <table className="list" aria-label="Traces">
          <thead>
            <tr>
              {header("Time", "time", false)}
              {header("Name", "name", false)}
              <th>User</th>
              <th>Session</th>
              <th>Tags</th>
              <th>Environment</th>
              <th>Models</th>
              {header("Level", "errors", false)}
              <th>Scores</th>
              {header("Latency", "latency")}
              {header("Tokens", "tokens")}
              {header("Cost", "cost")}
              {header("Obs.", "observations")}
            </tr>
          </thead>
          <tbody>
            {traces.map((t) => (
              <tr key={t.id}>
                <td>
                  <Link href={`/traces/${encodeURIComponent(t.id ?? "")}`} title={time(t.timestamp)}>
                    {shortTime(t.timestamp) || t.id}
                  </Link>
                </td>
                <td>{t.name}</td>
                <td className="clip" title={t.user_id}>
                  {t.user_id}
                </td>
                <td className="clip" title={t.session_id}>
                  {t.session_id}
                </td>
                <td>
                  {(t.tags ?? []).map((tag) => (
                    <span key={tag} className="tag">
                      {tag}
                    </span>
                  ))}
                </td>
                <td>{t.environment}</td>
                <td className="models">{(t.models ?? []).join(", ")}</td>
                <td>
                  <LevelBadge errors={Number(t.error_count ?? 0)} warnings={Number(t.warning_count ?? 0)} />
                </td>
                <td>
                  {(t.score_summaries ?? []).map((s) => (
                    <span key={s.name} className="tag score" title={`${s.count} score${Number(s.count) === 1 ? "" : "s"}`}>
                      {s.name} {typeof s.average === "number" ? Number(s.average.toPrecision(3)) : s.latest_category}
                    </span>
                  ))}
                </td>
                <td className="num">{duration(t.latency_seconds)}</td>
                <td className="num">{tokens(t.usage?.total)}</td>
                <td className="num">{cost(t.cost?.total)}</td>
                <td className="num">{t.observation_count}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {list.error && <p className="error">More traces: {list.error.message}</p>}
      {list.more && (
        <button type="button" className="more" onClick={() => void list.more?.()}>
          Load more
        </button>
      )}
    </main>
  );
}

function SortHeader({ label, sortKey, num, sort, onSort }: { label: string; sortKey: SortKey; num: boolean; sort: { key?: SortKey; descending: boolean }; onSort: (descending: boolean) => void }) {
  const active = sort.key === sortKey;
  return (
    <th className={num ? "num" : undefined} aria-sort={active ? (sort.descending ? "descending" : "ascending") : "none"}>
      <button type="button" className="sort" onClick={() => onSort(active ? !sort.descending : true)} title="Sort the rows loaded">
        {label}
        {active ? (sort.descending ? " ↓" : " ↑") : ""}
      </button>
    </th>
  );
}

function LevelBadge({ errors, warnings }: { errors: number; warnings: number }) {
  return (
    <>
      {errors > 0 && (
        <span className="badge badge-error">
          {errors} error{errors === 1 ? "" : "s"}
        </span>
      )}
      {warnings > 0 && (
        <span className="badge badge-warning">
          {warnings} warning{warnings === 1 ? "" : "s"}
        </span>
      )}
    </>
  );
}

function fetchPage(q: Query, pageToken: string) {
  const search = q.search || undefined;
  return data(() =>
    api.GET("/api/v1/traces", {
      params: {
        query: {
          name: q.name || undefined,
          user_id: q.user_id || undefined,
          session_id: q.session_id || undefined,
          tags: q.tags ? q.tags.split(",").map((t) => t.trim()).filter(Boolean) : undefined,
          environment: q.environment || undefined,
          release: q.release || undefined,
          search,
          ...timeWindow(q.range, q.from, q.to, !!search, Date.now()),
          page_size: 50,
          page_token: pageToken || undefined,
        },
      },
    }),
  );
}

// Filters edits the list's query; applying it replaces the URL. The
// time select and the live box apply at once. It is made anew for each URL,
// so that it shows the query the list was read with.
function Filters({ query }: { query: Query }) {
  const [draft, setDraft] = useState(query);
  const go = (q: Query) => navigate(withQuery("/traces", q), true);
  const apply = (e: FormEvent) => {
    e.preventDefault();
    go(draft);
  };
  const set = (field: keyof Query, value: string) => {
    const next = { ...draft, [field]: value };
    setDraft(next);
    return next;
  };
  return (
    <form className="filters" onSubmit={apply} aria-label="Filter traces">
      {fields.map((f) => (
        <label key={f}>
          {labels[f]}
          <input value={draft[f]} onChange={(e) => set(f, e.target.value)} />
        </label>
      ))}
      <label>
        Time
        <select value={draft.range} onChange={(e) => go(set("range", e.target.value))}>
          <option value="">All time</option>
          {Object.keys(ranges).map((r) => (
            <option key={r} value={r}>
              Last {r}
            </option>
          ))}
          <option value="custom">Custom…</option>
        </select>
      </label>
      {draft.range === "custom" && (
        <>
          <label>
            From
            <input type="datetime-local" value={draft.from} onChange={(e) => set("from", e.target.value)} />
          </label>
          <label>
            To
            <input type="datetime-local" value={draft.to} onChange={(e) => set("to", e.target.value)} />
          </label>
        </>
      )}
      <button type="submit">Apply</button>
      <label className="check">
        <input type="checkbox" checked={!!draft.live} onChange={(e) => go(set("live", e.target.checked ? "1" : ""))} />
        Live
      </label>
    </form>
  );
}
