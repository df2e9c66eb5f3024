import { describe, expect, it } from "vitest";
import { toMessages } from "./messages";

describe("toMessages", () => {
  it("reads OpenAI chat messages with tool calls and tool results", () => {
    const input = [
      { role: "system", content: "You are terse." },
      { role: "user", content: [{ type: "text", text: "Weather in Paris?" }] },
      {
        role: "assistant",
        content: null,
        tool_calls: [{ id: "call_1", type: "function", function: { name: "get_weather", arguments: '{"city":"Paris"}' } }],
      },
      { role: "tool", tool_call_id: "call_1", content: '{"temp":21}' },
    ];
    expect(toMessages(input)).toEqual([
      { role: "system", parts: [{ kind: "text", text: "You are terse." }] },
      { role: "user", parts: [{ kind: "text", text: "Weather in Paris?" }] },
      { role: "assistant", parts: [{ kind: "tool_call", id: "call_1", name: "get_weather", arguments: { city: "Paris" } }] },
      { role: "tool", parts: [{ kind: "tool_result", id: "call_1", name: undefined, content: { temp: 21 } }] },
    ]);
  });

  it("reads flat tool calls as other SDKs send them", () => {
    const output = { role: "assistant", content: "", tool_calls: [{ name: "lookup_order", arguments: { order_id: "1042" } }] };
    expect(toMessages(output)).toEqual([
      { role: "assistant", parts: [{ kind: "tool_call", id: undefined, name: "lookup_order", arguments: { order_id: "1042" } }] },
    ]);
  });

  it("reads an OpenAI response's choices and a JSON string input", () => {
    const output = { id: "x", choices: [{ index: 0, message: { role: "assistant", content: "21°C" } }] };
    expect(toMessages(output)).toEqual([{ role: "assistant", parts: [{ kind: "text", text: "21°C" }] }]);
    expect(toMessages(JSON.stringify([{ role: "user", content: "hi" }]))).toEqual([
      { role: "user", parts: [{ kind: "text", text: "hi" }] },
    ]);
  });

  it("reads Anthropic messages with a system prompt, tool_use and tool_result", () => {
    const input = {
      system: "Be brief.",
      messages: [
        { role: "user", content: "Look up AAPL" },
        { role: "assistant", content: [{ type: "tool_use", id: "tu_1", name: "quote", input: { symbol: "AAPL" } }] },
        { role: "user", content: [{ type: "tool_result", tool_use_id: "tu_1", content: [{ type: "text", text: "189.5" }] }] },
      ],
    };
    expect(toMessages(input)).toEqual([
      { role: "system", parts: [{ kind: "text", text: "Be brief." }] },
      { role: "user", parts: [{ kind: "text", text: "Look up AAPL" }] },
      { role: "assistant", parts: [{ kind: "tool_call", id: "tu_1", name: "quote", arguments: { symbol: "AAPL" } }] },
      { role: "user", parts: [{ kind: "tool_result", id: "tu_1", content: "189.5" }] },
    ]);
    const response = { type: "message", role: "assistant", content: [{ type: "text", text: "Done." }] };
    expect(toMessages(response)).toEqual([{ role: "assistant", parts: [{ kind: "text", text: "Done." }] }]);
  });

  it("reads OpenTelemetry GenAI messages", () => {
    const input = [
      { role: "user", parts: [{ type: "text", content: "Sum 2 and 3" }] },
      { role: "assistant", parts: [{ type: "tool_call", id: "c1", name: "add", arguments: { a: 2, b: 3 } }] },
      { role: "tool", parts: [{ type: "tool_call_response", id: "c1", response: 5 }] },
    ];
    expect(toMessages(input)).toEqual([
      { role: "user", parts: [{ kind: "text", text: "Sum 2 and 3" }] },
      { role: "assistant", parts: [{ kind: "tool_call", id: "c1", name: "add", arguments: { a: 2, b: 3 } }] },
      { role: "tool", parts: [{ kind: "tool_result", id: "c1", content: 5 }] },
    ]);
    const output = [{ role: "assistant", parts: [{ type: "text", content: "5" }], finish_reason: "stop" }];
    expect(toMessages(output)).toEqual([{ role: "assistant", parts: [{ kind: "text", text: "5" }] }]);
  });

  it("reads Vercel AI SDK prompt messages", () => {
    const prompt = {
      system: "You help.",
      messages: [
        { role: "user", content: [{ type: "text", text: "Find docs" }] },
        { role: "assistant", content: [{ type: "tool-call", toolCallId: "t1", toolName: "search", input: { q: "docs" } }] },
        { role: "tool", content: [{ type: "tool-result", toolCallId: "t1", toolName: "search", output: { hits: 3 } }] },
      ],
    };
    expect(toMessages(JSON.stringify(prompt))).toEqual([
      { role: "system", parts: [{ kind: "text", text: "You help." }] },
      { role: "user", parts: [{ kind: "text", text: "Find docs" }] },
      { role: "assistant", parts: [{ kind: "tool_call", id: "t1", name: "search", arguments: { q: "docs" } }] },
      { role: "tool", parts: [{ kind: "tool_result", id: "t1", name: "search", content: { hits: 3 } }] },
    ]);
  });

  it("leaves what is not messages alone", () => {
    expect(toMessages("plain text")).toBeUndefined();
    expect(toMessages({ query: "x", k: 3 })).toBeUndefined();
    expect(toMessages([1, 2, 3])).toBeUndefined();
    expect(toMessages([{ role: "user", content: "a" }, { note: "not a message" }])).toBeUndefined();
    expect(toMessages([])).toBeUndefined();
    expect(toMessages("{not json")).toBeUndefined();
    expect(toMessages(null)).toBeUndefined();
  });
});
