import { useState, type FormEvent } from "react";
import { api, data, type Schemas, type Score } from "../api/client";
import { enumLabel, time } from "../format";
import { useAction } from "../hooks";
import { Alert } from "./Alert";

type DataType = Schemas["v1ScoreDataType"];

/** ScoreList shows scores: name, value, source, comment. */
export function ScoreList({ scores }: { scores: Score[] }) {
  if (scores.length === 0) return null;
  return (
    <section>
      <h3>Scores</h3>
      <table className="kv scores">
        <tbody>
          {scores.map((s) => (
            <tr key={s.id}>
              <th>{s.name}</th>
              <td>{scoreValue(s)}</td>
              <td className="muted">{enumLabel(s.source)}</td>
              <td className="muted">{time(s.timestamp)}</td>
              <td>{s.comment}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </section>
  );
}

/** scoreValue is a score's value as its data type reads. */
export function scoreValue(s: Score): string {
  switch (s.data_type) {
    case "SCORE_DATA_TYPE_CATEGORICAL":
      return s.string_value ?? "";
    case "SCORE_DATA_TYPE_BOOLEAN":
      return s.value === 1 ? "true" : "false";
    default:
      return s.value === undefined ? "" : String(s.value);
  }
}

// randomId is 16 random bytes in hex: an event's and a score's id. (No
// crypto.randomUUID: it exists only on https and localhost pages.)
function randomId(): string {
  return Array.from(crypto.getRandomValues(new Uint8Array(16)), (b) => b.toString(16).padStart(2, "0")).join("");
}

/**
 * AddScore annotates a trace, or one of its observations, with a score a
 * person gives (source ANNOTATION), through the ingestion API; onAdded is
 * called once it is accepted (it is queryable a moment later).
 */
export function AddScore({ traceId, observationId, onAdded }: { traceId: string; observationId?: string; onAdded: (s: Score) => void }) {
  const [name, setName] = useState("");
  const [type, setType] = useState<DataType>("SCORE_DATA_TYPE_NUMERIC");
  const [value, setValue] = useState("");
  const [comment, setComment] = useState("");
  const add = useAction();
  const submit = (e: FormEvent) => {
    e.preventDefault();
    void add.run(async () => {
      const score: Score = { id: randomId(), trace_id: traceId, name: name.trim(), data_type: type, source: "SCORE_SOURCE_ANNOTATION", timestamp: new Date().toISOString() };
      if (observationId) score.observation_id = observationId;
      if (comment.trim()) score.comment = comment.trim();
      if (type === "SCORE_DATA_TYPE_CATEGORICAL") score.string_value = value.trim();
      else if (type === "SCORE_DATA_TYPE_BOOLEAN") score.value = value === "false" ? 0 : 1;
      else {
        const n = Number(value);
        if (value.trim() === "" || !Number.isFinite(n)) throw new Error("The value must be a number.");
        score.value = n;
      }
      const r = await data(() =>
        api.POST("/api/v1/ingestion", {
          body: { batch: [{ id: randomId(), timestamp: score.timestamp, type: "EVENT_TYPE_SCORE_CREATE", score }] },
        }),
      );
      const rejected = r.results?.find((x) => !x.accepted);
      if (rejected) throw new Error(rejected.error || "the score was rejected");
      onAdded(score);
      setName("");
      setValue("");
      setComment("");
    });
  };
  return (
    <form className="add-score" onSubmit={submit} aria-label="Add a score">
      <h3>Add a score</h3>
      <label>
        Name
        <input required value={name} onChange={(e) => setName(e.target.value)} />
      </label>
      <label>
        Type
        <select value={type} onChange={(e) => setType(e.target.value as DataType)}>
          <option value="SCORE_DATA_TYPE_NUMERIC">Numeric</option>
          <option value="SCORE_DATA_TYPE_CATEGORICAL">Categorical</option>
          <option value="SCORE_DATA_TYPE_BOOLEAN">Boolean</option>
        </select>
      </label>
      <label>
        Value
        {type === "SCORE_DATA_TYPE_BOOLEAN" ? (
          <select value={value || "true"} onChange={(e) => setValue(e.target.value)}>
            <option value="true">true</option>
            <option value="false">false</option>
          </select>
        ) : (
          <input required value={value} onChange={(e) => setValue(e.target.value)} inputMode={type === "SCORE_DATA_TYPE_NUMERIC" ? "decimal" : "text"} />
        )}
      </label>
      <label className="wide">
        Comment
        <input value={comment} onChange={(e) => setComment(e.target.value)} />
      </label>
      <Alert error={add.error} />
      <button type="submit" disabled={add.busy}>
        {add.busy ? "Adding…" : "Add score"}
      </button>
    </form>
  );
}
