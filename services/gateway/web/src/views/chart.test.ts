import { describe, expect, it } from "vitest";
import { scale, seriesOf } from "./chart";

const rows = [
  { model: "gpt-4o", time_dimension: "2026-12-02T00:00:00Z", sum_totalCost: 2 },
  { model: "gpt-4o", time_dimension: "2026-12-01T00:00:00Z", sum_totalCost: 1 },
  { model: "claude", time_dimension: "2026-12-01T00:00:00Z", sum_totalCost: 0.5 },
  { model: "", time_dimension: "2026-12-01T00:00:00Z", sum_totalCost: 0.1 },
  { model: "gpt-4o", time_dimension: "2026-12-03T00:00:00Z", sum_totalCost: null },
];

describe("seriesOf", () => {
  it("makes a series per dimension value, biggest first, in time order", () => {
    const s = seriesOf(rows, "sum_totalCost", "model");
    expect(s.map((x) => x.name)).toEqual(["gpt-4o", "claude", "(none)"]);
    expect(s[0].points.map((p) => p.v)).toEqual([1, 2]);
  });
  it("makes one series without a dimension", () => {
    expect(seriesOf(rows, "sum_totalCost").map((x) => [x.name, x.points.length])).toEqual([["sum_totalCost", 4]]);
    expect(seriesOf(rows, "sum_totalCost", undefined, "cost").map((x) => x.name)).toEqual(["cost"]);
  });
});

describe("scale", () => {
  it("maps time to x and value to y from the bottom", () => {
    const s = scale(seriesOf(rows, "sum_totalCost", "model"), 100, 50);
    expect(s.x(Date.parse("2026-12-01T00:00:00Z"))).toBe(0);
    expect(s.x(Date.parse("2026-12-02T00:00:00Z"))).toBe(100);
    expect(s.y(2)).toBe(0);
    expect(s.y(0)).toBe(50);
  });
});
