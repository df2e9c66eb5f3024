import { describe, expect, it } from "vitest";
import { invitationLink, invitationState } from "./Members";
import { perMillion, perUnit, since } from "./Prices";

describe("model prices", () => {
  it("shows a price per token as dollars per million tokens", () => {
    expect(perMillion(2.5e-6)).toBe("$2.5");
    expect(perMillion(1.5e-7)).toBe("$0.15");
    expect(perMillion(0)).toBe("$0");
    expect(perMillion(undefined)).toBe("");
  });

  it("reads dollars per million tokens as a price per token", () => {
    expect(perUnit("2.5")).toBeCloseTo(2.5e-6, 15);
    expect(perUnit("0")).toBe(0);
    expect(perUnit("")).toBeUndefined();
    expect(perUnit("-1")).toBeUndefined();
    expect(perUnit("abc")).toBeUndefined();
  });
});

describe("a price's start", () => {
  it("is always for the epoch (what the API stores when none was given) and a time otherwise", () => {
    expect(since("1970-01-01T00:00:00Z")).toBe("always");
    expect(since(undefined)).toBe("always");
    expect(since("2026-01-01T00:00:00Z")).not.toBe("always");
    expect(since("2026-01-01T00:00:00Z")).toContain("2026");
  });
});

describe("invitations", () => {
  const now = Date.parse("2026-12-08T12:00:00Z");
  it("says where an invitation stands", () => {
    expect(invitationState({ expires_at: "2026-12-09T00:00:00Z" }, now)).toBe("pending");
    expect(invitationState({ expires_at: "2026-12-08T11:59:59Z" }, now)).toBe("expired");
    expect(invitationState({ revoked_at: "2026-12-08T10:00:00Z", expires_at: "2026-12-09T00:00:00Z" }, now)).toBe("revoked");
    expect(invitationState({ accepted_at: "2026-12-08T10:00:00Z", expires_at: "2026-12-08T11:00:00Z" }, now)).toBe("accepted");
  });

  it("links to this UI's accept page with the token escaped", () => {
    const url = new URL(invitationLink("inv-at-a+b/c=", "https://agenttrace.example"));
    expect(url.origin + url.pathname).toBe("https://agenttrace.example/invitations/accept");
    expect(url.searchParams.get("token")).toBe("inv-at-a+b/c=");
  });
});
