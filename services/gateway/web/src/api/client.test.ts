import { afterEach, describe, expect, it, vi } from "vitest";
import { ApiError, api, currentUser, data, login, logout, orgApi, projectHeader, restore, setProject, signup } from "./client";

afterEach(() => {
  vi.restoreAllMocks();
  vi.unstubAllGlobals();
});

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

  it("names the current project on api's calls and not on orgApi's", async () => {
    const seen: string[] = [];
    vi.spyOn(globalThis, "fetch").mockImplementation(async (input) => {
      const req = input as Request;
      seen.push(`${new URL(req.url).pathname} ${req.headers.get(projectHeader) ?? "-"}`);
      return json(200, { projects: [] });
    });
    setProject("p1");
    await data(() => api.GET("/api/v1/projects"));
    await data(() => orgApi.GET("/api/v1/projects", { params: { query: { organization_id: "o2" } } }));
    setProject("");
    await data(() => api.GET("/api/v1/projects"));
    expect(seen).toEqual(["/api/v1/projects p1", "/api/v1/projects -", "/api/v1/projects -"]);
  });

  it("signs up with an organization or with an invitation, never both", async () => {
    const bodies: unknown[] = [];
    vi.spyOn(globalThis, "fetch").mockImplementation(async (input) => {
      bodies.push(await (input as Request).json());
      return json(200, { user: { email: "a@b.c" }, tokens: { access_token: "at", refresh_token: "rt" } });
    });
    await signup({ email: "a@b.c", password: "pw", name: "", organization: "Acme" });
    await signup({ email: "a@b.c", password: "pw", name: "Ann", invitationToken: "inv-1" });
    expect(bodies).toEqual([
      { email: "a@b.c", password: "pw", organization_name: "Acme" },
      { email: "a@b.c", password: "pw", name: "Ann", invitation_token: "inv-1" },
    ]);
    await logout();
  });

  it("asks for a cookie session: the refresh token is never sent from the page", async () => {
    const seen: string[] = [];
    vi.spyOn(globalThis, "fetch").mockImplementation(async (input) => {
      const req = input as Request;
      const path = new URL(req.url).pathname;
      seen.push(`${path} ${req.headers.get("X-AgentTrace-Session") ?? "-"} ${await req.text()}`);
      if (path === "/api/v1/auth/login") return json(200, { user: { email: "a@b.c" }, tokens: { access_token: "at-1" } });
      if (path === "/api/v1/auth/refresh") return json(200, { tokens: { access_token: "at-2" } });
      if (path === "/api/v1/projects" && req.headers.get("Authorization") === "Bearer at-1") return json(401, { error: { message: "expired" } });
      return json(200, {});
    });
    await login("a@b.c", "pw");
    await data(() => api.GET("/api/v1/projects"));
    await logout();
    expect(seen).toEqual([
      '/api/v1/auth/login cookie {"email":"a@b.c","password":"pw"}',
      "/api/v1/projects - ",
      "/api/v1/auth/refresh cookie {}",
      "/api/v1/projects - ",
      "/api/v1/auth/logout cookie {}",
    ]);
  });

  it("restores a login after a reload only when the session marker is there", async () => {
    const seen: string[] = [];
    vi.spyOn(globalThis, "fetch").mockImplementation(async (input) => {
      const req = input as Request;
      const path = new URL(req.url).pathname;
      seen.push(`${path} ${req.headers.get("Authorization") ?? "-"}`);
      if (path === "/api/v1/auth/refresh") return json(200, { tokens: { access_token: "at-r" } });
      if (path === "/api/v1/auth/me") return json(200, { user: { email: "back@b.c" } });
      return json(200, {});
    });
    vi.stubGlobal("document", { cookie: "other=1" });
    await expect(restore()).resolves.toBe(false);
    expect(seen).toEqual([]);
    vi.stubGlobal("document", { cookie: "other=1; agenttrace_session=1" });
    await expect(restore()).resolves.toBe(true);
    expect(currentUser()?.email).toBe("back@b.c");
    expect(seen).toEqual(["/api/v1/auth/refresh -", "/api/v1/auth/me Bearer at-r"]);
    await logout();
  });

  it("stays signed out when the cookie's session is gone", async () => {
    vi.spyOn(globalThis, "fetch").mockResolvedValue(json(401, { error: { message: "invalid or expired refresh token" } }));
    vi.stubGlobal("document", { cookie: "agenttrace_session=1" });
    await expect(restore()).resolves.toBe(false);
    expect(currentUser()).toBeUndefined();
  });
});
