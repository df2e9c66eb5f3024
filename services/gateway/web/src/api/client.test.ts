import { afterEach, describe, expect, it, vi } from "vitest";
import { ApiError, api, currentUser, data, login, logout } from "./client";

afterEach(() => vi.restoreAllMocks());

const json = (status: number, body: unknown) =>
  new Response(JSON.stringify(body), { status, headers: { "Content-Type": "application/json" } });

describe("client", () => {
  it("throws the gateway's error message with its status", async () => {
    vi.spyOn(globalThis, "fetch").mockResolvedValue(
      json(400, { error: { code: "FAILED_PRECONDITION", http_status: 400, message: "signup needs an invitation" } }),
    );
    const err = await data(() => api.POST("/api/v1/auth/signup", { body: {} })).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ApiError);
    expect((err as ApiError).status).toBe(400);
    expect((err as ApiError).message).toBe("signup needs an invitation");
  });

  it("signs in, sends the access token, refreshes it once on a 401, and logs out with it", async () => {
    const seen: { url: string; auth: string | null }[] = [];
    let tokens = 0;
    vi.spyOn(globalThis, "fetch").mockImplementation(async (input) => {
      const req = input as Request;
      seen.push({ url: new URL(req.url).pathname, auth: req.headers.get("Authorization") });
      const path = new URL(req.url).pathname;
      if (path === "/api/v1/auth/login") {
        return json(200, { user: { email: "a@b.c" }, tokens: { access_token: "at-1", refresh_token: "rt-1" } });
      }
      if (path === "/api/v1/auth/refresh") {
        tokens++;
        return json(200, { tokens: { access_token: "at-2", refresh_token: "rt-2" } });
      }
      if (path === "/api/v1/projects") {
        return req.headers.get("Authorization") === "Bearer at-2" ? json(200, { projects: [] }) : json(401, { error: { message: "expired" } });
      }
      return json(200, {});
    });
    await login("a@b.c", "pw");
    expect(currentUser()?.email).toBe("a@b.c");
    await expect(data(() => api.GET("/api/v1/projects"))).resolves.toEqual({ projects: [] });
    expect(tokens).toBe(1);
    await logout();
    expect(currentUser()).toBeUndefined();
    expect(seen.map((s) => `${s.url} ${s.auth ?? "-"}`)).toEqual([
      "/api/v1/auth/login -",
      "/api/v1/projects Bearer at-1",
      "/api/v1/auth/refresh Bearer at-1",
      "/api/v1/projects Bearer at-2",
      "/api/v1/auth/logout Bearer at-2",
    ]);
  });
});
