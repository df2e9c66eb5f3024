import { useState } from "react";
import { api, data } from "../api/client";
import { between, cost, duration, time, tokens } from "../format";
import { useLoad, usePaged } from "../hooks";
import { Link, navigate, useLocation, withQuery } from "../router";
import { Payload } from "./Payload";

/** Sessions lists the project's sessions, most recently active first. */
export function Sessions() {
  const { query } = useLocation();
  const user = query.get("user_id") ?? "";
  const [draft, setDraft] = useState(user);
  const list = usePaged(user, async (token) => {
    const page = await fetchSessions(user, token);
    return { rows: page.sessions ?? [], next: page.next_page_token ?? "" };
  });
  const { first, rows: sessions } = list;
  return (
    <main className="traces">
      <form
        className="filters"
        aria-label="Filter sessions"
        onSubmit={(e) => {
          e.preventDefault();
          navigate(withQuery("/sessions", { user_id: draft }), true);
        }}
      >
        <label>
          User
          <input value={draft} onChange={(e) => setDraft(e.target.value)} />
        </label>
        <button type="submit">Apply</button>
      </form>
      {first.state === "loading" && <p className="empty">Loading…</p>}
      {first.state === "error" && <p className="error">Sessions: {first.error.message}</p>}
      {first.state === "done" && sessions.length === 0 && <p className="empty">No sessions.</p>}
      {sessions.length > 0 && (
        <table className="list">
          <thead>
            <tr>
              <th>Session</th>
              <th>Last seen</th>
              <th>Users</th>
              <th className="num">Traces</th>
              <th className="num">Duration</th>
              <th className="num">Tokens</th>
              <th className="num">Cost</th>
            </tr>
          </thead>
          <tbody>
            {sessions.map((s) => (
              <tr key={s.id}>
                <td>
                  <Link href={`/sessions/${encodeURIComponent(s.id ?? "")}`}>{s.id}</Link>
                </td>
                <td>{time(s.last_seen)}</td>
                <td>{(s.user_ids ?? []).join(", ")}</td>
                <td className="num">{s.trace_count}</td>
                <td className="num">{duration(between(s.first_seen, s.last_seen))}</td>
                <td className="num">{tokens(s.usage?.total)}</td>
                <td className="num">{cost(s.cost?.total)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {list.error && <p className="error">More sessions: {list.error.message}</p>}
      {list.more && (
        <button type="button" className="more" onClick={() => void list.more?.()}>
          Load more
        </button>
      )}
    </main>
  );
}

function fetchSessions(user: string, pageToken: string) {
  return data(() =>
    api.GET("/api/v1/sessions", { params: { query: { user_id: user || undefined, page_size: 50, page_token: pageToken || undefined } } }),
  );
}

/**
 * SessionPage replays a session: its traces oldest first, each with its
 * input and output as the conversation's turns.
 */
export function SessionPage({ sessionId }: { sessionId: string }) {
  const loaded = useLoad(
    () => data(() => api.GET("/api/v1/sessions/{session_id}", { params: { path: { session_id: sessionId }, query: { page_size: 100 } } })),
    [sessionId],
  );
  if (loaded.state === "loading") return <p className="empty">Loading session…</p>;
  if (loaded.state === "error") return <p className="error">Session {sessionId}: {loaded.error.message}</p>;
  const s = loaded.value.session ?? {};
  const traces = loaded.value.traces ?? [];
  return (
    <main className="session">
      <header className="trace-head">
        <Link href="/sessions">← Sessions</Link>
        <h1>{s.id}</h1>
        <dl>
          <dt>Traces</dt>
          <dd>{s.trace_count}</dd>
          <dt>Duration</dt>
          <dd>{duration(between(s.first_seen, s.last_seen))}</dd>
          <dt>Tokens</dt>
          <dd>{tokens(s.usage?.total)}</dd>
          <dt>Cost</dt>
          <dd>{cost(s.cost?.total)}</dd>
          <dt>Users</dt>
          <dd>{(s.user_ids ?? []).join(", ")}</dd>
        </dl>
      </header>
      <ol className="turns">
        {traces.map((t) => (
          <li key={t.id} className="turn">
            <div className="turn-head">
              <Link href={`/traces/${encodeURIComponent(t.id ?? "")}`}>{t.name || t.id}</Link>
              <span className="muted">
                {time(t.timestamp)} · {duration(t.latency_seconds)} {cost(t.cost?.total) && `· ${cost(t.cost?.total)}`}
              </span>
            </div>
            <Payload title="Input" value={t.input} />
            <Payload title="Output" value={t.output} />
          </li>
        ))}
      </ol>
      {loaded.value.next_page_token && <p className="empty">The session has more traces than this page shows.</p>}
    </main>
  );
}
