import { useState, type FormEvent } from "react";
import type { Access } from "../../access";
import { api, data, type Schemas } from "../../api/client";
import { time } from "../../format";
import { useAction, useLoad } from "../../hooks";
import { Alert } from "../Alert";
import { Secret } from "./Secret";

type Scope = Schemas["v1APIKeyScope"];

const scopes: { scope: Scope; label: string }[] = [
  { scope: "API_KEY_SCOPE_INGEST", label: "Ingest" },
  { scope: "API_KEY_SCOPE_READ", label: "Read" },
  { scope: "API_KEY_SCOPE_ADMIN", label: "Admin" },
];

/**
 * Keys lists the project's API keys and, for those who manage keys,
 * creates and revokes them. A new key's secret is shown once, when it is
 * made; the list shows only its hint.
 */
export function Keys({ access }: { access: Access }) {
  const project = access.project;
  const [version, setVersion] = useState(0); // bumped to read the list again
  const reread = () => setVersion((v) => v + 1);
  const keys = useLoad(() => data(() => api.GET("/api/v1/api-keys", { params: { query: { project_id: project } } })), [project, version]);
  const [created, setCreated] = useState<{ publicKey: string; secret: string } | undefined>();
  const revoke = useAction(reread);
  const manage = access.can("KEYS_MANAGE");
  return (
    <main className="settings">
      <h1>API keys</h1>
      {manage && (
        <CreateKey
          project={project}
          onCreated={(publicKey, secret) => {
            setCreated({ publicKey, secret });
            reread();
          }}
        />
      )}
      {created && (
        <Secret value={created.secret} onDone={() => setCreated(undefined)}>
          The secret of <code>{created.publicKey}</code> is shown this once; copy it now:
        </Secret>
      )}
      <Alert error={revoke.error} />
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
                  ) : manage ? (
                    <button
                      type="button"
                      disabled={revoke.busy}
                      onClick={() => void revoke.run(() => data(() => api.DELETE("/api/v1/api-keys/{key_id}", { params: { path: { key_id: k.id ?? "" } } })))}
                      aria-label={`Revoke ${k.public_key}`}
                    >
                      Revoke
                    </button>
                  ) : (
                    "active"
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
  const create = useAction();
  const submit = (e: FormEvent) => {
    e.preventDefault();
    void create.run(async () => {
      const r = await data(() => api.POST("/api/v1/api-keys", { body: { project_id: project, note: note.trim() || undefined, scopes: chosen } }));
      setNote("");
      onCreated(r.api_key?.public_key ?? "", r.secret_key ?? "");
    });
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
      <button type="submit" disabled={chosen.length === 0 || create.busy}>
        Create key
      </button>
      <Alert error={create.error} />
    </form>
  );
}
