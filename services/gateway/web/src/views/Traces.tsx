import { useState, type FormEvent } from "react";
import { api, data } from "../api/client";
import { cost, duration, time, tokens } from "../format";
import { usePaged } from "../hooks";
import { Link, navigate, useLocation, withQuery } from "../router";

// The filters a trace list takes from its URL.
const fields = ["name", "user_id", "session_id", "tags", "environment", "release", "search"] as const;
type Field = (typeof fields)[number];

const ranges: Record<string, number> = { "1h": 3600, "24h": 86400, "7d": 7 * 86400, "30d": 30 * 86400 };

const labels: Record<Field, string> = {
  name: "Name",
  user_id: "User",
  session_id: "Session",
  tags: "Tags",
  environment: "Environment",
  release: "Release",
  search: "Search (last day)",
};

/** Traces lists the project's traces, newest first, filtered by the URL's query. */
export function Traces() {
  const { query } = useLocation();
  const filters = Object.fromEntries(fields.map((f) => [f, query.get(f) ?? ""])) as Record<Field, string>;
  const range = query.get("range") ?? "";
  const list = usePaged(query.toString(), async (token) => {
    const page = await fetchPage(filters, range, token);
    return { rows: page.traces ?? [], next: page.next_page_token ?? "" };
  });
  const { first, rows: traces } = list;

  return (
    <main className="traces">
      <Filters filters={filters} range={range} />
      {first.state === "loading" && <p className="empty">Loading…</p>}
      {first.state === "error" && <p className="error">Traces: {first.error.message}</p>}
      {first.state === "done" && traces.length === 0 && <p className="empty">No traces match.</p>}
      {traces.length > 0 && (
        <table className="list">
          <thead>
            <tr>
              <th>Time</th>
              <th>Name</th>
              <th>User</th>
              <th>Session</th>
              <th>Tags</th>
              <th>Environment</th>
              <th className="num">Latency</th>
              <th className="num">Tokens</th>
              <th className="num">Cost</th>
              <th className="num">Observations</th>
            </tr>
          </thead>
          <tbody>
            {traces.map((t) => (
              <tr key={t.id}>
                <td>
                  <Link href={`/traces/${encodeURIComponent(t.id ?? "")}`}>{time(t.timestamp) || t.id}</Link>
                </td>
                <td>{t.name}</td>
                <td>{t.user_id}</td>
                <td>{t.session_id}</td>
                <td>
                  {(t.tags ?? []).map((tag) => (
                    <span key={tag} className="tag">
                      {tag}
                    </span>
                  ))}
                </td>
                <td>{t.environment}</td>
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

function fetchPage(filters: Record<Field, string>, range: string, pageToken: string) {
  const now = Date.now();
  const span = ranges[range];
  const search = filters.search || undefined;
  return data(() =>
    api.GET("/api/v1/traces", {
      params: {
        query: {
          name: filters.name || undefined,
          user_id: filters.user_id || undefined,
          session_id: filters.session_id || undefined,
          tags: filters.tags ? filters.tags.split(",").map((t) => t.trim()).filter(Boolean) : undefined,
          environment: filters.environment || undefined,
          release: filters.release || undefined,
          search,
          // A search reads a bounded window: the last day unless a range is set.
          from_time: span ? new Date(now - span * 1000).toISOString() : search ? new Date(now - 86400_000).toISOString() : undefined,
          to_time: span || search ? new Date(now + 1000).toISOString() : undefined,
          page_size: 50,
          page_token: pageToken || undefined,
        },
      },
    }),
  );
}

// Filters edits the list's query; applying it replaces the URL.
function Filters({ filters, range }: { filters: Record<Field, string>; range: string }) {
  const [draft, setDraft] = useState(filters);
  const apply = (e: FormEvent) => {
    e.preventDefault();
    navigate(withQuery("/traces", { ...draft, range }), true);
  };
  return (
    <form className="filters" onSubmit={apply} aria-label="Filter traces">
      {fields.map((f) => (
        <label key={f}>
          {labels[f]}
          <input value={draft[f]} onChange={(e) => setDraft({ ...draft, [f]: e.target.value })} />
        </label>
      ))}
      <label>
        Time
        <select value={range} onChange={(e) => navigate(withQuery("/traces", { ...filters, range: e.target.value }), true)}>
          <option value="">All time</option>
          {Object.keys(ranges).map((r) => (
            <option key={r} value={r}>
              Last {r}
            </option>
          ))}
        </select>
      </label>
      <button type="submit">Apply</button>
    </form>
  );
}
