import { describe, expect, it } from "vitest";
import type { ObservationNode } from "../api/client";
import { flatten, forest, observationsOf, span, timeKey } from "./tree";

const node = (id: string, start: string, end: string | undefined, children: ObservationNode[] = []): ObservationNode => ({
  observation: { id, start_time: start, end_time: end },
  children,
});

const sample = [
  node("a", "2026-12-01T00:00:00Z", "2026-12-01T00:00:05Z", [
    node("a1", "2026-12-01T00:00:01Z", "2026-12-01T00:00:02Z", [node("a11", "2026-12-01T00:00:01.5Z", undefined)]),
    node("a2", "2026-12-01T00:00:03Z", "2026-12-01T00:00:09Z"),
  ]),
  node("b", "2026-12-01T00:00:04Z", "2026-12-01T00:00:06Z"),
];

describe("tree", () => {
  it("flattens depth first in order, with depths", () => {
    expect(flatten(sample, new Set()).map((r) => `${r.obs.id}@${r.depth}${r.hasChildren ? "+" : ""}`)).toEqual([
      "a@0+",
      "a1@1+",
      "a11@2",
      "a2@1",
      "b@0",
    ]);
  });
  it("skips the children of collapsed nodes", () => {
    expect(flatten(sample, new Set(["a1"])).map((r) => r.obs.id)).toEqual(["a", "a1", "a2", "b"]);
    expect(flatten(sample, new Set(["a"])).map((r) => r.obs.id)).toEqual(["a", "b"]);
  });
  it("flattens 20,000 nested nodes without recursion", () => {
    let deep: ObservationNode = node("n0", "2026-12-01T00:00:00Z", undefined);
    for (let i = 1; i < 20_000; i++) deep = node(`n${i}`, "2026-12-01T00:00:00Z", undefined, [deep]);
    expect(flatten([deep], new Set())).toHaveLength(20_000);
  });
  it("spans the earliest start to the latest end", () => {
    expect(span(observationsOf(sample))).toEqual({ start: Date.parse("2026-12-01T00:00:00Z"), end: Date.parse("2026-12-01T00:00:09Z") });
    expect(span([])).toEqual({ start: 0, end: 0 });
  });
});

describe("forest", () => {
  const obs = (id: string, start: string, parent?: string) => ({ id, start_time: `2026-12-01T00:00:0${start}Z`, parent_observation_id: parent });
  it("joins pages whose nodes have their parent on another page", () => {
    // Page 1 holds a and b (b under a); page 2 holds c under a and d under c.
    const page1 = [{ observation: obs("a", "0"), children: [{ observation: obs("b", "1", "a") }] }];
    const page2 = [{ observation: obs("c", "2", "a"), children: [{ observation: obs("d", "3", "c") }] }];
    const tree = forest([...observationsOf(page1), ...observationsOf(page2)]);
    expect(flatten(tree, new Set()).map((r) => `${r.obs.id}@${r.depth}`)).toEqual(["a@0", "b@1", "c@1", "d@2"]);
  });
  it("keeps orphans as roots, in start order", () => {
    const tree = forest([obs("z", "5", "gone"), obs("y", "1"), obs("x", "1")]);
    expect(tree.map((n) => n.observation?.id)).toEqual(["x", "y", "z"]);
  });
});

describe("timeKey", () => {
  it("orders times of any precision", () => {
    const times = ["2026-12-01T00:00:00.5Z", "2026-12-01T00:00:00Z", "2026-12-01T00:00:00.000000001Z", "2026-12-01T00:00:00.499999999Z"];
    expect([...times].sort((a, b) => (timeKey(a) < timeKey(b) ? -1 : 1))).toEqual([
      "2026-12-01T00:00:00Z",
      "2026-12-01T00:00:00.000000001Z",
      "2026-12-01T00:00:00.499999999Z",
      "2026-12-01T00:00:00.5Z",
    ]);
  });
});
