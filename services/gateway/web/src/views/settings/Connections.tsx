import { useState, type FormEvent } from "react";
import type { Access } from "../../access";
import { api, data, type Schemas } from "../../api/client";
import { time } from "../../format";
import { useAction, useLoad } from "../../hooks";
import { Alert } from "../Alert";

type Connection = Schemas["v1LLMConnection"];

// Suggestions only: the settings service keeps the list of providers and
// its refusal names them.
const providers = ["openai", "anthropic", "azure-openai", "google", "bedrock", "mistral", "ollama", "custom"];

/**
 * Connections lists how the platform reaches LLM providers for this
 * project. API keys are write-only: the list shows the masked hint the
 * server returns, and a key can be replaced but never read back.
 */
export function Connections({ access }: { access: Access }) {
  const project = access.project;
  const [version, setVersion] = useState(0);
  const reread = () => setVersion((v) => v + 1);
  const list = useLoad(() => data(() => api.GET("/api/v1/llm-connections", { params: { query: { project_id: project } } })), [project, version]);
  const [editing, setEditing] = useState("");
  const remove = useAction(reread);
  const manage = access.can("PROJECTS_MANAGE");
  return (
    <main className="settings">
      <h1>LLM connections</h1>
      <datalist id="llm-providers">
        {providers.map((p) => (
          <option key={p} value={p} />
        ))}
      </datalist>
      {manage && <ConnectionForm project={project} onSaved={reread} />}
      <Alert error={remove.error} />
      {list.state === "error" && <p className="error">Connections: {list.error.message}</p>}
      {list.state === "done" && (list.value.connections ?? []).length === 0 && <p className="empty">No connections.</p>}
      {list.state === "done" && (list.value.connections ?? []).length > 0 && (
        <table className="list" aria-label="LLM connections">
          <thead>
            <tr>
              <th>Name</th>
              <th>Provider</th>
              <th>Base URL</th>
              <th>API key</th>
              <th>Updated</th>
              <th />
            </tr>
          </thead>
          <tbody>
            {(list.value.connections ?? []).map((c) =>
              editing === c.id ? (
                <tr key={c.id}>
                  <td colSpan={6}>
                    <ConnectionForm
                      project={project}
                      connection={c}
                      onSaved={() => {
                        setEditing("");
                        reread();
                      }}
                      onCancel={() => setEditing("")}
                    />
                  </td>
                </tr>
              ) : (
                <tr key={c.id}>
                  <td>{c.name}</td>
                  <td>{c.provider}</td>
                  <td>{c.base_url || <span className="muted">provider default</span>}</td>
                  <td>
                    <code>{c.api_key_hint}</code>
                  </td>
                  <td>{time(c.updated_at)}</td>
                  <td>
                    {manage && (
                      <>
                        <button type="button" onClick={() => setEditing(c.id ?? "")} aria-label={`Edit ${c.name}`}>
                          Edit
                        </button>{" "}
                        <button
                          type="button"
                          disabled={remove.busy}
                          aria-label={`Delete ${c.name}`}
                          onClick={() => void remove.run(() => data(() => api.DELETE("/api/v1/llm-connections/{id}", { params: { path: { id: c.id ?? "" } } })))}
                        >
                          Delete
                        </button>
                      </>
                    )}
                  </td>
                </tr>
              ),
            )}
          </tbody>
        </table>
      )}
    </main>
  );
}

/**
 * ConnectionForm makes a connection, or edits one: fields left as they
 * were are not sent, and an empty API key keeps the stored one.
 */
function ConnectionForm({ project, connection, onSaved, onCancel }: { project: string; connection?: Connection; onSaved: () => void; onCancel?: () => void }) {
  const [provider, setProvider] = useState(connection?.provider ?? "openai");
  const [name, setName] = useState(connection?.name ?? "");
  const [baseURL, setBaseURL] = useState(connection?.base_url ?? "");
  const [key, setKey] = useState("");
  const save = useAction(onSaved);
  const submit = (e: FormEvent) => {
    e.preventDefault();
    void save.run(async () => {
      if (connection) {
        const changed = <T,>(now: T, was: T | undefined) => (now === was ? undefined : now);
        await data(() =>
          api.PATCH("/api/v1/llm-connections/{id}", {
            params: { path: { id: connection.id ?? "" } },
            body: {
              provider: changed(provider, connection.provider),
              name: changed(name.trim(), connection.name),
              base_url: changed(baseURL.trim(), connection.base_url ?? ""),
              api_key: key || undefined,
            },
          }),
        );
      } else {
        await data(() => api.POST("/api/v1/llm-connections", { body: { project_id: project, provider, name: name.trim(), base_url: baseURL.trim(), api_key: key } }));
        setName("");
        setBaseURL("");
      }
      setKey("");
    });
  };
  return (
    <form className="filters" onSubmit={submit} aria-label={connection ? `Edit ${connection.name}` : "Add an LLM connection"}>
      <label>
        Provider
        <input list="llm-providers" required value={provider} onChange={(e) => setProvider(e.target.value)} />
      </label>
      <label>
        Name
        <input required value={name} onChange={(e) => setName(e.target.value)} />
      </label>
      <label>
        Base URL (optional)
        <input type="url" value={baseURL} onChange={(e) => setBaseURL(e.target.value)} />
      </label>
      <label>
        {connection ? "New API key (empty: keep)" : "API key"}
        <input type="password" autoComplete="off" required={!connection} value={key} onChange={(e) => setKey(e.target.value)} />
      </label>
      <button type="submit" disabled={save.busy}>
        {connection ? "Save" : "Add connection"}
      </button>
      {onCancel && (
        <button type="button" onClick={onCancel}>
          Cancel
        </button>
      )}
      <Alert error={save.error} />
    </form>
  );
}
