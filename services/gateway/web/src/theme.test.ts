import { afterEach, describe, expect, it, vi } from "vitest";
import { resolvedTheme, storedTheme } from "./theme";

afterEach(() => vi.unstubAllGlobals());

describe("theme", () => {
  it("resolves the system's theme, or the choice over it", () => {
    expect(resolvedTheme("system", true)).toBe("dark");
    expect(resolvedTheme("system", false)).toBe("light");
    expect(resolvedTheme("light", true)).toBe("light");
    expect(resolvedTheme("dark", false)).toBe("dark");
  });

  it("reads the stored choice, the system's when none, unknown or storage refuses", () => {
    const store = new Map<string, string>();
    vi.stubGlobal("localStorage", { getItem: (k: string) => store.get(k) ?? null });
    expect(storedTheme()).toBe("system");
    store.set("agenttrace.theme", "dark");
    expect(storedTheme()).toBe("dark");
    store.set("agenttrace.theme", "purple");
    expect(storedTheme()).toBe("system");
    vi.stubGlobal("localStorage", {
      getItem: () => {
        throw new Error("denied");
      },
    });
    expect(storedTheme()).toBe("system");
  });
});
