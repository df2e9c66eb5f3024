import { describe, expect, it } from "vitest";
import { between, cost, duration, enumLabel, shortTime, tokens } from "./format";

describe("format", () => {
  it("durations", () => {
    expect(duration(0.85)).toBe("850ms");
    expect(duration(1.25)).toBe("1.25s");
    expect(duration(12.34)).toBe("12.3s");
    expect(duration(125)).toBe("2m 05s");
    expect(duration(3720)).toBe("1h 02m");
    expect(duration(undefined)).toBe("");
    expect(duration(-1)).toBe("");
    expect(duration(null)).toBe("");
  });
  it("between", () => {
    expect(between("2026-12-01T00:00:00Z", "2026-12-01T00:00:01.5Z")).toBe(1.5);
    expect(between("2026-12-01T00:00:01Z", "2026-12-01T00:00:00Z")).toBeUndefined();
    expect(between(undefined, "2026-12-01T00:00:00Z")).toBeUndefined();
  });
  it("costs", () => {
    expect(cost(0.000123)).toBe("$0.000123");
    expect(cost(0.0123)).toBe("$0.0123");
    expect(cost(1.234)).toBe("$1.23");
    expect(cost(0)).toBe("");
    expect(cost(null)).toBe("");
  });
  it("tokens", () => {
    expect(tokens(950)).toBe("950");
    expect(tokens("1234")).toBe("1.23k");
    expect(tokens(12345)).toBe("12.3k");
    expect(tokens(4_560_000)).toBe("4.56M");
    expect(tokens(undefined)).toBe("");
    expect(tokens(null)).toBe("");
  });
  it("enum labels", () => {
    expect(enumLabel("OBSERVATION_TYPE_GENERATION")).toBe("GENERATION");
    expect(enumLabel("OBSERVATION_LEVEL_ERROR")).toBe("ERROR");
    expect(enumLabel("OBSERVATION_TYPE_UNSPECIFIED")).toBe("");
  });

  it("formats a time compactly: the time of day today, else the date and minute", () => {
    const now = new Date(2026, 11, 8, 15, 0, 0);
    expect(shortTime(new Date(2026, 11, 8, 9, 5, 7).toISOString(), now)).toBe(new Date(2026, 11, 8, 9, 5, 7).toLocaleTimeString());
    const earlier = shortTime(new Date(2026, 10, 30, 9, 5).toISOString(), now);
    expect(earlier).toContain("30");
    expect(earlier).not.toContain("2026");
    expect(shortTime(new Date(2025, 0, 2, 9, 5).toISOString(), now)).toContain("2025");
    expect(shortTime(undefined, now)).toBe("");
    expect(shortTime("nonsense", now)).toBe("");
  });
});
