import { useState, type FormEvent } from "react";
import { api, data, type Schemas } from "../api/client";
import { time } from "../format";
import { useLoad } from "../hooks";

type Scope = Schemas["v1APIKeyScope"];

const scopes: { scope: Scope; label: string }[] = [
  { scope: "API_KEY_SCOPE_INGEST", label: "Ingest" },
  { scope: "API_KEY_SCOPE_READ", label: "Read" },
  { scope: "API_KEY_SCOPE_ADMIN", label: "Admin" },
];

/**
 * Keys lists the project's API keys and creates and revokes them. A new
 * key's secret is shown once, when it is made; the list shows only its
 * hint. Who may do what is the gateway's to say: a refusal shows as an
 * error.
 */
export function Keys({ project }: { project: string }) {
  const [version, setVersion] = useState(0); // bumped to read the list again
  const keys = useLoad(() => data(() => api.GET("/api/v1/api-keys", { params: { query: { project_id: project } } })), [project, version]);
  const [created, setCreated] = useState<{ publicKey: string; secret: string } | undefined>();
  const [error, setError] = useState("");
  const revoke = async (id: string) => {
    setError("");
    try {
      await data(() => api.DELETE("/api/v1/api-keys/{key_id}", { params: { path: { key_id: id } } }));
      setVersion(version + 1);
    } catch (e) {
      setError(e instanceof Error ? e.message : String(e));
    }
  };
  return (
    <main className="settings">
      <h1>API keys</h1>
      <CreateKey
        project={project}
        onCreated={(publicKey, secret) => {
          setCreated({ publicKey, secret });
          setVersion(version + 1);
        }}
      />
      {created && (
        <div className="secret" role="status">
          <p>
            The secret of <code>{created.publicKey}</code> is shown this once; copy it now:
          </p>
          <code className="secret-value">{created.secret}</code>
          <button type="button" onClick={() => setCreated(undefined)}>
            Done
          </button>
        </div>
      )}
      {error && (
        <p role="alert" className="error">
          {error}
        </p>
      )}
      {keys.state === "error" && <p className="error">Keys: {keys.error.message}</p>}
      {keys.state === "done" && (
        <table className="list" aria-label="API keys">
          <thead>
            <tr>
              <th>Public key</th>
              <th>Secret</th>
              <th>Note</th>
              <th>Scopes</th>
              <th>Created</th>
              <th>Last used</th>
              <th>State</th>
            </tr>
          </thead>
          <tbody>
            {(keys.value.api_keys ?? []).map((k) => (
              <tr key={k.id}>
                <td>
                  <code>{k.public_key}</code>
                </td>
                <td>
                  <code>{k.secret_hint}</code>
                </td>
                <td>{k.note}</td>
                <td>{(k.scopes ?? []).map((s) => s.replace(/^API_KEY_SCOPE_/, "").toLowerCase()).join(", ")}</td>
                <td>{time(k.created_at)}</td>
                <td>{time(k.last_used_at)}</td>
                <td>
                  {k.revoked_at ? (
                    <span title={time(k.revoked_at)}>revoked</span>
                  ) : (
                    <button type="button" onClick={() => void revoke(k.id ?? "")} aria-label={`Revoke ${k.public_key}`}>
                      Revoke
                    </button>
                  )}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </main>
  );
}

function CreateKey({ project, onCreated }: { project: string; onCreated: (publicKey: string, secret: string) => void }) {
  const [note, setNote] = useState("");
  const [chosen, setChosen] = useState<Scope[]>(["API_KEY_SCOPE_INGEST", "API_KEY_SCOPE_READ"]);
  const [error, setError] = useState("");
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setError("");
    try {
      const r = await data(() => api.POST("/api/v1/api-keys", { body: { project_id: project, note: note.trim() || undefined, scopes: chosen } }));
      setNote("");
      onCreated(r.api_key?.public_key ?? "", r.secret_key ?? "");
    } catch (err) {
      setError(err instanceof Error ? err.message : String(err));
    }
  };
  return (
    <form className="filters" onSubmit={submit} aria-label="Create an API key">
      <label>
        Note
        <input value={note} onChange={(e) => setNote(e.target.value)} />
      </label>
      <fieldset className="scopes">
        <legend>Scopes</legend>
        {scopes.map(({ scope, label }) => (
          <label key={scope}>
            <input
              type="checkbox"
              checked={chosen.includes(scope)}
              onChange={(e) => setChosen(e.target.checked ? [...chosen, scope] : chosen.filter((s) => s !== scope))}
            />
            {label}
          </label>
        ))}
      </fieldset>
      <button type="submit" disabled={chosen.length === 0}>
        Create key
      </button>
      {error && (
        <p role="alert" className="error">
          {error}
        </p>
      )}
    </form>
  );
}
