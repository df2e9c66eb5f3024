import type { Access, Permission } from "../../access";
import { roleLabel } from "../../access";
import { Link } from "../../router";
import { Audit } from "./Audit";
import { Connections } from "./Connections";
import { Keys } from "./Keys";
import { Members } from "./Members";
import { Prices } from "./Prices";
import { ProjectSettings } from "./Project";

/** A settings page: its path under /settings, its title and who may see it. */
const sections: { path: string; title: string; needs: Permission; view: (a: Access) => React.ReactNode }[] = [
  { path: "project", title: "Project", needs: "PROJECTS_READ", view: (a) => <ProjectSettings access={a} /> },
  { path: "api-keys", title: "API keys", needs: "KEYS_READ", view: (a) => <Keys access={a} /> },
  { path: "members", title: "Members", needs: "MEMBERS_READ", view: (a) => <Members access={a} /> },
  { path: "llm-connections", title: "LLM connections", needs: "PROJECTS_READ", view: (a) => <Connections access={a} /> },
  { path: "model-prices", title: "Model prices", needs: "PRICES_READ", view: (a) => <Prices access={a} /> },
  { path: "audit-log", title: "Audit log", needs: "AUDIT_READ", view: (a) => <Audit access={a} /> },
];

/**
 * Settings shows the project's and its organization's settings, each
 * section to the roles allowed to read it (the gateway says which), with
 * its changes offered only to those allowed to make them.
 */
export function Settings({ access, path }: { access: Access; path: string }) {
  if (!access.known) return <p className="empty">Loading…</p>;
  const allowed = sections.filter((s) => access.can(s.needs));
  const name = path.replace(/^\/settings\/?/, "") || allowed[0]?.path;
  const section = allowed.find((s) => s.path === name);
  return (
    <div className="settings-layout">
      <nav aria-label="Settings" className="settings-nav">
        {allowed.map((s) => (
          <Link key={s.path} href={`/settings/${s.path}`} aria-current={s === section ? "page" : undefined}>
            {s.title}
          </Link>
        ))}
        {access.role !== "ROLE_UNSPECIFIED" && <p className="muted">Your role here: {roleLabel(access.role)}</p>}
      </nav>
      {section ? (
        section.view(access)
      ) : (
        <p className="empty">{sections.some((s) => s.path === name) ? "Your role in this project does not show this." : "No such settings page."}</p>
      )}
    </div>
  );
}
