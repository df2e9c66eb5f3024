// What the signed-in user may do in the current project, as the gateway
// reports it (GetCurrentUser, asked with the project named): the views
// offer only what the server will allow, and the server still decides.
import type { Schemas } from "./api/client";

export type Role = Schemas["v1Role"];

/** The permissions a role grants (pkg/authz), as GetCurrentUser names them. */
export type Permission =
  | "TRACES_WRITE"
  | "TRACES_READ"
  | "TRACES_DELETE"
  | "PROJECTS_READ"
  | "PROJECTS_MANAGE"
  | "KEYS_READ"
  | "KEYS_MANAGE"
  | "MEMBERS_READ"
  | "MEMBERS_MANAGE"
  | "AUDIT_READ"
  | "PRICES_READ";

export interface Access {
  known: boolean; // false until the gateway has answered for this project
  project: string;
  organization: string; // the project's organization
  role: Role;
  can: (p: Permission) => boolean;
}

/** access reads what GetCurrentUser said about project in organization. */
export function access(me: Schemas["v1GetCurrentUserResponse"] | undefined, project: string, organization: string): Access {
  const granted = new Set(me?.project_id === project ? (me.permissions ?? []) : []);
  return {
    known: me?.project_id === project,
    project,
    organization,
    role: me?.project_id === project ? (me.project_role ?? "ROLE_UNSPECIFIED") : "ROLE_UNSPECIFIED",
    can: (p) => granted.has(p),
  };
}

/** The roles a person may hold, most powerful first. */
export const roles: { role: Role; label: string }[] = [
  { role: "ROLE_OWNER", label: "Owner" },
  { role: "ROLE_ADMIN", label: "Admin" },
  { role: "ROLE_MEMBER", label: "Member" },
  { role: "ROLE_VIEWER", label: "Viewer" },
];

/** roleLabel names a role: ROLE_ADMIN is "Admin"; none is "". */
export function roleLabel(r: Role | undefined): string {
  return roles.find((x) => x.role === r)?.label ?? "";
}
