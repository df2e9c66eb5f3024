import { useState, type FormEvent } from "react";
import type { Access } from "../../access";
import { api, data } from "../../api/client";
import { time } from "../../format";
import { usePaged } from "../../hooks";

/**
 * Audit shows the organization's audit log, newest first: who did what,
 * when and from where (owners and admins only), filtered by action and,
 * if asked, to this project.
 */
export function Audit({ access }: { access: Access }) {
  const [action, setAction] = useState("");
  const [draft, setDraft] = useState("");
  const [thisProject, setThisProject] = useState(false);
  const org = access.organization;
  const project = thisProject ? access.project : undefined;
  const log = usePaged(`${org}|${action}|${project ?? ""}`, async (token) => {
    const r = await data(() =>
      api.GET("/api/v1/audit-events", {
        params: { query: { organization_id: org, project_id: project, action: action || undefined, page_size: 50, page_token: token || undefined } },
      }),
    );
    return { rows: r.events ?? [], next: r.next_page_token ?? "" };
  });
  const submit = (e: FormEvent) => {
    e.preventDefault();
    setAction(draft.trim());
  };
  return (
    <main className="settings">
      <h1>Audit log</h1>
      <form className="filters" onSubmit={submit} aria-label="Filter the audit log">
        <label>
          Action
          <input value={draft} placeholder="api_key.create" onChange={(e) => setDraft(e.target.value)} />
        </label>
        <label className="check">
          <input type="checkbox" checked={thisProject} onChange={(e) => setThisProject(e.target.checked)} />
          This project only
        </label>
        <button type="submit">Filter</button>
      </form>
      {log.first.state === "loading" && <p className="empty">Loading…</p>}
      {log.first.state === "error" && <p className="error">Audit log: {log.first.error.message}</p>}
      {log.first.state === "done" && log.rows.length === 0 && <p className="empty">No events.</p>}
      {log.rows.length > 0 && (
        <table className="list audit" aria-label="Audit log">
          <thead>
            <tr>
              <th>Time</th>
              <th>Actor</th>
              <th>Action</th>
              <th>Target</th>
              <th>Details</th>
              <th>Client</th>
            </tr>
          </thead>
          <tbody>
            {log.rows.map((e) => (
              <tr key={e.id}>
                <td>{time(e.created_at)}</td>
                <td>
                  {e.actor_label || e.actor_id} <span className="muted">{e.actor_kind}</span>
                </td>
                <td>
                  <code>{e.action}</code>
                </td>
                <td>
                  {e.target_kind} <span className="id">{e.target_id}</span>
                </td>
                <td>
                  {Object.entries(e.details ?? {})
                    .map(([k, v]) => `${k}=${v}`)
                    .join(" ")}
                </td>
                <td title={e.user_agent}>{e.client_ip}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {log.error && <p className="error">{log.error.message}</p>}
      {log.more && (
        <button type="button" className="more" onClick={() => void log.more?.()}>
          Load more
        </button>
      )}
    </main>
  );
}
