import { useState, type FormEvent } from "react";
import { roleLabel, roles, type Access, type Role } from "../../access";
import { api, currentUser, data, type Schemas } from "../../api/client";
import { time } from "../../format";
import { useAction, useLoad } from "../../hooks";
import { Alert } from "../Alert";
import { Secret } from "./Secret";

type Member = Schemas["v1Member"];
type Invitation = Schemas["v1Invitation"];

/**
 * Members lists the organization's members with their organization role
 * and their role in this project, and its invitations. Owners and admins
 * change roles (the organization's, or an override in this project),
 * remove members and invite people; the organization service keeps the
 * owner rules (only an owner grants or takes away OWNER; the last owner
 * stays) and its refusals show as errors.
 */
export function Members({ access }: { access: Access }) {
  const org = access.organization;
  const [version, setVersion] = useState(0);
  const reread = () => setVersion((v) => v + 1);
  const members = useLoad(
    () => data(() => api.GET("/api/v1/organizations/{organization_id}/members", { params: { path: { organization_id: org } } })),
    [org, version],
  );
  const invitations = useLoad(
    () => data(() => api.GET("/api/v1/organizations/{organization_id}/invitations", { params: { path: { organization_id: org } } })),
    [org, version],
  );
  const change = useAction(reread);
  const manage = access.can("MEMBERS_MANAGE");
  const me = currentUser()?.id;
  const list = members.state === "done" ? (members.value.members ?? []) : [];
  return (
    <main className="settings">
      <h1>Members</h1>
      <Alert error={change.error} />
      {members.state === "error" && <p className="error">Members: {members.error.message}</p>}
      {members.state === "done" && (
        <table className="list" aria-label="Members">
          <thead>
            <tr>
              <th>Name</th>
              <th>Email</th>
              <th>Organization role</th>
              <th>Role in this project</th>
              <th>Joined</th>
              <th />
            </tr>
          </thead>
          <tbody>
            {list.map((m) => (
              <MemberRow key={m.user?.id} member={m} project={access.project} manage={manage} self={m.user?.id === me} run={change.run} busy={change.busy} />
            ))}
          </tbody>
        </table>
      )}
      <h2>Invitations</h2>
      {manage && <Invite org={org} owner={access.role === "ROLE_OWNER"} onInvited={reread} />}
      {invitations.state === "error" && <p className="error">Invitations: {invitations.error.message}</p>}
      {invitations.state === "done" && (
        <Invitations invitations={invitations.value.invitations ?? []} manage={manage} run={change.run} busy={change.busy} />
      )}
    </main>
  );
}

type Run = (change: () => Promise<unknown>) => Promise<boolean>;

function MemberRow({ member, project, manage, self, run, busy }: { member: Member; project: string; manage: boolean; self: boolean; run: Run; busy: boolean }) {
  const org = member.organization_id ?? "";
  const user = member.user?.id ?? "";
  const override = member.project_roles?.[project];
  const who = member.user?.email ?? user;
  const setOrgRole = (role: Role) =>
    run(() =>
      data(() =>
        api.PATCH("/api/v1/organizations/{organization_id}/members/{user_id}", { params: { path: { organization_id: org, user_id: user } }, body: { role } }),
      ),
    );
  const setProjectRole = (role: Role) =>
    run(() =>
      data(() => api.PUT("/api/v1/projects/{project_id}/members/{user_id}/role", { params: { path: { project_id: project, user_id: user } }, body: { role } })),
    );
  const remove = () =>
    run(() => data(() => api.DELETE("/api/v1/organizations/{organization_id}/members/{user_id}", { params: { path: { organization_id: org, user_id: user } } })));
  return (
    <tr>
      <td>
        {member.user?.name}
        {self && <span className="muted"> (you)</span>}
      </td>
      <td>{member.user?.email}</td>
      <td>
        {manage ? (
          <RoleSelect label={`Organization role of ${who}`} value={member.role} onChange={(r) => void setOrgRole(r)} disabled={busy} />
        ) : (
          roleLabel(member.role)
        )}
      </td>
      <td>
        {manage ? (
          <RoleSelect
            label={`Role of ${who} in this project`}
            value={override ?? "ROLE_UNSPECIFIED"}
            inherit={`As in the organization (${roleLabel(member.role)})`}
            onChange={(r) => void setProjectRole(r)}
            disabled={busy}
          />
        ) : (
          roleLabel(override ?? member.role)
        )}
      </td>
      <td>{time(member.joined_at)}</td>
      <td>
        {(manage || self) && (
          <button type="button" disabled={busy} onClick={() => void remove()} aria-label={self ? "Leave the organization" : `Remove ${who}`}>
            {self ? "Leave" : "Remove"}
          </button>
        )}
      </td>
    </tr>
  );
}

