import { useEffect, useState } from "react";
import { access, type Access } from "./access";
import { api, currentProject, data, logout, orgApi, restore, setProject, type Project } from "./api/client";
import { useLoad, useSession } from "./hooks";
import { Link, useLocation } from "./router";
import { Login } from "./views/Login";
import { Dashboard } from "./views/Dashboard";
import { Invitation } from "./views/Invitation";
import { SessionPage, Sessions } from "./views/Sessions";
import { Settings } from "./views/settings/Settings";
import { TracePage } from "./views/Trace";
import { Traces } from "./views/Traces";
import { useTheme, type ThemeChoice } from "./theme";

/** App is the shell: sign-in, then the project switcher and the views. */
export function App() {
  const { user, project } = useSession();
  const { path } = useLocation();
  // A reload restores the login from the gateway's session cookie.
  const [restoring, setRestoring] = useState(true);
  useEffect(() => {
    void restore().finally(() => setRestoring(false));
  }, []);
  if (restoring) return <p className="empty">Loading…</p>;
  if (path === "/invitations/accept") return <Invitation signedIn={!!user} />;
  if (!user) return <Login />;
  return <Shell email={user.email ?? ""} project={project} />;
}

/** An organization the user belongs to, with its projects. */
interface Organization {
  id: string;
  name: string;
  projects: Project[];
}

function Shell({ email, project }: { email: string; project: string }) {
  // The user's organizations (read again when a project is made or an
  // invitation accepted) and, apart, what they may do in the project
  // chosen: a project switch reads only the latter.
  const { projectsVersion } = useSession();
  const account = useLoad(() => data(() => orgApi.GET("/api/v1/auth/me")), [email, projectsVersion]);
  const rights = useLoad(() => (project ? data(() => api.GET("/api/v1/auth/me")) : Promise.resolve(undefined)), [email, project]);
  const memberships = account.state === "done" ? (account.value.memberships ?? []) : [];
  const orgKey = memberships.map((m) => m.organization_id).join(",");
  const orgs = useLoad(
    () =>
      Promise.all(
        memberships.map(async (m): Promise<Organization> => {
          const r = await data(() => orgApi.GET("/api/v1/projects", { params: { query: { organization_id: m.organization_id } } }));
          return { id: m.organization_id ?? "", name: m.organization_name ?? "", projects: r.projects ?? [] };
        }),
      ),
    [email, orgKey, projectsVersion],
  );
  const list = orgs.state === "done" ? orgs.value : [];
  const first = list.flatMap((o) => o.projects)[0]?.id;
  useEffect(() => {
    // The project now, not this render's: a person may have picked one
    // between the render and this effect.
    if (!currentProject() && first) setProject(first);
  }, [project, first]);
  const organization = list.find((o) => o.projects.some((p) => p.id === project))?.id ?? "";
  const can = access(rights.state === "done" ? rights.value : undefined, project, organization);
  const failed = [account, rights, orgs].map((l) => (l.state === "error" ? l.error : undefined)).find(Boolean);
  return (
    <div className="shell">
      <header className="top">
        <Link href="/traces" className="brand">
          AgentTrace
        </Link>
        <nav aria-label="Views">
          <Link href="/traces">Traces</Link>
          <Link href="/sessions">Sessions</Link>
          <Link href="/dashboard">Dashboard</Link>
          <Link href="/settings">Settings</Link>
        </nav>
        <label className="project">
          Project
          <select value={project} onChange={(e) => setProject(e.target.value)} disabled={list.length === 0}>
            {list.length === 1
              ? list[0].projects.map((p) => <ProjectOption key={p.id} project={p} />)
              : list.map((o) => (
                  <optgroup key={o.id} label={o.name || o.id}>
                    {o.projects.map((p) => (
                      <ProjectOption key={p.id} project={p} />
                    ))}
                  </optgroup>
                ))}
          </select>
        </label>
        <ThemeSelect />
        <span className="who">{email}</span>
        <button type="button" onClick={() => void logout()}>
          Sign out
        </button>
      </header>
      {failed && <p className="error">Account: {failed.message}</p>}
      {project ? <Route access={can} /> : orgs.state === "done" && <p className="empty">No project yet.</p>}
    </div>
  );
}

function ThemeSelect() {
  const [theme, setTheme] = useTheme();
  return (
    <label className="theme">
      <select aria-label="Theme" value={theme} onChange={(e) => setTheme(e.target.value as ThemeChoice)}>
        <option value="system">System theme</option>
        <option value="light">Light</option>
        <option value="dark">Dark</option>
      </select>
    </label>
  );
}

function ProjectOption({ project }: { project: Project }) {
  return <option value={project.id}>{project.name || project.id}</option>;
}

function Route({ access }: { access: Access }) {
  const { path } = useLocation();
  const project = access.project;
  const trace = path.match(/^\/traces\/([^/]+)$/);
  if (trace) return <TracePage key={project + trace[1]} traceId={decodeURIComponent(trace[1])} canScore={access.can("TRACES_WRITE")} />;
  if (path === "/" || path === "/traces") return <Traces key={project} />;
  const session = path.match(/^\/sessions\/([^/]+)$/);
  if (session) return <SessionPage key={project + session[1]} sessionId={decodeURIComponent(session[1])} />;
  if (path === "/sessions") return <Sessions key={project} />;
  if (path === "/dashboard") return <Dashboard key={project} />;
  if (path === "/settings" || path.startsWith("/settings/")) return <Settings key={project} access={access} path={path} />;
  return (
    <p className="empty">
      Nothing here. <Link href="/traces">Traces</Link>
    </p>
  );
}
