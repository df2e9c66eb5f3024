import { parsed, toMessages, type Part } from "../render/messages";

/**
 * Payload shows an input or output: as chat messages when it is in a
 * known format (see toMessages), as a collapsible JSON tree when it is
 * structured, as text otherwise. Everything is rendered as text nodes:
 * nothing in a payload becomes markup.
 */
export function Payload({ title, value }: { title: string; value: unknown }) {
  if (value === undefined || value === null || value === "") return null;
  const messages = toMessages(value);
  return (
    <section className="payload">
      <h3>{title}</h3>
      {messages ? (
        <ol className="messages">
          {messages.map((m, i) => (
            <li key={i} className={`message role-${m.role}`}>
              <span className="role">{m.role}</span>
              {m.parts.map((p, j) => (
                <MessagePart key={j} part={p} />
              ))}
            </li>
          ))}
        </ol>
      ) : (
        <Json value={parsed(value)} />
      )}
    </section>
  );
}

function MessagePart({ part }: { part: Part }) {
  switch (part.kind) {
    case "text":
      return <p className="text">{part.text}</p>;
    case "tool_call":
      return (
        <div className="tool-call">
          <span className="label">Tool call</span> <code>{part.name}</code>
          {part.id && <span className="id"> {part.id}</span>}
          <Json value={part.arguments} />
        </div>
      );
    case "tool_result":
      return (
        <div className="tool-result">
          <span className="label">Tool result</span>
          {part.name && <code> {part.name}</code>}
          {part.id && <span className="id"> {part.id}</span>}
          <Json value={part.content} />
        </div>
      );
    default:
      return <Json value={part.value} />;
  }
}

/** Json renders a value as a tree of <details>, open to the second level. */
export function Json({ value, depth = 0 }: { value: unknown; depth?: number }) {
  if (value === null || typeof value !== "object") {
    return <span className={`json-${value === null ? "null" : typeof value}`}>{typeof value === "string" ? value : JSON.stringify(value)}</span>;
  }
  const entries = Array.isArray(value) ? value.map((v, i) => [String(i), v] as const) : Object.entries(value);
  const open = Array.isArray(value) ? `[${entries.length}]` : `{${entries.length}}`;
  return (
    <details className="json" open={depth < 2}>
      <summary>{open}</summary>
      <ul>
        {entries.map(([k, v]) => (
          <li key={k}>
            <span className="key">{k}</span>: <Json value={v} depth={depth + 1} />
          </li>
        ))}
      </ul>
    </details>
  );
}
