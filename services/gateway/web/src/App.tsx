import { useEffect } from "react";
import { api, data, logout, setProject } from "./api/client";
import { useLoad, useSession } from "./hooks";
import { Link, useLocation } from "./router";
import { Login } from "./views/Login";
import { Dashboard } from "./views/Dashboard";
import { Keys } from "./views/Keys";
import { SessionPage, Sessions } from "./views/Sessions";
import { TracePage } from "./views/Trace";
import { Traces } from "./views/Traces";

/** App is the shell: sign-in, then the project switcher and the views. */
export function App() {
  const { user, project } = useSession();
  if (!user) return <Login />;
  return <Shell email={user.email ?? ""} project={project} />;
}

function Shell({ email, project }: { email: string; project: string }) {
  const projects = useLoad(() => data(() => api.GET("/api/v1/projects")), [email]);
  const list = projects.state === "done" ? (projects.value.projects ?? []) : [];
  useEffect(() => {
    if (!project && list.length > 0 && list[0].id) setProject(list[0].id);
  }, [project, list]);
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
          <Link href="/settings/api-keys">API keys</Link>
        </nav>
        <label className="project">
          Project
          <select value={project} onChange={(e) => setProject(e.target.value)} disabled={list.length === 0}>
            {list.map((p) => (
              <option key={p.id} value={p.id}>
                {p.name || p.id}
              </option>
            ))}
          </select>
        </label>
        <span className="who">{email}</span>
        <button type="button" onClick={() => void logout()}>
          Sign out
        </button>
      </header>
      {projects.state === "error" && <p className="error">Projects: {projects.error.message}</p>}
      {project ? <Route project={project} /> : projects.state === "done" && <p className="empty">No project yet.</p>}
    </div>
  );
}

function Route({ project }: { project: string }) {
  const { path } = useLocation();
  const trace = path.match(/^\/traces\/([^/]+)$/);
  if (trace) return <TracePage key={project + trace[1]} traceId={decodeURIComponent(trace[1])} />;
  if (path === "/" || path === "/traces") return <Traces key={project} />;
  const session = path.match(/^\/sessions\/([^/]+)$/);
  if (session) return <SessionPage key={project + session[1]} sessionId={decodeURIComponent(session[1])} />;
  if (path === "/sessions") return <Sessions key={project} />;
  if (path === "/dashboard") return <Dashboard key={project} />;
  if (path === "/settings/api-keys") return <Keys key={project} project={project} />;
  return <p className="empty">Nothing here. <Link href="/traces">Traces</Link></p>;
}
