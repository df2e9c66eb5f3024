import { useState, type FormEvent } from "react";
import type { Access } from "../../access";
import { api, data, orgApi, projectsChanged, setProject } from "../../api/client";
import { useAction, useLoad } from "../../hooks";
import { Alert } from "../Alert";

/**
 * ProjectSettings shows the project and how long its traces are kept and,
 * for those who manage projects, changes the retention and makes new
 * projects in the organization.
 */
export function ProjectSettings({ access }: { access: Access }) {
  const project = access.project;
  const [version, setVersion] = useState(0);
  const settings = useLoad(() => data(() => api.GET("/api/v1/settings", { params: { query: { project_id: project } } })), [project, version]);
  const manage = access.can("PROJECTS_MANAGE");
  return (
    <main className="settings">
      <h1>Project</h1>
      <dl className="facts">
        <dt>Project id</dt>
        <dd>
          <code>{project}</code>
        </dd>
        <dt>Organization id</dt>
        <dd>
          <code>{access.organization}</code>
        </dd>
      </dl>
      <h2>Data retention</h2>
      {settings.state === "error" && <p className="error">Settings: {settings.error.message}</p>}
      {settings.state === "done" && (
        <Retention
          key={version}
          project={project}
          days={settings.value.settings?.retention_days ?? 0}
          editable={manage}
          onSaved={() => setVersion((v) => v + 1)}
        />
      )}
      {manage && <NewProject organization={access.organization} />}
    </main>
  );
}

function Retention({ project, days, editable, onSaved }: { project: string; days: number; editable: boolean; onSaved: () => void }) {
  const [value, setValue] = useState(String(days));
  const save = useAction(onSaved);
  const submit = (e: FormEvent) => {
    e.preventDefault();
    void save.run(() => data(() => api.PUT("/api/v1/settings", { body: { project_id: project, retention_days: Number(value) } })));
  };
  const kept = days === 0 ? "Traces are kept for ever." : `Traces older than ${days} day${days === 1 ? "" : "s"} are deleted.`;
  if (!editable) return <p>{kept}</p>;
  return (
    <form className="filters" onSubmit={submit} aria-label="Data retention">
      <label>
        Keep traces for (days; 0: for ever)
        <input type="number" min={0} max={3650} required value={value} onChange={(e) => setValue(e.target.value)} />
      </label>
      <button type="submit" disabled={save.busy || value === String(days)}>
        Save
      </button>
      <span className="muted">{kept}</span>
      <Alert error={save.error} />
    </form>
  );
}

function NewProject({ organization }: { organization: string }) {
  const [name, setName] = useState("");
  const create = useAction();
  const submit = (e: FormEvent) => {
    e.preventDefault();
    void create.run(async () => {
      const r = await data(() => orgApi.POST("/api/v1/projects", { body: { name: name.trim(), organization_id: organization } }));
      setName("");
      projectsChanged();
      if (r.project?.id) setProject(r.project.id);
    });
  };
  return (
    <>
      <h2>New project</h2>
      <form className="filters" onSubmit={submit} aria-label="Create a project">
        <label>
          Name
          <input required value={name} onChange={(e) => setName(e.target.value)} />
        </label>
        <button type="submit" disabled={create.busy}>
          Create project
        </button>
        <Alert error={create.error} />
      </form>
    </>
  );
}