/** RoleSelect picks one of the four roles, or (with inherit) none. */
function RoleSelect({ label, value, inherit, onChange, disabled }: { label: string; value?: Role; inherit?: string; onChange: (r: Role) => void; disabled: boolean }) {
  return (
    <select aria-label={label} value={value} disabled={disabled} onChange={(e) => onChange(e.target.value as Role)}>
      {inherit && <option value="ROLE_UNSPECIFIED">{inherit}</option>}
      {roles.map((r) => (
        <option key={r.role} value={r.role}>
          {r.label}
        </option>
      ))}
    </select>
  );
}

function Invite({ org, owner, onInvited }: { org: string; owner: boolean; onInvited: () => void }) {
  const [email, setEmail] = useState("");
  const [role, setRole] = useState<Role>("ROLE_MEMBER");
  const [link, setLink] = useState<{ email: string; url: string } | undefined>();
  const invite = useAction(onInvited);
  const submit = (e: FormEvent) => {
    e.preventDefault();
    void invite.run(async () => {
      const r = await data(() =>
        api.POST("/api/v1/organizations/{organization_id}/invitations", { params: { path: { organization_id: org } }, body: { email: email.trim(), role } }),
      );
      setLink({ email: r.invitation?.email ?? email, url: invitationLink(r.token ?? "") });
      setEmail("");
    });
  };
  return (
    <>
      <form className="filters" onSubmit={submit} aria-label="Invite someone">
        <label>
          Email
          <input type="email" required value={email} onChange={(e) => setEmail(e.target.value)} />
        </label>
        <label>
          Role
          <select value={role} onChange={(e) => setRole(e.target.value as Role)}>
            {roles
              .filter((r) => owner || r.role !== "ROLE_OWNER")
              .map((r) => (
                <option key={r.role} value={r.role}>
                  {r.label}
                </option>
              ))}
          </select>
        </label>
        <button type="submit" disabled={invite.busy}>
          Invite
        </button>
        <Alert error={invite.error} />
      </form>
      {link && (
        <Secret value={link.url} onDone={() => setLink(undefined)}>
          Send this link to {link.email}; it is shown this once and admits only that address:
        </Secret>
      )}
    </>
  );
}

/** invitationLink is the page of this UI where an invitation's token is accepted. */
export function invitationLink(token: string, origin = window.location.origin): string {
  return `${origin}/invitations/accept?token=${encodeURIComponent(token)}`;
}

/** invitationState says where an invitation stands at now. */
export function invitationState(i: Invitation, now = Date.now()): "accepted" | "revoked" | "expired" | "pending" {
  if (i.accepted_at) return "accepted";
  if (i.revoked_at) return "revoked";
  if (i.expires_at && Date.parse(i.expires_at) <= now) return "expired";
  return "pending";
}

function Invitations({ invitations, manage, run, busy }: { invitations: Invitation[]; manage: boolean; run: Run; busy: boolean }) {
  if (invitations.length === 0) return <p className="empty">No invitations.</p>;
  return (
    <table className="list" aria-label="Invitations">
      <thead>
        <tr>
          <th>Email</th>
          <th>Role</th>
          <th>Sent</th>
          <th>Expires</th>
          <th>State</th>
        </tr>
      </thead>
      <tbody>
        {invitations.map((i) => {
          const state = invitationState(i);
          return (
            <tr key={i.id}>
              <td>{i.email}</td>
              <td>{roleLabel(i.role)}</td>
              <td>{time(i.created_at)}</td>
              <td>{time(i.expires_at)}</td>
              <td>
                {state}
                {manage && state === "pending" && (
                  <>
                    {" "}
                    <button
                      type="button"
                      disabled={busy}
                      aria-label={`Revoke the invitation of ${i.email}`}
                      onClick={() => void run(() => data(() => api.DELETE("/api/v1/invitations/{invitation_id}", { params: { path: { invitation_id: i.id ?? "" } } })))}
                    >
                      Revoke
                    </button>
                  </>
                )}
              </td>
            </tr>
          );
        })}
      </tbody>
    </table>
  );
}
