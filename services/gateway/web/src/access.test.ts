import { describe, expect, it } from "vitest";
import { access, roleLabel } from "./access";

describe("access", () => {
  const me = { project_id: "p1", project_role: "ROLE_MEMBER" as const, permissions: ["TRACES_READ", "KEYS_READ"] };

  it("grants what the gateway said for the project", () => {
    const a = access(me, "p1", "o1");
    expect(a.known).toBe(true);
    expect(a.role).toBe("ROLE_MEMBER");
    expect(a.organization).toBe("o1");
    expect(a.can("KEYS_READ")).toBe(true);
    expect(a.can("KEYS_MANAGE")).toBe(false);
  });

  it("grants nothing for another project, or before the gateway answered", () => {
    for (const a of [access(me, "p2", "o1"), access(undefined, "p1", "o1")]) {
      expect(a.known).toBe(false);
      expect(a.role).toBe("ROLE_UNSPECIFIED");
      expect(a.can("TRACES_READ")).toBe(false);
    }
  });

  it("names roles", () => {
    expect(roleLabel("ROLE_OWNER")).toBe("Owner");
    expect(roleLabel("ROLE_UNSPECIFIED")).toBe("");
    expect(roleLabel(undefined)).toBe("");
  });
});
