// The typed REST client: every call goes through openapi-fetch with the
// paths generated from the gateway's OpenAPI document (schema.d.ts).
//
// The access token lives in this module's memory only, never in
// localStorage or a cookie a script can read. The refresh token never
// reaches the page: the calls that sign in, refresh and sign out ask for a
// cookie session (sessionHeaders), so the gateway keeps it in an HttpOnly,
// SameSite=Strict cookie scoped to /api/v1/auth, and a reload restores the
// login from it (restore) instead of asking for the password again.
import createClient, { type Middleware } from "openapi-fetch";
import type { components, paths } from "./schema";

export type Schemas = components["schemas"];
export type Trace = Schemas["v1Trace"];
export type Observation = Schemas["v1Observation"];
export type ObservationNode = Schemas["v1ObservationNode"];
export type Score = Schemas["v1Score"];
export type Project = Schemas["v1Project"];
export type User = Schemas["v1User"];

type Tokens = Schemas["v1Tokens"];

/** The project header the gateway reads (authn.ProjectHeader). */
export const projectHeader = "X-AgentTrace-Project";

/** Asks the gateway to keep the refresh token in its HttpOnly cookie (rest/session.go). */
const sessionHeaders = { "X-AgentTrace-Session": "cookie" };

/** The cookie, readable and holding no secret, that says a cookie session may exist. */
const sessionMarker = "agenttrace_session=1";

interface Session {
  tokens: Tokens;
  user?: User;
}

let session: Session | undefined;
let project = "";
const listeners = new Set<() => void>();

function changed() {
  for (const l of listeners) l();
}

/** Calls f whenever the login or the project changes; returns the unsubscribe. */
export function subscribe(f: () => void): () => void {
  listeners.add(f);
  return () => listeners.delete(f);
}

export const currentUser = () => session?.user;
export const currentProject = () => project;

export function setProject(id: string) {
  project = id;
  changed();
}

let projectsVersion = 0;
export const currentProjectsVersion = () => projectsVersion;

/** projectsChanged has the switcher read the projects again (one was made). */
export function projectsChanged() {
  projectsVersion++;
  changed();
}

/** ApiError is a failed call: the gateway's status and message. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

// auth signs every call in; withProject also names the current project.
function auth(withProject: boolean): Middleware {
  return {
    onRequest({ request }) {
      if (session?.tokens.access_token) {
        request.headers.set("Authorization", `Bearer ${session.tokens.access_token}`);
      }
      if (withProject && project) request.headers.set(projectHeader, project);
      return request;
    },
  };
}

// The gateway that served the page serves the API. fetch is looked up at
// each call, not once here (so that tests can stand in for it).
function client(withProject: boolean) {
  const c = createClient<paths>({ baseUrl: globalThis.location?.origin ?? "", fetch: (req) => globalThis.fetch(req) });
  c.use(auth(withProject));
  return c;
}

/** api calls as the signed-in user in the current project. */
export const api = client(true);

/**
 * orgApi calls as the signed-in user without naming a project: for the
 * calls that name an organization the current project need not belong to
 * (listing or creating another organization's projects).
 */
export const orgApi = client(false);

/**
 * data makes a call and returns its body, or throws its error as an
 * ApiError. A call refused for an expired access token is made again
 * after the tokens are refreshed.
 */
export async function data<T>(call: () => Promise<{ data?: T; error?: unknown; response: Response }>): Promise<T> {
  let r = await call();
  if (r.response.status === 401 && session && (await refresh())) {
    r = await call();
  }
  if (r.error !== undefined || r.data === undefined) {
    // The gateway's error body: {"error": {"code", "http_status", "message", ...}}.
    const message = (r.error as { error?: { message?: string } } | undefined)?.error?.message || r.response.statusText;
    throw new ApiError(r.response.status, message || `HTTP ${r.response.status}`);
  }
  return r.data;
}

let refreshing: Promise<boolean> | undefined;

// refresh exchanges the session cookie's refresh token for new tokens,
// once at a time.
function refresh(): Promise<boolean> {
  refreshing ??= (async () => {
    const { data: body } = await api.POST("/api/v1/auth/refresh", { body: {}, headers: sessionHeaders });
    if (body?.tokens?.access_token) {
      session = { ...session, tokens: body.tokens };
      return true;
    }
    const had = session !== undefined;
    session = undefined;
    if (had) changed();
    return false;
  })().finally(() => (refreshing = undefined));
  return refreshing;
}

// tokensNow reads the tokens afresh (a refresh may have replaced them).
const tokensNow = (): Tokens => session?.tokens ?? {};

/**
 * restore signs in again from the gateway's session cookie after a
 * reload; it resolves to whether it did. Without the marker cookie there
 * is no session to restore and nothing is asked.
 */
export async function restore(): Promise<boolean> {
  if (session) return true;
  if (!globalThis.document?.cookie.split("; ").includes(sessionMarker)) return false;
  if (!(await refresh())) return false;
  const { data: me } = await api.GET("/api/v1/auth/me");
  if (!me?.user) {
    session = undefined;
    return false;
  }
  session = { tokens: tokensNow(), user: me.user };
  changed();
  return true;
}

export async function login(email: string, password: string) {
  const body = await data(() => api.POST("/api/v1/auth/login", { body: { email, password }, headers: sessionHeaders }));
  session = { tokens: body.tokens ?? {}, user: body.user };
  changed();
}

/**
 * signup creates a user and signs in as it: the installation's first
 * user, who founds and owns organization, or a later one admitted by an
 * invitation's token (the gateway refuses others, and the error says so).
 */
export async function signup(account: { email: string; password: string; name: string } & ({ organization: string } | { invitationToken: string })) {
  const body = await data(() =>
    api.POST("/api/v1/auth/signup", {
      headers: sessionHeaders,
      body: {
        email: account.email,
        password: account.password,
        name: account.name || undefined,
        organization_name: "organization" in account ? account.organization : undefined,
        invitation_token: "invitationToken" in account ? account.invitationToken : undefined,
      },
    }),
  );
  session = { tokens: body.tokens ?? {}, user: body.user };
  changed();
}

/** logout revokes the login's refresh token (the gateway reads it from its cookie and clears it), then forgets the tokens. */
export async function logout() {
  try {
    if (session) await api.POST("/api/v1/auth/logout", { body: {}, headers: sessionHeaders });
  } finally {
    session = undefined;
    project = "";
    changed();
  }
}
