import { describe, expect, it } from "vitest";
import type { ObservationNode } from "../api/client";
import { flatten, span } from "./tree";

const node = (id: string, start: string, end: string | undefined, children: ObservationNode[] = []): ObservationNode => ({
  observation: { id, start_time: start, end_time: end },
  children,
});

const forest = [
  node("a", "2026-12-01T00:00:00Z", "2026-12-01T00:00:05Z", [
    node("a1", "2026-12-01T00:00:01Z", "2026-12-01T00:00:02Z", [node("a11", "2026-12-01T00:00:01.5Z", undefined)]),
    node("a2", "2026-12-01T00:00:03Z", "2026-12-01T00:00:09Z"),
  ]),
  node("b", "2026-12-01T00:00:04Z", "2026-12-01T00:00:06Z"),
];

describe("tree", () => {
  it("flattens depth first in order, with depths", () => {
    expect(flatten(forest, new Set()).map((r) => `${r.obs.id}@${r.depth}${r.hasChildren ? "+" : ""}`)).toEqual([
      "a@0+",
      "a1@1+",
      "a11@2",
      "a2@1",
      "b@0",
    ]);
  });
  it("skips the children of collapsed nodes", () => {
    expect(flatten(forest, new Set(["a1"])).map((r) => r.obs.id)).toEqual(["a", "a1", "a2", "b"]);
    expect(flatten(forest, new Set(["a"])).map((r) => r.obs.id)).toEqual(["a", "b"]);
  });
  it("flattens 20,000 nested nodes without recursion", () => {
    let deep: ObservationNode = node("n0", "2026-12-01T00:00:00Z", undefined);
    for (let i = 1; i < 20_000; i++) deep = node(`n${i}`, "2026-12-01T00:00:00Z", undefined, [deep]);
    expect(flatten([deep], new Set())).toHaveLength(20_000);
  });
  it("spans the earliest start to the latest end", () => {
    expect(span(forest)).toEqual({ start: Date.parse("2026-12-01T00:00:00Z"), end: Date.parse("2026-12-01T00:00:09Z") });
    expect(span([])).toEqual({ start: 0, end: 0 });
  });
});
