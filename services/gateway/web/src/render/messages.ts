// toMessages reads an observation's input or output as chat messages when
// it is in one of the formats LLM frameworks send: OpenAI chat
// completions, Anthropic messages, OpenTelemetry GenAI
// (gen_ai.input.messages / gen_ai.output.messages) and the Vercel AI SDK
// (ai.prompt.messages). Tool calls and tool results become parts of their
// own, whatever the format called them. Anything else is not messages
// (undefined): the view shows it as JSON.

export type Part =
  | { kind: "text"; text: string }
  | { kind: "tool_call"; id?: string; name: string; arguments: unknown }
  | { kind: "tool_result"; id?: string; name?: string; content: unknown }
  | { kind: "data"; value: unknown };

export interface Message {
  role: string;
  parts: Part[];
}

type Obj = Record<string, unknown>;

const isObj = (v: unknown): v is Obj => typeof v === "object" && v !== null && !Array.isArray(v);
const str = (v: unknown): string | undefined => (typeof v === "string" ? v : undefined);

/** parsed is v, or the JSON a string holds when it looks like an object or array. */
export function parsed(v: unknown): unknown {
  if (typeof v !== "string") return v;
  const t = v.trim();
  if (!(t.startsWith("{") || t.startsWith("["))) return v;
  try {
    return JSON.parse(t);
  } catch {
    return v;
  }
}

// part reads one content block of any of the formats.
function part(b: unknown): Part[] {
  if (typeof b === "string") return [{ kind: "text", text: b }];
  if (!isObj(b)) return [{ kind: "data", value: b }];
  switch (b.type) {
    case "text":
    case "input_text":
    case "output_text":
      return [{ kind: "text", text: str(b.text) ?? str(b.content) ?? "" }];
    case "tool_use": // Anthropic
      return [{ kind: "tool_call", id: str(b.id), name: str(b.name) ?? "", arguments: b.input }];
    case "tool_result": // Anthropic
      return [{ kind: "tool_result", id: str(b.tool_use_id), content: contentValue(b.content) }];
    case "tool-call": // Vercel AI
      return [{ kind: "tool_call", id: str(b.toolCallId), name: str(b.toolName) ?? "", arguments: parsed(b.args ?? b.input) }];
    case "tool-result": // Vercel AI
      return [{ kind: "tool_result", id: str(b.toolCallId), name: str(b.toolName), content: b.result ?? b.output }];
    case "tool_call": // GenAI
      return [{ kind: "tool_call", id: str(b.id), name: str(b.name) ?? "", arguments: parsed(b.arguments) }];
    case "tool_call_response": // GenAI
      return [{ kind: "tool_result", id: str(b.id), content: b.response ?? b.result }];
  }
  return [{ kind: "data", value: b }];
}

// toolCall reads an entry of a message's tool_calls: OpenAI's
// {id, type: "function", function: {name, arguments}}, or the flat
// {id, name, arguments} other SDKs send.
function toolCall(c: unknown): Part {
  if (isObj(c) && isObj(c.function)) {
    return { kind: "tool_call", id: str(c.id), name: str(c.function.name) ?? "", arguments: parsed(c.function.arguments) };
  }
  if (isObj(c) && typeof c.name === "string") {
    return { kind: "tool_call", id: str(c.id), name: c.name, arguments: parsed(c.arguments ?? c.args ?? c.input) };
  }
  return { kind: "data", value: c };
}

// contentValue is a tool result's content: its text when it is text blocks.
function contentValue(c: unknown): unknown {
  if (Array.isArray(c) && c.every((b) => isObj(b) && b.type === "text")) {
    return c.map((b) => str((b as Obj).text) ?? "").join("\n");
  }
  return c;
}

// message reads one message object, or undefined when it is not one.
function message(m: unknown): Message | undefined {
  if (!isObj(m) || typeof m.role !== "string") return undefined;
  const parts: Part[] = [];
  if (Array.isArray(m.parts)) parts.push(...m.parts.flatMap(part)); // GenAI
  if (typeof m.content === "string") {
    if (m.role === "tool") parts.push({ kind: "tool_result", id: str(m.tool_call_id), name: str(m.name), content: parsed(m.content) });
    else if (m.content !== "") parts.push({ kind: "text", text: m.content });
  } else if (Array.isArray(m.content)) {
    parts.push(...m.content.flatMap(part));
  } else if (m.content !== undefined && m.content !== null) {
    parts.push({ kind: "data", value: m.content });
  }
  if (Array.isArray(m.tool_calls)) parts.push(...m.tool_calls.map(toolCall)); // OpenAI
  if (isObj(m.function_call)) {
    parts.push({ kind: "tool_call", name: str(m.function_call.name) ?? "", arguments: parsed(m.function_call.arguments) });
  }
  return { role: m.role, parts };
}

function messages(list: unknown[]): Message[] | undefined {
  const out = list.map(message);
  return out.length > 0 && out.every((m) => m !== undefined) ? (out as Message[]) : undefined;
}

/** toMessages reads v as chat messages, or returns undefined. */
export function toMessages(value: unknown): Message[] | undefined {
  const v = parsed(value);
  if (Array.isArray(v)) return messages(v);
  if (!isObj(v)) return undefined;
  // A single message (an assistant's output).
  const one = message(v);
  if (one) return [one];
  // OpenAI's response: choices[].message.
  if (Array.isArray(v.choices)) {
    const ms = v.choices.map((c) => (isObj(c) ? message(c.message) : undefined));
    if (ms.length > 0 && ms.every((m) => m !== undefined)) return ms as Message[];
  }
  // {messages} with an optional system prompt (Anthropic, Vercel AI, Langfuse SDKs).
  if (Array.isArray(v.messages)) {
    const ms = messages(v.messages);
    if (!ms) return undefined;
    const system = typeof v.system === "string" ? v.system : Array.isArray(v.system) ? contentValue(v.system) : undefined;
    return typeof system === "string" && system !== "" ? [{ role: "system", parts: [{ kind: "text", text: system }] }, ...ms] : ms;
  }
  return undefined;
}
