import { useState, type FormEvent } from "react";
import type { Access } from "../../access";
import { api, data, type Schemas } from "../../api/client";
import { time } from "../../format";
import { useAction, useLoad } from "../../hooks";
import { Alert } from "../Alert";

type Price = Schemas["v1ModelPrice"];

/** perMillion shows a price per unit (token) as US dollars per million units. */
export function perMillion(usd: number | undefined): string {
  if (typeof usd !== "number" || !Number.isFinite(usd)) return "";
  return `$${Number((usd * 1e6).toPrecision(6))}`;
}

/** perUnit reads dollars per million units as a price per unit; undefined for an empty or bad entry. */
export function perUnit(perMillionUSD: string): number | undefined {
  if (perMillionUSD.trim() === "") return undefined;
  const v = Number(perMillionUSD);
  return Number.isFinite(v) && v >= 0 ? v / 1e6 : undefined;
}

/** since says from when a price applies: a time, or always (the epoch, which the API stores for none). */
export function since(iso: string | undefined): string {
  if (!iso || Date.parse(iso) <= 0) return "always";
  return time(iso);
}

/**
 * Prices lists the model prices the worker computes costs with when a
 * client sent usage but no cost: the global table that ships with
 * AgentTrace and this project's overrides, which those who manage the
 * project add and delete (the global prices are read-only).
 */
export function Prices({ access }: { access: Access }) {
  const project = access.project;
  const [version, setVersion] = useState(0);
  const reread = () => setVersion((v) => v + 1);
  const list = useLoad(() => data(() => api.GET("/api/v1/model-prices", { params: { query: { project_id: project } } })), [project, version]);
  const [template, setTemplate] = useState<Price | undefined>();
  const remove = useAction(reread);
  const manage = access.can("PROJECTS_MANAGE");
  const prices = list.state === "done" ? (list.value.prices ?? []) : [];
  return (
    <main className="settings">
      <h1>Model prices</h1>
      <p className="muted">US dollars per million units (tokens, unless the usage type says otherwise). A project's override of a model takes precedence over the global price.</p>
      {manage && <OverrideForm key={template?.id ?? ""} project={project} template={template} onSaved={reread} />}
      <Alert error={remove.error} />
      {list.state === "error" && <p className="error">Prices: {list.error.message}</p>}
      {prices.length > 0 && (
        <table className="list" aria-label="Model prices">
          <thead>
            <tr>
              <th>Model</th>
              <th>Match pattern</th>
              <th className="num">Input</th>
              <th className="num">Output</th>
              <th>Other usage types</th>
              <th>Effective from</th>
              <th>Scope</th>
              <th />
            </tr>
          </thead>
          <tbody>
            {prices.map((p) => {
              const { input, output, ...other } = p.prices ?? {};
              return (
                <tr key={p.id}>
                  <td>{p.model_name}</td>
                  <td className="pattern">
                    <code title={p.match_pattern}>{p.match_pattern}</code>
                  </td>
                  <td className="num">{perMillion(input)}</td>
                  <td className="num">{perMillion(output)}</td>
                  <td>
                    {Object.entries(other)
                      .map(([k, v]) => `${k} ${perMillion(v)}`)
                      .join(", ")}
                  </td>
                  <td>{since(p.effective_from)}</td>
                  <td>{p.project_id ? "this project" : "global"}</td>
                  <td>
                    {manage &&
                      (p.project_id ? (
                        <button
                          type="button"
                          disabled={remove.busy}
                          aria-label={`Delete the override of ${p.model_name}`}
                          onClick={() => void remove.run(() => data(() => api.DELETE("/api/v1/model-prices/{id}", { params: { path: { id: p.id ?? "" } } })))}
                        >
                          Delete
                        </button>
                      ) : (
                        <button type="button" onClick={() => setTemplate(p)} aria-label={`Override ${p.model_name}`}>
                          Override
                        </button>
                      ))}
                  </td>
                </tr>
              );
            })}
          </tbody>
        </table>
      )}
    </main>
  );
}

/** OverrideForm adds a project price, starting from template's fields (a global price being overridden). */
function OverrideForm({ project, template, onSaved }: { project: string; template?: Price; onSaved: () => void }) {
  const million = (v: number | undefined) => (typeof v === "number" ? String(Number((v * 1e6).toPrecision(6))) : "");
  const [model, setModel] = useState(template?.model_name ?? "");
  const [pattern, setPattern] = useState(template?.match_pattern ?? "");
  const [input, setInput] = useState(million(template?.prices?.input));
  const [output, setOutput] = useState(million(template?.prices?.output));
  const [from, setFrom] = useState("");
  const save = useAction(onSaved);
  const submit = (e: FormEvent) => {
    e.preventDefault();
    const prices: Record<string, number> = {};
    for (const [k, v] of [
      ["input", input],
      ["output", output],
    ] as const) {
      const unit = perUnit(v);
      if (unit !== undefined) prices[k] = unit;
    }
    void save.run(async () => {
      await data(() =>
        api.POST("/api/v1/model-prices", {
          body: { project_id: project, model_name: model.trim(), match_pattern: pattern.trim(), prices, effective_from: from ? new Date(from).toISOString() : undefined },
        }),
      );
      setModel("");
      setPattern("");
      setInput("");
      setOutput("");
      setFrom("");
    });
  };
  return (
    <form className="filters" onSubmit={submit} aria-label="Add a price for this project">
      <label>
        Model
        <input required value={model} onChange={(e) => setModel(e.target.value)} />
      </label>
      <label>
        Match pattern (RE2, whole name)
        <input required value={pattern} onChange={(e) => setPattern(e.target.value)} />
      </label>
      <label>
        Input $ / 1M
        <input type="number" min={0} step="any" value={input} onChange={(e) => setInput(e.target.value)} />
      </label>
      <label>
        Output $ / 1M
        <input type="number" min={0} step="any" value={output} onChange={(e) => setOutput(e.target.value)} />
      </label>
      <label>
        Effective from (empty: always)
        <input type="datetime-local" value={from} onChange={(e) => setFrom(e.target.value)} />
      </label>
      <button type="submit" disabled={save.busy}>
        Add price
      </button>
      <Alert error={save.error} />
    </form>
  );
}
