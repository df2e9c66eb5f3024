import { describe, expect, it } from "vitest";
import type { Trace } from "../api/client";
import { sortTraces, timeWindow, withFresh } from "./traceList";

const now = Date.parse("2026-12-08T12:00:00Z");

describe("timeWindow", () => {
  it("reads a preset back from now", () => {
    expect(timeWindow("1h", "", "", false, now)).toEqual({ from_time: "2026-12-08T11:00:00.000Z", to_time: "2026-12-08T12:00:01.000Z" });
  });
  it("asks for all time without a range, and for the last day when searching", () => {
    expect(timeWindow("", "", "", false, now)).toEqual({});
    expect(timeWindow("", "", "", true, now)).toEqual({ from_time: "2026-12-07T12:00:00.000Z", to_time: "2026-12-08T12:00:01.000Z" });
  });
  it("reads a custom range, either end open", () => {
    const w = timeWindow("custom", "2026-12-01T08:00", "2026-12-02T08:00", false, now);
    expect(new Date(w.from_time ?? "").getTime()).toBe(new Date("2026-12-01T08:00").getTime());
    expect(new Date(w.to_time ?? "").getTime()).toBe(new Date("2026-12-02T08:00").getTime());
    expect(timeWindow("custom", "2026-12-01T08:00", "", false, now).to_time).toBeUndefined();
    expect(timeWindow("custom", "", "", false, now)).toEqual({ from_time: undefined, to_time: undefined });
  });
  it("bounds a search in a custom range with no start to the day before its end", () => {
    const w = timeWindow("custom", "", "2026-12-02T08:00", true, now);
    expect(new Date(w.to_time ?? "").getTime() - new Date(w.from_time ?? "").getTime()).toBe(86400_000);
  });
});

const trace = (id: string, ts: string, more: Partial<Trace> = {}): Trace => ({ id, timestamp: ts, ...more });

describe("sortTraces", () => {
  const rows = [
    trace("a", "2026-12-08T10:00:00Z", { name: "b", latency_seconds: 2, cost: { total: 0.1 }, error_count: 1 }),
    trace("b", "2026-12-08T09:00:00Z", { name: "a", latency_seconds: 5, cost: { total: 0.3 } }),
    trace("c", "2026-12-08T08:00:00Z", { name: "c", latency_seconds: 2, warning_count: 2 }),
  ];
  it("keeps the API's order without a key", () => {
    expect(sortTraces(rows, undefined, true)).toBe(rows);
  });
  it("sorts by a column, either way, equal rows in the API's order", () => {
    expect(sortTraces(rows, "latency", true).map((t) => t.id)).toEqual(["b", "a", "c"]);
    expect(sortTraces(rows, "latency", false).map((t) => t.id)).toEqual(["a", "c", "b"]);
    expect(sortTraces(rows, "name", false).map((t) => t.id)).toEqual(["b", "a", "c"]);
    expect(sortTraces(rows, "cost", true).map((t) => t.id)).toEqual(["b", "a", "c"]);
    expect(sortTraces(rows, "time", false).map((t) => t.id)).toEqual(["c", "b", "a"]);
  });
  it("sorts errors before warnings", () => {
    expect(sortTraces(rows, "errors", true).map((t) => t.id)).toEqual(["a", "c", "b"]);
  });
});

describe("withFresh", () => {
  const loaded = [trace("b", "2026-12-08T10:00:00Z", { latency_seconds: 1 }), trace("a", "2026-12-08T09:00:00Z")];
  it("puts newer traces on top and refreshes those loaded", () => {
    const fresh = [trace("c", "2026-12-08T11:00:00Z"), trace("b", "2026-12-08T10:00:00Z", { latency_seconds: 4 })];
    const got = withFresh(loaded, fresh);
    expect(got.map((t) => t.id)).toEqual(["c", "b", "a"]);
    expect(got[1].latency_seconds).toBe(4);
  });
  it("leaves out a trace the page holds that is older than the top (it belongs lower)", () => {
    expect(withFresh(loaded, [trace("z", "2026-12-08T09:30:00Z")]).map((t) => t.id)).toEqual(["b", "a"]);
  });
  it("fills an empty list", () => {
    expect(withFresh([], [trace("c", "2026-12-08T11:00:00Z")]).map((t) => t.id)).toEqual(["c"]);
  });
});
